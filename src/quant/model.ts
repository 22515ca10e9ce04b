/**
 * Decoder-only LMs in jax-js: the GPT-2 layout (Radford et al. 2019; HF `GPT2LMHeadModel`) here, the
 * Llama family in `./llama.ts`, behind one API (`forward`, `nll`, `perplexity`, `loadModel`):
 *
 *     h_0      = wte[tokens] + wpe[0..T)
 *     a        = h_i + c_proj( attn( c_attn( LN_1(h_i) ) ) )          (causal, scale 1/sqrt(head_dim))
 *     h_{i+1}  = a + mlp.c_proj( gelu( mlp.c_fc( LN_2(a) ) ) )         (gelu = GPT-2's tanh approximation)
 *     logits   = LN_f(h_L) wte^T                                        (tied head)
 *
 * GPT-2 linear layers use the Conv1D layout: weight [in, out], y = x W + b; LayerNorm uses the biased
 * variance and `layerNormEpsilon`. Tensor names per block i: `h.{i}.ln_1`, `h.{i}.attn.c_attn`,
 * `h.{i}.attn.c_proj`, `h.{i}.ln_2`, `h.{i}.mlp.c_fc`, `h.{i}.mlp.c_proj` (each `.weight` / `.bias`),
 * plus `wte.weight`, `wpe.weight`, `ln_f.weight/bias` (full list and shapes: `weightShapes`; loading
 * notes: docs/quantization.md).
 *
 * Folders load from `model.safetensors` or shards (`model.safetensors.index.json`), F32/F16/BF16/F64,
 * each tensor decoded on first use. Ownership: `forward`, `nll` and `perplexity` do NOT consume the
 * weights; they consume the token arrays they are given.
 */
import { mkdirs, writeFileAtomic } from "../node/fsio.js";
import fs from "node:fs";
import path from "node:path";
import { array, floatDtype, gaussian, jax, mulberry32, np, toNumber, type Arr } from "../engine/index.js";
import { BilevelInputError, printable } from "../errors.js";
import { firstNonFinite, floatTensor, readSafetensors, tensorToFloat64, writeSafetensors, type SafeTensor } from "./safetensors.js";
import {
  checkTokens,
  trunkParts,
  isLlamaConfig,
  llamaConfigFromJson,
  llamaConfigToJson,
  llamaHead,
  llamaLinearNames,
  llamaTrunk,
  llamaWeightShapes,
  validateLlamaConfig,
  LLAMA_TYPES,
  type LlamaConfig,
} from "./llama.js";

export type { LlamaConfig } from "./llama.js";

/** Model hyperparameters (HF `config.json`: vocab_size, n_positions, n_embd, n_layer, n_head, layer_norm_epsilon). */
export interface GPT2Config {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
}

/** Weights by tensor name (see the module doc). Arrays in the engine's float dtype. */
export type GPT2Weights = Record<string, Arr>;

/** A GPT-2-layout or Llama-family model's config (`isLlamaConfig` tells them apart). */
export type ModelConfig = GPT2Config | LlamaConfig;
export { isLlamaConfig };

/** Context length the model supports (n_positions / max_position_embeddings). */
export const maxContext = (c: ModelConfig): number => (isLlamaConfig(c) ? c.maxPositions : c.nPositions);
/** Width of the residual stream. */
export const modelWidth = (c: ModelConfig): number => (isLlamaConfig(c) ? c.hiddenSize : c.nEmbd);
/** Layout of stored linear weights: GPT-2 Conv1D [in, out], nn.Linear [out, in]. */
export const linearLayout = (c: ModelConfig): "in-out" | "out-in" => (isLlamaConfig(c) ? "out-in" : "in-out");
/** A norm weight (initialized to 1, no weight decay). */
export const isNormWeight = (name: string): boolean => /(^|\.)(ln_\d|ln_f|input_layernorm|post_attention_layernorm|norm)\.weight$/.test(name);

/** The linear layers of block i, in forward order (names without `.weight` / `.bias`): 4 for GPT-2, 7 for Llama. */
export const linearNames = (i: number, c?: ModelConfig): string[] =>
  c && isLlamaConfig(c) ? llamaLinearNames(i) : [`h.${i}.attn.c_attn`, `h.${i}.attn.c_proj`, `h.${i}.mlp.c_fc`, `h.${i}.mlp.c_proj`];

