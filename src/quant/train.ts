/**
 * Training a small byte-level GPT-2-layout LM (`./model.ts`) on the IMDb review text (`./text.ts`),
 * on this machine, within a time budget.
 *
 * Optimizer: AdamW (Loshchilov & Hutter 2019; beta1 0.9, beta2 0.95, eps 1e-8, decoupled weight decay
 * 0.1 on the matrices only, as in GPT-2/nanoGPT practice), global gradient-norm clipping at 1.0, a
 * linear warm-up over `warmup` steps, then a cosine decay to 10% of the peak rate. With a time budget the
 * cosine runs over the budget's wall-clock time (progress = elapsed / budget), so the run always ends
 * annealed; with `steps` it runs over the steps (progress = the larger of the two fractions). A run is
 * reproducible from its seed only when the steps, not the clock, end it (`steps` with a large
 * `timeBudget`): the time-based schedule depends on the machine's speed. One training step (forward, backward, clipping, AdamW)
 * is a single `jax.jit` function of (params, m, v, batch, scalars).
 *
 * Batches: `batch` random windows of ctx + 1 bytes from the training stream (host PRNG from `seed`).
 * Validation: mean NLL on fixed non-overlapping windows of the held-out text.
 *
 * Checkpoints (`checkpoint`): params and both AdamW moments (bitwise), the step, training seconds,
 * history and recent losses; the batch PRNG's position is the number of windows drawn (batch per
 * step), replayed on resume. A step-ended run resumed gives the same weights as an uninterrupted one.
 */
import type { StopSignal } from "../run.js";
import { jax, mulberry32, np, scalar, toNumber, type Arr, type Tree } from "../engine/index.js";
import * as optim from "../optim/index.js";
import { BilevelInputError, BilevelRunError } from "../errors.js";
import type { CheckpointStore } from "../run.js";
import { checkIdentity, restoreTree, RunInterrupted, snapshotTree } from "../snapshot.js";
import { initWeights, isNormWeight, nll, perplexity, type ModelConfig as GPT2Config, type GPT2Weights } from "./model.js";
import type { LlamaConfig } from "./llama.js";
import { BYTE_VOCAB, heldOutTokens, trainTokens, unigramLoss } from "./text.js";

/** Options of `trainLM`. */
export interface TrainOptions {
  /** Layout: "gpt2" (default; learned positions, LayerNorm, GELU) or "llama" (RoPE, RMSNorm, SwiGLU, GQA, tied head). */
  arch?: "gpt2" | "llama";
  /** Llama: key-value heads (default heads; must divide heads). */
  kvHeads?: number;
  /** Llama: SwiGLU hidden width (default 8d/3 rounded up to a multiple of 32). */
  ffn?: number;
  layers?: number;
  /** Embedding width (default 128). */
  d?: number;
  heads?: number;
  /** Context length (default 128; also n_positions). */
  ctx?: number;
  batch?: number;
  /** Peak learning rate (default 2e-3). */
  lr?: number;
  /** Warm-up steps (default 30). */
  warmup?: number;
  weightDecay?: number;
  /** Stop after this many seconds of training (default 600). */
  timeBudget?: number;
  /** Stop after this many steps (default: only the time budget). */
  steps?: number;
  seed?: number;
  /** Validate every this many steps (default 50). */
  evalEvery?: number;
  /** Held-out windows for the periodic validation (default 32) and the final one (default 256). */
  evalWindows?: number;
  finalEvalWindows?: number;
  /** Called after each step and validation. */
  onProgress?: (p: TrainPoint) => void;
  /** Save every `every` steps (default: every `evalEvery`), on `signal` and at the end; resume from the store. */
  checkpoint?: { store: CheckpointStore<TrainPoint>; every?: number; resume?: boolean };
  /** Stop between steps (after saving the checkpoint); `trainLM` then throws `RunInterrupted`. */
  signal?: StopSignal;
}

/** One point of the training history. */
export type TrainPoint = { step: number; seconds: number; lr: number; trainLoss: number; valLoss?: number };

/** The training log written next to the model (train-log.json). */
export interface TrainLog {
  config: GPT2Config;
  options: Record<string, unknown>;
  params: number;
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  msPerStep: number;
  /** Byte unigram entropy of the training text, and the unigram cross-entropy of the held-out text (nats). */
  unigramLoss: number;
  unigramValLoss: number;
  /** Mean train loss over the last 20 steps, and the final validation loss (nats / byte). */
  finalTrainLoss: number;
  finalValLoss: number;
  finalValPerplexity: number;
  valTokens: number;
  history: { step: number; seconds: number; lr: number; trainLoss: number; valLoss?: number }[];
  engine: string;
}

const isMatrix = (name: string): boolean => name.endsWith(".weight") && !isNormWeight(name);