/** Every tensor name and its shape, in the canonical (save) order. */
export function weightShapes(c: ModelConfig): [string, number[]][] {
  if (isLlamaConfig(c)) return llamaWeightShapes(c);
  const d = c.nEmbd;
  const out: [string, number[]][] = [
    ["wte.weight", [c.vocabSize, d]],
    ["wpe.weight", [c.nPositions, d]],
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `h.${i}.`;
    out.push(
      [`${p}ln_1.weight`, [d]],
      [`${p}ln_1.bias`, [d]],
      [`${p}attn.c_attn.weight`, [d, 3 * d]],
      [`${p}attn.c_attn.bias`, [3 * d]],
      [`${p}attn.c_proj.weight`, [d, d]],
      [`${p}attn.c_proj.bias`, [d]],
      [`${p}ln_2.weight`, [d]],
      [`${p}ln_2.bias`, [d]],
      [`${p}mlp.c_fc.weight`, [d, 4 * d]],
      [`${p}mlp.c_fc.bias`, [4 * d]],
      [`${p}mlp.c_proj.weight`, [4 * d, d]],
      [`${p}mlp.c_proj.bias`, [d]],
    );
  }
  out.push(["ln_f.weight", [d]], ["ln_f.bias", [d]]);
  return out;
}

/** Check a config's fields (one-line BilevelInputError naming the field). `where` prefixes the message. */
export function validateConfig<C extends ModelConfig>(c: C, where = "config"): C {
  if (isLlamaConfig(c)) return validateLlamaConfig(c, where) as C;
  for (const k of ["vocabSize", "nPositions", "nEmbd", "nLayer", "nHead"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new BilevelInputError(`${where}: ${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  if (!(typeof c.layerNormEpsilon === "number" && c.layerNormEpsilon > 0)) {
    throw new BilevelInputError(`${where}: layerNormEpsilon must be a positive number, got ${JSON.stringify(c.layerNormEpsilon)}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new BilevelInputError(`${where}: n_embd ${c.nEmbd} is not divisible by n_head ${c.nHead}`);
  return c;
}

/** Config from a parsed HF-style config.json object (snake_case keys): model_type gpt2 (the default) or llama / mistral / qwen2. */
export function configFromJson(j: Record<string, unknown>, where = "config.json"): ModelConfig {
  if ((LLAMA_TYPES as readonly unknown[]).includes(j.model_type)) return llamaConfigFromJson(j, where);
  const num = (k: string, dflt?: number): number => {
    const v = j[k] ?? dflt;
    if (typeof v !== "number") throw new BilevelInputError(`${where}: field ${k} missing or not a number`);
    return v;
  };
  if (j.model_type !== undefined && j.model_type !== "gpt2") throw new BilevelInputError(`${where}: model_type must be one of gpt2, ${LLAMA_TYPES.join(", ")}, got ${JSON.stringify(j.model_type)}`);
  const c: GPT2Config = {
    vocabSize: num("vocab_size"),
    nPositions: num("n_positions"),
    nEmbd: num("n_embd"),
    nLayer: num("n_layer"),
    nHead: num("n_head"),
    layerNormEpsilon: num("layer_norm_epsilon", 1e-5),
  };
  return validateConfig(c, where);
}

/** The HF-style config.json object of a config. */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  if (isLlamaConfig(c)) return llamaConfigToJson(c);
  return {
    model_type: "gpt2",
    architectures: ["GPT2LMHeadModel"],
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    activation_function: "gelu_new",
    layer_norm_epsilon: c.layerNormEpsilon,
    tie_word_embeddings: true,
  };
}

/** GPT-2 initialization (also for Llama): every matrix N(0, 0.02^2), biases 0, norm weights 1 (host RNG `seed`). */
export function initWeights(c: ModelConfig, seed = 0): GPT2Weights {
  validateConfig(c);
  const rand = mulberry32(seed);
  const w: GPT2Weights = {};
  for (const [name, shape] of weightShapes(c)) {
    const n = shape.reduce((a, s) => a * s, 1);
    let v: Float64Array;
    if (shape.length === 2) {
      v = gaussian(rand, n);
      for (let i = 0; i < n; i++) v[i] *= 0.02;
    } else v = new Float64Array(n).fill(isNormWeight(name) ? 1 : 0);
    w[name] = array(v, shape);
  }
  return w;
}

/** Stored dtypes `saveModel` can write. */
export type SaveDtype = "F32" | "F16" | "BF16";

/** Options of `saveModel`. */
export interface SaveModelOptions {
  /** Tensor dtype in the file (default F32). */
  dtype?: SaveDtype;
  /** Start a new shard when one would exceed this many bytes (default: one file). Shards are
   * `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json` (HF's layout). */
  maxShardBytes?: number;
}

/**
 * Save `config.json` and the weights into `dir` (created if needed): `model.safetensors`, or shards
 * with `model.safetensors.index.json` (canonical tensor order, metadata {"format": "pt"}). Does not
 * consume the weights.
 */
export async function saveModel(dir: string, c: ModelConfig, w: GPT2Weights, opts: SaveModelOptions = {}): Promise<void> {
  validateConfig(c);
  const dtype = opts.dtype ?? "F32";
  const shards: Map<string, SafeTensor>[] = [new Map()];
  let used = 0;
  for (const [name, shape] of weightShapes(c)) {
    const a = w[name];
    if (!a) throw new BilevelInputError(`weights: missing tensor ${name}`);
    if (a.shape.join(",") !== shape.join(",")) throw new BilevelInputError(`weights: tensor ${name} has shape [${a.shape}], config needs [${shape}]`);
    const t = floatTensor((await a.ref.data()) as ArrayLike<number>, shape, dtype);
    if (opts.maxShardBytes !== undefined && used > 0 && used + t.bytes.length > opts.maxShardBytes) {
      shards.push(new Map());
      used = 0;
    }
    shards[shards.length - 1].set(name, t);
    used += t.bytes.length;
  }
  mkdirs(dir);
  writeFileAtomic(path.join(dir, "config.json"), JSON.stringify(configToJson(c), null, 2) + "\n");
  if (shards.length === 1) {
    writeSafetensors(path.join(dir, "model.safetensors"), { metadata: { format: "pt" }, tensors: shards[0], metadataIndex: 0 });
    return;
  }
  const n = shards.length;
  const pad = (k: number) => String(k).padStart(5, "0");
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((tensors, k) => {
    const file = `model-${pad(k + 1)}-of-${pad(n)}.safetensors`;
    for (const [name, t] of tensors) {
      weightMap[name] = file;
      total += t.bytes.length;
    }
    writeSafetensors(path.join(dir, file), { metadata: { format: "pt" }, tensors, metadataIndex: 0 });
  });
  writeFileAtomic(path.join(dir, INDEX_FILE), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + "\n");
}

/** The shard index of a sharded Hugging Face checkpoint. */
export const INDEX_FILE = "model.safetensors.index.json";

function readJsonObject(file: string): Record<string, unknown> {
  let raw: string;
  try {
    raw = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new BilevelInputError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let j: unknown;
  try {
    j = JSON.parse(raw);
  } catch (e) {
    throw new BilevelInputError(`${file}: not valid JSON (${printable((e as Error).message, 60)})`);
  }
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new BilevelInputError(`${file}: expected a JSON object`);
  return j as Record<string, unknown>;
}

/** Read `dir/config.json` (one-line errors naming the file and field). */
export function readConfig(dir: string): ModelConfig {
  const file = path.join(dir, "config.json");
  return configFromJson(readJsonObject(file), file);
}

/** Where each tensor of a model folder is stored: the file and its (still encoded) tensor. */
export interface StoredTensor {
  file: string;
  tensor: SafeTensor;
}

/**
 * The stored tensors of a model folder: `model.safetensors`, else the shards named by
 * `model.safetensors.index.json` (each shard read once). Returns a lookup by tensor name that throws a
 * one-line BilevelInputError for a tensor that is not stored (naming the file or index) or whose
 * shard is missing or unreadable.
 */
export function storedTensors(dir: string): (name: string) => StoredTensor | undefined {
  const single = path.join(dir, "model.safetensors");
  const index = path.join(dir, INDEX_FILE);
  if (fs.existsSync(single) || !fs.existsSync(index)) {
    const st = readSafetensors(single);
    return (name) => {
      const t = st.tensors.get(name);
      return t ? { file: single, tensor: t } : undefined;
    };
  }
  const j = readJsonObject(index);
  const wm = j.weight_map;
  if (wm === null || typeof wm !== "object" || Array.isArray(wm)) throw new BilevelInputError(`${index}: field weight_map must be an object of tensor name -> shard file`);
  const files = new Map<string, ReturnType<typeof readSafetensors>>();
  for (const [name, f] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof f !== "string" || f.includes("/") || f.includes("\\") || f === "" || f.startsWith(".")) {
      throw new BilevelInputError(`${index}: weight_map['${printable(name, 80)}'] must be a file name in the folder, got ${printable(JSON.stringify(f) ?? "undefined", 60)}`);
    }
  }
  return (name) => {
    const f = (wm as Record<string, string>)[name];
    if (f === undefined) return undefined;
    const file = path.join(dir, f);
    let st = files.get(file);
    if (!st) {
      if (!fs.existsSync(file)) throw new BilevelInputError(`${file}: missing shard (${INDEX_FILE} puts tensor ${printable(name, 80)} there)`);
      st = readSafetensors(file);
      files.set(file, st);
    }
    const t = st.tensors.get(name);
    if (!t) throw new BilevelInputError(`${file}: missing tensor ${printable(name, 80)} (${INDEX_FILE} puts it in this shard)`);
    return { file, tensor: t };
  };
}

/**
 * Load `dir/config.json` and the weights of a GPT-2-layout or Llama-family folder (`model.safetensors`
 * or shards with `model.safetensors.index.json`; F32/F16/BF16/F64). Every tensor is found and its
 * dtype, shape and finiteness (on the raw bytes) checked here (one-line BilevelInputError naming the
 * file and the tensor or field); its values stay as stored until first used, when they become an
 * engine array in the engine's float dtype. GPT-2 names may carry a `transformer.` prefix; extra
 * tensors are ignored. The caller owns the weights (`disposeWeights`).
 */
export function loadModel(dir: string): { config: ModelConfig; weights: GPT2Weights } {
  const config = readConfig(dir);
  const lookup = storedTensors(dir);
  const where = (dir: string) => (fs.existsSync(path.join(dir, "model.safetensors")) || !fs.existsSync(path.join(dir, INDEX_FILE)) ? path.join(dir, "model.safetensors") : path.join(dir, INDEX_FILE));
  const weights: GPT2Weights = {};
  for (const [name, shape] of weightShapes(config)) {
    const s = lookup(name) ?? (isLlamaConfig(config) ? undefined : lookup(`transformer.${name}`));
    if (!s) throw new BilevelInputError(`${where(dir)}: missing tensor ${name}`);
    const t = s.tensor;
    if (t.shape.join(",") !== shape.join(",")) throw new BilevelInputError(`${s.file}: tensor ${name} has shape [${t.shape}], config.json needs [${shape}]`);
    if (!["F32", "F16", "BF16", "F64"].includes(t.dtype)) throw new BilevelInputError(`${s.file}: tensor ${name} has dtype ${t.dtype}, expected a float type`);
    const bad = firstNonFinite(t); // checked on the raw bytes: nothing is decoded here
    if (bad) throw new BilevelInputError(`${s.file}: tensor ${name} has a non-finite value (${bad.value}) at element ${bad.index}`);
    Object.defineProperty(weights, name, {
      enumerable: true,
      configurable: true,
      get() {
        const a = array(tensorToFloat64(t), shape);
        Object.defineProperty(weights, name, { value: a, enumerable: true, configurable: true, writable: true });
        return a;
      },
    });
  }
  return { config, weights };
}

/** The stored dtype of each tensor of a folder (for sizes). */
export function storedDtypes(dir: string, config: ModelConfig): Record<string, string> {
  const lookup = storedTensors(dir);
  const out: Record<string, string> = {};
  for (const [name] of weightShapes(config)) {
    const s = lookup(name) ?? lookup(`transformer.${name}`);
    if (s) out[name] = s.tensor.dtype;
  }
  return out;
}

/** Release every weight array (tensors of a loaded model never used are not decoded). */
export function disposeWeights(w: GPT2Weights): void {
  for (const k of Object.keys(w)) {
    const d = Object.getOwnPropertyDescriptor(w, k);
    if (d && "value" in d) (d.value as Arr).dispose();
  }
}

const fdt = () => (floatDtype() === "float64" ? np.float64 : np.float32);

/** LayerNorm over the last axis of x [N, d] (consumes x; not g, b: they are used through .ref by callers). */
function layerNorm(x: Arr, g: Arr, b: Arr, eps: number): Arr {
  const mean = x.ref.mean(-1, { keepdims: true });
  const xc = x.sub(mean);
  const v = xc.ref.mul(xc.ref).mean(-1, { keepdims: true });
  return xc.div(np.sqrt(v.add(eps))).mul(g).add(b);
}

/** GPT-2's gelu (tanh approximation): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Consumes x. */
function gelu(x: Arr): Arr {
  const inner = x.ref.add(x.ref.mul(x.ref).mul(x.ref).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(np.tanh(inner).add(1)).mul(0.5);
}

/** Options of `forward`. */
export interface ForwardOptions {
  /** Also return the residual stream entering each block (hidden[i], [B, T, d]) and leaving the last (hidden[nLayer], before ln_f). */
  hidden?: boolean;
  /** Also return the input [B*T, in] of every linear layer, keyed `h.{i}.attn.c_attn` etc. (for LIM scores / GPTQ Hessians). */
  captureLinearInputs?: boolean;
  /**
   * Replace a linear layer's weight [in, out] (e.g. by a dequantized one) without touching `weights`:
   * name (`h.{i}.mlp.c_fc`) -> weight. Not consumed.
   */
  linearWeights?: Record<string, Arr>;
  /**
   * Embed tokens by a one-hot matmul instead of a gather (`np.take`). Needed when differentiating under
   * `jit` (jax-js 0.1.25 cannot jit the scatter that the gather's gradient needs); costs a [B*T, V]
   * one-hot, fine for byte vocabularies.
   */
  oneHotEmbedding?: boolean;
  /** Blocks to skip (pruned: the block is the identity, h_{i+1} = h_i). */
  skipBlocks?: Set<number>;
}

/** Result of `forward`; the caller owns every array in it. */
export interface ForwardResult {
  /** [B, T, V] next-token logits. */
  logits: Arr;
  /** With `opts.hidden`: nLayer + 1 arrays [B, T, d]. */
  hidden?: Arr[];
  /** With `opts.captureLinearInputs`: linear layer name -> its input [B*T, in]. */
  linearInputs?: Record<string, Arr>;
}

/** The causal additive mask [T, T]: 0 on and below the diagonal, -1e9 above. */
function causalMask(T: number): Arr {
  const m = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return array(m, [T, T]);
}

/** The final hidden state after ln_f [B*T, d], plus optional captures. Consumes tokens, not weights. */
function trunk(c: GPT2Config, w: GPT2Weights, tokens: Arr, opts: ForwardOptions): { h: Arr; hidden?: Arr[]; linearInputs?: Record<string, Arr> } {
  const [B, T] = checkTokens(tokens, c.nPositions, "n_positions");
  const d = c.nEmbd;
  const H = c.nHead;
  const hd = d / H;
  const N = B * T;
  const eps = c.layerNormEpsilon;
  const { W, hidden, inputs } = trunkParts(w, opts);
  const linear = (x: Arr, name: string): Arr => {
    if (inputs) inputs[name] = x.ref;
    const lw = opts.linearWeights?.[name];
    const Wm = lw ? lw.ref : W(`${name}.weight`);
    return np.matmul(x, Wm).add(W(`${name}.bias`));
  };
  const tok = opts.oneHotEmbedding
    ? np.matmul(jax.nn.oneHot(tokens.reshape([N]), c.vocabSize).astype(fdt()), W("wte.weight"))
    : np.take(W("wte.weight"), tokens.reshape([N]), 0); // [N, d]
  const pos = W("wpe.weight").slice([0, T]); // [T, d]
  let h = tok.reshape([B, T, d]).add(pos).reshape([N, d]);
  const mask = causalMask(T);
  const scale = 1 / Math.sqrt(hd);
  for (let i = 0; i < c.nLayer; i++) {
    const p = `h.${i}.`;
    if (hidden) hidden.push(h.ref.reshape([B, T, d]));
    if (opts.skipBlocks?.has(i)) continue;
    const x = layerNorm(h.ref, W(`${p}ln_1.weight`), W(`${p}ln_1.bias`), eps);
    const qkv = linear(x, `${p}attn.c_attn`).reshape([B, T, 3, H, hd]).transpose([2, 0, 3, 1, 4]); // [3, B, H, T, hd]
    const [q, k, v] = np.split(qkv, 3, 0).map((a) => a.reshape([B, H, T, hd]));
    const s = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(scale).add(mask.ref); // [B, H, T, T]
    const att = np.matmul(jax.nn.softmax(s, -1), v); // [B, H, T, hd]
    const y = att.transpose([0, 2, 1, 3]).reshape([N, d]);
    h = h.add(linear(y, `${p}attn.c_proj`));
    const x2 = layerNorm(h.ref, W(`${p}ln_2.weight`), W(`${p}ln_2.bias`), eps);
    const m = gelu(linear(x2, `${p}mlp.c_fc`));
    h = h.add(linear(m, `${p}mlp.c_proj`));
  }
  mask.dispose();
  if (hidden) hidden.push(h.ref.reshape([B, T, d]));
  const hf = layerNorm(h, W("ln_f.weight"), W("ln_f.bias"), eps);
  return { h: hf, hidden, linearInputs: inputs };
}

/** The trunk of either architecture. */
function anyTrunk(c: ModelConfig, w: GPT2Weights, tokens: Arr, opts: ForwardOptions): { h: Arr; hidden?: Arr[]; linearInputs?: Record<string, Arr> } {
  return isLlamaConfig(c) ? llamaTrunk(c, w, tokens, opts) : trunk(c, w, tokens, opts);
}

/** The output head [V, d] as a new reference (tied wte for GPT-2). */
function head(c: ModelConfig, w: GPT2Weights): Arr {
  if (isLlamaConfig(c)) return llamaHead(c, w);
  const a = w["wte.weight"];
  if (!a) throw new BilevelInputError("weights: missing tensor wte.weight");
  return a.ref;
}

/**
 * The forward pass on `tokens` (an int32 array [B, T], T <= nPositions): next-token logits [B, T, V],
 * and optionally the residual stream per block (`opts.hidden`) and every linear layer's input
 * (`opts.captureLinearInputs`). Consumes `tokens`; does NOT consume `weights` (nor
 * `opts.linearWeights`). The caller owns every returned array.
 */
export function forward(config: ModelConfig, weights: GPT2Weights, tokens: Arr, opts: ForwardOptions = {}): ForwardResult {
  const [B, T] = tokens.shape;
  const { h, hidden, linearInputs } = anyTrunk(config, weights, tokens, opts);
  const logits = np.matmul(h, head(config, weights).transpose()).reshape([B, T, config.vocabSize]);
  const out: ForwardResult = { logits };
  if (hidden) out.hidden = hidden;
  if (linearInputs) out.linearInputs = linearInputs;
  return out;
}

/**
 * Mean next-token negative log-likelihood (nats) of `targets` [B, T] (int32) given `inputs` [B, T]
 * (int32): the training loss. Differentiable in `weights` (under grad + jit pass `oneHotEmbedding: true`). Consumes inputs
 * and targets, not the weights.
 */
export function nll(config: ModelConfig, weights: GPT2Weights, inputs: Arr, targets: Arr, opts: Pick<ForwardOptions, "linearWeights" | "oneHotEmbedding" | "skipBlocks"> = {}): Arr {
  const { h } = anyTrunk(config, weights, inputs, opts);
  const logits = np.matmul(h, head(config, weights).transpose()); // [N, V]
  const logp = jax.nn.logSoftmax(logits, -1);
  const onehot = jax.nn.oneHot(targets.reshape([-1]), config.vocabSize).astype(fdt());
  return logp.mul(onehot).sum().mul(-1 / (targets.shape[0] * targets.shape[1]));
}

/** Options of `perplexity`. */
export interface PerplexityOptions {
  /** Sequences per forward pass (bounds memory; default 8). */
  batch?: number;
  /** Context length of each sequence (default min(128, nPositions)). */
  ctx?: number;
  /** Replacement linear weights, as in `ForwardOptions.linearWeights`. */
  linearWeights?: Record<string, Arr>;
  /** Pruned blocks, as in `ForwardOptions.skipBlocks`. */
  skipBlocks?: Set<number>;
  /** Use at most this many windows (default all). */
  maxWindows?: number;
}

/**
 * Perplexity exp(mean token NLL) of a token stream (e.g. `heldOutTokens()`): the stream is cut into
 * non-overlapping windows of ctx + 1 tokens (ctx predicted tokens each; the remainder is dropped) and
 * evaluated `batch` windows at a time. Does not consume the weights.
 */
export async function perplexity(config: ModelConfig, weights: GPT2Weights, tokens: ArrayLike<number>, opts: PerplexityOptions = {}): Promise<number> {
  const P = maxContext(config);
  const ctx = opts.ctx ?? Math.min(128, P);
  const batch = opts.batch ?? 8;
  if (!Number.isInteger(ctx) || ctx < 1 || ctx > P) throw new BilevelInputError(`ctx: expected an integer from 1 to ${P}, got ${ctx}`);
  if (!Number.isInteger(batch) || batch < 1) throw new BilevelInputError(`batch: expected a positive integer, got ${batch}`);
  let nWin = Math.floor((tokens.length - 1) / ctx);
  if (opts.maxWindows !== undefined) nWin = Math.min(nWin, opts.maxWindows);
  if (nWin < 1) throw new BilevelInputError(`tokens: ${tokens.length} tokens, need at least ctx + 1 = ${ctx + 1}`);
  let total = 0;
  let count = 0;
  for (let w0 = 0; w0 < nWin; w0 += batch) {
    const b = Math.min(batch, nWin - w0);
    const inp = new Int32Array(b * ctx);
    const tgt = new Int32Array(b * ctx);
    for (let r = 0; r < b; r++) {
      const s = (w0 + r) * ctx;
      for (let t = 0; t < ctx; t++) {
        inp[r * ctx + t] = tokens[s + t];
        tgt[r * ctx + t] = tokens[s + t + 1];
      }
    }
    const loss = nll(config, weights, np.array(inp, { dtype: np.int32 }).reshape([b, ctx]), np.array(tgt, { dtype: np.int32 }).reshape([b, ctx]), opts);
    total += (await toNumber(loss)) * b * ctx;
    count += b * ctx;
    await new Promise((r) => setImmediate(r));
  }
  return Math.exp(total / count);
}

/** Result of `sequenceNll`. */
export interface SequenceNll {
  /** Predicted tokens (every token of a window but its first). */
  tokens: number;
  /** Mean next-token NLL (nats) and exp of it. */
  nll: number;
  perplexity: number;
  ctx: number;
  windows: number;
}

/**
 * Mean next-token NLL of a token sequence over non-overlapping windows of `ctx` tokens (the last
 * window may be shorter; each window of length n predicts its n - 1 later tokens from the earlier
 * ones). Default ctx: the whole sequence when it fits the model's context, else the context. Does not
 * consume the weights.
 */
export async function sequenceNll(config: ModelConfig, weights: GPT2Weights, ids: ArrayLike<number>, opts: { ctx?: number; batch?: number; linearWeights?: Record<string, Arr> } = {}): Promise<SequenceNll> {
  const P = maxContext(config);
  if (ids.length < 2) throw new BilevelInputError(`tokens: ${ids.length} token(s), need at least 2`);
  for (let k = 0; k < ids.length; k++) {
    const t = ids[k];
    if (!Number.isInteger(t) || t < 0 || t >= config.vocabSize) throw new BilevelInputError(`tokens: id ${printable(String(t), 30)} at position ${k} is not an integer from 0 to ${config.vocabSize - 1}`);
  }
  const ctx = opts.ctx ?? Math.min(ids.length, P);
  if (!Number.isInteger(ctx) || ctx < 2 || ctx > P) throw new BilevelInputError(`ctx: expected an integer from 2 to ${P} (the model's context), got ${ctx}`);
  const batch = opts.batch ?? 8;
  const full = Math.floor(ids.length / ctx);
  const rest = ids.length - full * ctx;
  let total = 0;
  let count = 0;
  const run = async (starts: number[], len: number) => {
    const b = starts.length;
    const inp = new Int32Array(b * (len - 1));
    const tgt = new Int32Array(b * (len - 1));
    starts.forEach((s, r) => {
      for (let t = 0; t < len - 1; t++) {
        inp[r * (len - 1) + t] = ids[s + t];
        tgt[r * (len - 1) + t] = ids[s + t + 1];
      }
    });
    const loss = nll(config, weights, np.array(inp, { dtype: np.int32 }).reshape([b, len - 1]), np.array(tgt, { dtype: np.int32 }).reshape([b, len - 1]), { linearWeights: opts.linearWeights });
    total += (await toNumber(loss)) * b * (len - 1);
    count += b * (len - 1);
    await new Promise((r) => setImmediate(r));
  };
  for (let w0 = 0; w0 < full; w0 += batch) {
    const starts: number[] = [];
    for (let w = w0; w < Math.min(full, w0 + batch); w++) starts.push(w * ctx);
    await run(starts, ctx);
  }
  if (rest >= 2) await run([full * ctx], rest);
  const m = total / count;
  return { tokens: count, nll: m, perplexity: Math.exp(m), ctx, windows: full + (rest >= 2 ? 1 : 0) };
}