/** Mean NLL over `windows` non-overlapping windows of ctx + 1 bytes of `tokens`, in batches. Does not consume the weights. */
export async function meanNll(config: GPT2Config, weights: GPT2Weights, tokens: Uint8Array, ctx: number, windows: number, batch: number): Promise<{ loss: number; tokens: number }> {
  const nWin = Math.min(windows, Math.floor((tokens.length - 1) / ctx));
  // every window predicts ctx tokens, so the mean window NLL is log(perplexity) over the same windows
  const loss = Math.log(await perplexity(config, weights, tokens, { ctx, batch, maxWindows: windows }));
  return { loss, tokens: nWin * ctx };
}

/** Memory limit of one training step: 4 GiB, what the wasm32 engine memory can address. */
export const TRAIN_MEMORY_LIMIT = 2 ** 32;

/**
 * Estimated bytes of one training step: float32 activations kept for the backward pass (per block
 * about 4 B H ctx^2 attention and 20 B ctx d other values), the one-hot input and logits, and the
 * parameters with their gradients and two AdamW moments.
 */
export function trainStepBytes(c: { layers: number; d: number; heads: number; ctx: number; batch: number }): number {
  const params = c.layers * 12 * c.d * c.d + (BYTE_VOCAB + c.ctx) * c.d;
  return 4 * (c.batch * c.layers * (4 * c.heads * c.ctx * c.ctx + 20 * c.ctx * c.d) + 3 * c.batch * c.ctx * BYTE_VOCAB + 4 * params);
}

/** The options of `trainLM` with defaults, checked (one-line `BilevelInputError` naming the flag). */
export function checkTrainOptions(o: TrainOptions = {}) {
  if (o.arch !== undefined && o.arch !== "gpt2" && o.arch !== "llama") throw new BilevelInputError(`arch: expected gpt2 or llama, got '${String(o.arch)}'`);
  const r = {
    arch: o.arch ?? "gpt2",
    kvHeads: o.kvHeads ?? o.heads ?? 4,
    ffn: o.ffn ?? 32 * Math.ceil((8 * (o.d ?? 128)) / 3 / 32),
    layers: o.layers ?? 8,
    d: o.d ?? 128,
    heads: o.heads ?? 4,
    ctx: o.ctx ?? 128,
    batch: o.batch ?? 16,
    lr: o.lr ?? 2e-3,
    warmup: o.warmup ?? 30,
    weightDecay: o.weightDecay ?? 0.1,
    timeBudget: o.timeBudget ?? 600,
    steps: o.steps ?? Infinity,
    seed: o.seed ?? 0,
    evalEvery: o.evalEvery ?? 50,
    evalWindows: o.evalWindows ?? 32,
    finalEvalWindows: o.finalEvalWindows ?? 256,
  };
  for (const k of ["kvHeads", "ffn", "layers", "d", "heads", "ctx", "batch", "warmup", "evalEvery", "evalWindows", "finalEvalWindows"] as const) {
    const v = r[k];
    if (!Number.isSafeInteger(v) || v < (k === "warmup" ? 0 : 1)) throw new BilevelInputError(`${k}: expected a ${k === "warmup" ? "non-negative" : "positive"} integer, got ${v}`);
  }
  if (!(Number.isSafeInteger(r.steps) && r.steps >= 1) && r.steps !== Infinity) throw new BilevelInputError(`steps: expected a positive integer, got ${r.steps}`);
  if (!(Number.isSafeInteger(r.seed) && r.seed >= 0 && r.seed < 2 ** 32)) throw new BilevelInputError(`seed: expected an integer from 0 to ${2 ** 32 - 1}, got ${r.seed}`);
  if (r.d % r.heads !== 0) throw new BilevelInputError(`d: ${r.d} is not divisible by heads ${r.heads}`);
  if (r.heads % r.kvHeads !== 0) throw new BilevelInputError(`kv-heads: ${r.kvHeads} does not divide heads ${r.heads}`);
  if (r.arch === "llama" && (r.d / r.heads) % 2 !== 0) throw new BilevelInputError(`heads: head width d / heads = ${r.d / r.heads} must be even for the rotary embedding`);
  if (!(r.lr > 0 && Number.isFinite(r.lr))) throw new BilevelInputError(`lr: expected a positive number, got ${r.lr}`);
  if (!(r.weightDecay >= 0 && Number.isFinite(r.weightDecay))) throw new BilevelInputError(`weightDecay: expected a non-negative number, got ${r.weightDecay}`);
  if (!(r.timeBudget > 0)) throw new BilevelInputError(`time-budget: expected a positive number of seconds, got ${r.timeBudget}`);
  const bytes = trainStepBytes(r);
  if (!(bytes <= TRAIN_MEMORY_LIMIT)) {
    throw new BilevelInputError(
      `ctx, batch, layers, d: a training step needs about ${(bytes / 2 ** 30).toPrecision(3)} GiB (ctx ${r.ctx}, batch ${r.batch}, ${r.layers} layers, d ${r.d}), more than the ${TRAIN_MEMORY_LIMIT / 2 ** 30} GiB the engine can address; use a smaller ctx or batch`,
    );
  }
  return r;
}

/**
 * Train a byte-level LM (vocab 256) with the options above. Returns the config, the trained weights
 * (owned by the caller) and the log.
 */
export async function trainLM(o: TrainOptions = {}): Promise<{ config: GPT2Config; weights: GPT2Weights; log: TrainLog }> {
  const { arch, kvHeads, ffn, layers, d, heads, ctx, batch: B, lr: peak, warmup, weightDecay: wd, timeBudget: budget, steps: maxSteps, seed, evalEvery, evalWindows, finalEvalWindows: finalWindows } = checkTrainOptions(o);
  const config: GPT2Config =
    arch === "llama"
      ? ({
          arch: "llama",
          modelType: "llama",
          vocabSize: BYTE_VOCAB,
          hiddenSize: d,
          intermediateSize: ffn,
          nLayer: layers,
          nHead: heads,
          nKvHead: kvHeads,
          headDim: d / heads,
          maxPositions: ctx,
          rmsNormEps: 1e-5,
          ropeTheta: 10000,
          ropeScaling: null,
          tieWordEmbeddings: true,
          qkvBias: false,
          oBias: false,
          mlpBias: false,
          slidingWindow: null,
        } satisfies LlamaConfig)
      : { vocabSize: BYTE_VOCAB, nPositions: ctx, nEmbd: d, nLayer: layers, nHead: heads, layerNormEpsilon: 1e-5 };
  const train = trainTokens();
  const val = heldOutTokens();
  const uni = unigramLoss(train, val);

  let params = initWeights(config, seed);
  const names = Object.keys(params);
  const nParams = Object.values(params).reduce((n, a) => n + a.size, 0);
  let m: GPT2Weights = Object.fromEntries(names.map((k) => [k, np.zerosLike(params[k].ref)]));
  let v: GPT2Weights = Object.fromEntries(names.map((k) => [k, np.zerosLike(params[k].ref)]));
  const b1 = 0.9;
  const b2 = 0.95;
  const eps = 1e-8;

  // One jitted step: loss + grads, then AdamW from src/optim: global-norm clip at 1, Adam's scaling, decoupled
  // weight decay on the matrices, times lr. The Adam moments stay separate trees (the checkpoint's layout);
  // t = the number of earlier steps.
  const adamw = optim.optimizer("adamw", optim.chain(optim.clipByNorm(1), optim.scaleByAdam(b1, b2, eps), optim.addDecayedWeights(wd, isMatrix)));
  const step = jax.jit((p: GPT2Weights, mm: GPT2Weights, vv: GPT2Weights, x: Arr, y: Arr, t: Arr, lr: Arr) => {
    const [loss, g] = jax.valueAndGrad((w: GPT2Weights) => nll(config, w, x, y, { oneHotEmbedding: true }))(jax.tree.ref(p)) as [Arr, GPT2Weights];
    const r = adamw.update(p, g, [[], { m: mm, v: vv, t }, []] as unknown as Tree, lr);
    const { m: nm, v: nv } = (r.state as unknown as [unknown, { m: GPT2Weights; v: GPT2Weights }])[1];
    return [r.params, nm, nv, loss];
  });
  const schedule = optim.cosine(peak, 1, 0.1); // over the training progress in [0, 1], floor 0.1 x peak

  const ck = o.checkpoint;
  const ckEvery = ck?.every ?? evalEvery;
  if (ck && !(Number.isInteger(ckEvery) && ckEvery >= 1)) throw new BilevelInputError(`checkpoint-every: expected a positive integer, got ${ck.every}`);
  const where = `checkpoint${ck?.store.name ? ` ${ck.store.name}` : ""}`;
  const identity = { what: "train-lm", ...(arch === "llama" ? { arch, kvHeads, ffn } : {}), layers, d, heads, ctx, batch: B, lr: peak, warmup, weightDecay: wd, timeBudget: budget, steps: o.steps ?? null, seed, evalEvery, evalWindows };
  const saved = ck && ck.resume !== false ? await ck.store.load() : null;
  if (saved) {
    try {
      checkIdentity(where, saved.identity, identity);
      const st = restoreTree(where, { params, m, v } as unknown as Tree, saved) as unknown as { params: GPT2Weights; m: GPT2Weights; v: GPT2Weights };
      [params, m, v] = [st.params, st.m, st.v];
    } catch (e) {
      step.dispose();
      throw e;
    }
  }

  const rand = mulberry32(seed + 1);
  const batchArrays = (): [Arr, Arr] => {
    const inp = new Int32Array(B * ctx);
    const tgt = new Int32Array(B * ctx);
    for (let r = 0; r < B; r++) {
      const s = Math.floor(rand() * (train.length - ctx - 1));
      for (let t = 0; t < ctx; t++) {
        inp[r * ctx + t] = train[s + t];
        tgt[r * ctx + t] = train[s + t + 1];
      }
    }
    return [np.array(inp, { dtype: np.int32 }).reshape([B, ctx]), np.array(tgt, { dtype: np.int32 }).reshape([B, ctx])];
  };

  let history: TrainLog["history"] = [];
  let recent: number[] = [];
  const t0 = performance.now();
  let trainSeconds = 0; // excludes validation time
  let stepsDone = 0;
  let lastLr = 0;
  if (saved) {
    history = saved.history.map((h) => ({ ...h }));
    recent = [...((saved.extra?.recent as number[]) ?? [])];
    lastLr = Number(saved.extra?.lastLr ?? 0);
    trainSeconds = saved.solverSeconds;
    stepsDone = saved.step;
    for (let i = 0; i < stepsDone * B; i++) rand(); // the batch stream's position: B windows per step
  }
  const save = async () => {
    if (!ck) return;
    const tree = { params, m, v } as unknown as Tree;
    await ck.store.save({ format: 1, identity, step: stepsDone, solverSeconds: trainSeconds, history, extra: { recent, lastLr }, ...(await snapshotTree(tree)) });
  };
  for (let k = stepsDone + 1; k <= maxSteps; k++) {
    if (o.signal?.aborted) {
      await save();
      step.dispose();
      for (const a of [...Object.values(params), ...Object.values(m), ...Object.values(v)]) a.dispose();
      throw new RunInterrupted(stepsDone);
    }
    const progress = Math.min(1, Math.max(trainSeconds / budget, Number.isFinite(maxSteps) ? (k - 1) / maxSteps : 0));
    if (trainSeconds >= budget) break;
    const warm = warmup > 0 ? Math.min(1, k / warmup) : 1;
    const lr = warm * schedule.at(progress);
    lastLr = lr;
    const [x, y] = batchArrays();
    const ts = performance.now();
    const out = step(params, m, v, x, y, scalar(k - 1), scalar(lr)) as unknown as [GPT2Weights, GPT2Weights, GPT2Weights, Arr];
    [params, m, v] = [out[0], out[1], out[2]];
    const loss = await toNumber(out[3]);
    trainSeconds += (performance.now() - ts) / 1000;
    stepsDone = k;
    if (!Number.isFinite(loss)) {
      step.dispose();
      for (const a of [...Object.values(params), ...Object.values(m), ...Object.values(v)]) a.dispose();
      throw new BilevelRunError(`training diverged at step ${k} (loss ${loss}); nothing saved; lower --lr`);
    }
    recent.push(loss);
    if (recent.length > 20) recent.shift();
    const rec: TrainLog["history"][number] = { step: k, seconds: +((performance.now() - t0) / 1000).toFixed(2), lr, trainLoss: loss };
    if (k % evalEvery === 0) rec.valLoss = (await meanNll(config, params, val, ctx, evalWindows, B)).loss;
    if (k % 10 === 0 || rec.valLoss !== undefined || k === 1) history.push(rec);
    o.onProgress?.(rec);
    if (k % ckEvery === 0) await save();
    await new Promise((r) => setImmediate(r));
  }
  await save();
  step.dispose();
  for (const a of [...Object.values(m), ...Object.values(v)]) a.dispose();
  const fin = await meanNll(config, params, val, ctx, finalWindows, B);
  const seconds = (performance.now() - t0) / 1000;
  const log: TrainLog = {
    config,
    options: { ...(arch === "llama" ? { arch, kvHeads, ffn } : {}), layers, d, heads, ctx, batch: B, lr: peak, warmup, weightDecay: wd, timeBudget: budget, steps: o.steps ?? null, seed, finalLr: lastLr },
    params: nParams,
    steps: stepsDone,
    seconds: +seconds.toFixed(1),
    tokensPerSecond: +((stepsDone * B * ctx) / trainSeconds).toFixed(1),
    msPerStep: +((1000 * trainSeconds) / stepsDone).toFixed(1),
    unigramLoss: +uni.entropy.toFixed(4),
    unigramValLoss: +uni.crossEntropy!.toFixed(4),
    finalTrainLoss: +(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4),
    finalValLoss: +fin.loss.toFixed(4),
    finalValPerplexity: +Math.exp(fin.loss).toFixed(4),
    valTokens: fin.tokens,
    history,
    engine: "jax-js 0.1.25 wasm float32",
  };
  return { config, weights: params, log };
}
