/**
 * Layer-wise quantization of a GPT-2-layout model (src/quant/model.ts): importance scores per block from
 * calibration tokens, per-block bit widths applied to the block's four linear weight matrices
 * (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) with RTN or GPTQ, packed storage, and the dequantized
 * weights the model's forward pass evaluates (`forward(..., { linearWeights })` / `perplexity(...)`).
 *
 * What is quantized: the 4 * nLayer linear weight matrices (the transformer blocks, as in the paper and
 * GPTQ). Embeddings (wte, tied with the output head; wpe), biases and LayerNorm parameters stay float32
 * and are counted at 4 bytes each in the size.
 */
import { mkdirs, writeFileAtomic } from "../node/fsio.js";
import fs from "node:fs";
import path from "node:path";
import { array, np, type Arr } from "../engine/index.js";
import { BilevelInputError, printable } from "../errors.js";
import { configFromJson, configToJson, forward, linearLayout, linearNames, maxContext, weightShapes, type ModelConfig as GPT2Config, type GPT2Weights } from "./model.js";
import { f32Tensor, readSafetensors, tensorToFloat64, writeSafetensors, type SafeTensor } from "./safetensors.js";
import { dequantize, packedBytes, quantizeRTN, quantizedBytes, checkBits, checkGroupSize, type QuantizedTensor } from "./quantize.js";
import { quantizeGPTQ } from "./gptq.js";
import { quantizeHQQ } from "./hqq.js";
import { limFromHiddenArrays, zdOf } from "./scores.js";

export type QuantizerName = "rtn" | "gptq" | "hqq";
export const QUANTIZERS: QuantizerName[] = ["rtn", "gptq", "hqq"];

/** Bits value of a pruned block (removed: the block becomes the identity, its tensors take no bytes). */
export const PRUNED = 0;

/** Cut a token stream into `nWin` windows of `ctx` tokens ([nWin, ctx] rows, row-major). */
export function windows(tokens: ArrayLike<number>, ctx: number, maxWindows: number): { data: Int32Array; n: number } {
  const n = Math.min(maxWindows, Math.floor(tokens.length / ctx));
  if (n < 1) throw new BilevelInputError(`calibration: ${tokens.length} tokens, need at least ${ctx}`);
  const data = new Int32Array(n * ctx);
  for (let k = 0; k < n * ctx; k++) data[k] = tokens[k];
  return { data, n };
}

/** Calibration batches as int32 arrays [b, ctx] (the caller passes each to `forward`, which consumes it). */
function* batches(win: { data: Int32Array; n: number }, ctx: number, batch: number): Generator<Arr> {
  for (let w0 = 0; w0 < win.n; w0 += batch) {
    const b = Math.min(batch, win.n - w0);
    yield np.array(win.data.slice(w0 * ctx, (w0 + b) * ctx), { dtype: np.int32 }).reshape([b, ctx]);
  }
}

export interface CalibrationOptions {
  /** Context length of a calibration window (default min(128, nPositions)). */
  ctx?: number;
  /** Number of windows (default 16). */
  windows?: number;
  /** Windows per forward pass (default 8). */
  batch?: number;
}

/** Host copy of one tensor (does not consume the weights). */
export async function hostTensor(w: GPT2Weights, name: string): Promise<Float64Array> {
  const a = w[name];
  if (!a) throw new BilevelInputError(`weights: missing tensor ${name}`);
  return Float64Array.from((await a.ref.data()) as ArrayLike<number>);
}

/**
 * LIM per block from calibration tokens: 1 - cos between the residual stream entering and leaving the
 * block, averaged over all calibration tokens (see scores.ts). Does not consume the weights.
 */
export async function limScores(config: GPT2Config, weights: GPT2Weights, tokens: ArrayLike<number>, opts: CalibrationOptions = {}): Promise<number[]> {
  const ctx = opts.ctx ?? Math.min(128, maxContext(config));
  const win = windows(tokens, ctx, opts.windows ?? 16);
  const sums = new Array<number>(config.nLayer).fill(0);
  let count = 0;
  for (const tok of batches(win, ctx, opts.batch ?? 8)) {
    const b = tok.shape[0];
    const r = forward(config, weights, tok, { hidden: true });
    r.logits.dispose();
    const lim = await limFromHiddenArrays(r.hidden!);
    lim.forEach((v, i) => (sums[i] += v * b * ctx));
    count += b * ctx;
  }
  return sums.map((s) => s / count);
}

/** ZD per block over its four linear weight matrices (see scores.ts). Does not consume the weights. */
export async function zdScores(config: GPT2Config, weights: GPT2Weights): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const mats: Float64Array[] = [];
    for (const n of linearNames(i, config)) mats.push(await hostTensor(weights, `${n}.weight`));
    out.push(zdOf(mats));
  }
  return out;
}

/**
 * GPTQ Hessians H = (2 / n) X^T X of every linear layer from the full-precision model's inputs on the
 * calibration tokens (n = all calibration tokens). Does not consume the weights.
 */
export async function linearHessians(config: GPT2Config, weights: GPT2Weights, tokens: ArrayLike<number>, opts: CalibrationOptions = {}): Promise<Record<string, Float64Array>> {
  const ctx = opts.ctx ?? Math.min(128, maxContext(config));
  const win = windows(tokens, ctx, opts.windows ?? 16);
  const acc: Record<string, Float64Array> = {};
  let n = 0;
  for (const tok of batches(win, ctx, opts.batch ?? 8)) {
    const r = forward(config, weights, tok, { captureLinearInputs: true });
    r.logits.dispose();
    for (const [name, X] of Object.entries(r.linearInputs!)) {
      const xtx = np.matmul(X.ref.transpose(), X);
      const h = Float64Array.from((await xtx.data()) as ArrayLike<number>);
      const a = acc[name];
      if (a) for (let k = 0; k < h.length; k++) a[k] += h[k];
      else acc[name] = h;
    }
    n += tok.shape[0] * ctx;
  }
  for (const h of Object.values(acc)) for (let k = 0; k < h.length; k++) h[k] *= 2 / n;
  return acc;
}

/** A quantized model: packed matrices per linear layer plus the untouched float tensors (by reference). */
export interface QuantizedModel {
  config: GPT2Config;
  /** Bits of each block. */
  bits: number[];
  quantizer: QuantizerName;
  groupSize: number;
  /** Packed weight of each quantized linear layer, keyed `h.{i}.attn.c_attn` etc. */
  packed: Record<string, QuantizedTensor>;
}

export interface QuantizeModelOptions {
  quantizer?: QuantizerName;
  groupSize?: number;
  /** GPTQ Hessians (from `linearHessians`); required for gptq. */
  hessians?: Record<string, Float64Array>;
  /** GPTQ damping fraction (default 0.01). */
  percdamp?: number;
}

/** Transpose a row-major [r, c] host matrix. */
export function transposeHost(a: ArrayLike<number>, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

/**
 * A linear layer's weight as a host [in, out] matrix (y = x W), whatever the stored layout (GPT-2
 * Conv1D [in, out]; Llama nn.Linear [out, in] is transposed). Does not consume the weights.
 */
export async function linearWeightInOut(config: GPT2Config, weights: GPT2Weights, name: string): Promise<{ w: Float64Array; shape: [number, number] }> {
  const a = weights[`${name}.weight`];
  if (!a) throw new BilevelInputError(`weights: missing tensor ${name}.weight`);
  const [r, c] = a.shape;
  const w = await hostTensor(weights, `${name}.weight`);
  return linearLayout(config) === "in-out" ? { w, shape: [r, c] } : { w: transposeHost(w, r, c), shape: [c, r] };
}

/** Quantize one linear layer's weight (as [in, out]) at `bits` (host; does not consume the weights). */
export async function quantizeLinear(config: GPT2Config, weights: GPT2Weights, name: string, bits: number, opts: QuantizeModelOptions): Promise<QuantizedTensor> {
  const { w, shape } = await linearWeightInOut(config, weights, name);
  const groupSize = opts.groupSize ?? 32;
  if ((opts.quantizer ?? "rtn") === "gptq") {
    const h = opts.hessians?.[name];
    if (!h) throw new BilevelInputError(`gptq: no calibration Hessian for ${name}`);
    return quantizeGPTQ(w, shape, h, bits, groupSize, { percdamp: opts.percdamp }).q;
  }
  if (opts.quantizer === "hqq") return quantizeHQQ(w, shape, bits, groupSize);
  return quantizeRTN(w, shape, bits, groupSize);
}

/**
 * Quantize every block's linear weights at `bits[i]` (PRUNED = 0: the block is removed, nothing packed). `cache` (optional) memoizes packed matrices by
 * `name@bits`: RTN and (non-sequential) GPTQ quantize each matrix independently of the others, so a
 * sweep over assignments reuses them.
 */
export async function quantizeModel(
  config: GPT2Config,
  weights: GPT2Weights,
  bits: number[],
  opts: QuantizeModelOptions = {},
  cache?: Map<string, QuantizedTensor>,
): Promise<QuantizedModel> {
  if (bits.length !== config.nLayer) throw new BilevelInputError(`bits: ${bits.length} values for ${config.nLayer} layers`);
  bits.forEach((b) => b === PRUNED || checkBits(b));
  const groupSize = opts.groupSize ?? 32;
  checkGroupSize(groupSize);
  const quantizer = opts.quantizer ?? "rtn";
  const packed: Record<string, QuantizedTensor> = {};
  for (let i = 0; i < config.nLayer; i++) {
    if (bits[i] === PRUNED) continue;
    for (const name of linearNames(i, config)) {
      const key = `${name}@${bits[i]}`;
      let q = cache?.get(key);
      if (!q) {
        q = await quantizeLinear(config, weights, name, bits[i], { ...opts, groupSize, quantizer });
        cache?.set(key, q);
      }
      packed[name] = q;
    }
  }
  return { config, bits: [...bits], quantizer, groupSize, packed };
}

/** Dequantized weights of a quantized model as engine arrays, for `forward`/`perplexity`'s `linearWeights`. The caller disposes them. */
export function dequantizedWeights(qm: QuantizedModel): Record<string, Arr> {
  const out: Record<string, Arr> = {};
  for (const [name, q] of Object.entries(qm.packed)) out[name] = array(dequantize(q), q.shape);
  return out;
}

export function disposeAll(r: Record<string, Arr>): void {
  for (const a of Object.values(r)) a.dispose();
}

/** Size in bytes: every tensor at float32, the model as stored (config.json aside). */
export function floatModelBytes(config: GPT2Config): number {
  return weightShapes(config).reduce((s, [, shape]) => s + 4 * shape.reduce((a, b) => a * b, 1), 0);
}

/** The blocks a bit assignment removes (bits PRUNED), for `ForwardOptions.skipBlocks`. */
export const prunedBlocks = (bits: number[]): Set<number> => new Set(bits.flatMap((b, i) => (b === PRUNED ? [i] : [])));

/** Block index of every tensor that belongs to a block (`h.{i}.` / `model.layers.{i}.`). */
export function blockOf(name: string): number | undefined {
  const m = /^(?:h|model\.layers)\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Size in bytes of a quantized model: packed linear weights (codes + scales + zeros) + everything else at float32 (pruned blocks: nothing). */
export function quantizedModelBytes(qm: QuantizedModel): number {
  let s = 0;
  for (const [name, shape] of weightShapes(qm.config)) {
    const b = blockOf(name);
    if (b !== undefined && qm.bits[b] === PRUNED) continue;
    const lin = name.endsWith(".weight") ? qm.packed[name.slice(0, -".weight".length)] : undefined;
    s += lin ? quantizedBytes(lin) : 4 * shape.reduce((a, b) => a * b, 1);
  }
  return s;
}

/** Same without quantizing: size of a model with block bits `bits` (PRUNED blocks take nothing). */
export function modelBytesAt(config: GPT2Config, bits: number[], groupSize: number, quantizer: QuantizerName = "rtn"): number {
  const layerOf = linearLayerIndex(config);
  const inOut = linearLayout(config) === "in-out";
  let s = 0;
  for (const [name, shape] of weightShapes(config)) {
    const b = blockOf(name);
    if (b !== undefined && bits[b] === PRUNED) continue;
    const i = layerOf.get(name);
    const io: [number, number] = inOut ? [shape[0], shape[1]] : [shape[1], shape[0]];
    s += i !== undefined ? packedBytes(io, bits[i], groupSize, quantizer === "hqq") : 4 * shape.reduce((a, b) => a * b, 1);
  }
  return s;
}

/** Block index of each quantized linear weight tensor name (`${linear}.weight` -> block). */
export function linearLayerIndex(config: GPT2Config): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < config.nLayer; i++) for (const n of linearNames(i, config)) m.set(`${n}.weight`, i);
  return m;
}

/** Number of quantized weights and their bytes in a quantized model (effective bits per quantized weight incl. scales/zeros). */
export function quantizedWeightStats(qm: QuantizedModel): { weights: number; bytes: number; effectiveBits: number } {
  let n = 0;
  let bytes = 0;
  for (const q of Object.values(qm.packed)) {
    n += q.shape[0] * q.shape[1];
    bytes += quantizedBytes(q);
  }
  return { weights: n, bytes, effectiveBits: (8 * bytes) / n };
}

/**
 * Save a quantized model to `dir`: `config.json` and `quantized.safetensors`, where each quantized linear
 * layer `name` is stored as `name.qweight` (U8, the packed code bitstream), `name.scales` (F32
 * [nGroups, out]) and `name.zeros` (U8 [nGroups, out]), every other tensor as F32 under its GPT-2 name, and
 * the metadata key `quantization` holds JSON {format, quantizer, groupSize, bits (per block), shapes}.
 * Returns the file size in bytes. Does not consume the weights.
 */
export async function saveQuantized(dir: string, qm: QuantizedModel, weights: GPT2Weights): Promise<number> {
  const tensors = new Map<string, SafeTensor>();
  const shapes: Record<string, [number, number]> = {};
  for (const [name, shape] of weightShapes(qm.config)) {
    const lin = name.endsWith(".weight") ? qm.packed[name.slice(0, -".weight".length)] : undefined;
    if (lin) {
      const base = name.slice(0, -".weight".length);
      const ng = lin.scales.length / lin.shape[1];
      shapes[base] = lin.shape;
      tensors.set(`${base}.qweight`, { dtype: "U8", shape: [lin.codes.length], bytes: lin.codes });
      tensors.set(`${base}.scales`, f32Tensor(lin.scales, [ng, lin.shape[1]]));
      tensors.set(`${base}.zeros`, lin.zerosF32 ? f32Tensor(lin.zerosF32, [ng, lin.shape[1]]) : { dtype: "U8", shape: [ng, lin.shape[1]], bytes: lin.zeros });
    } else {
      tensors.set(name, f32Tensor(await hostTensor(weights, name), shape));
    }
  }
  const meta = { format: "bilevel-packed-v1", quantizer: qm.quantizer, groupSize: qm.groupSize, bits: qm.bits, shapes };
  mkdirs(dir);
  writeFileAtomic(path.join(dir, "config.json"), JSON.stringify(configToJson(qm.config), null, 2) + "\n");
  const file = path.join(dir, "quantized.safetensors");
  writeSafetensors(file, { metadata: { format: "pt", quantization: JSON.stringify(meta) }, tensors, metadataIndex: 0 });
  return fs.statSync(file).size;
}

/**
 * Load a model saved by `saveQuantized`: the packed model and float weights in which each quantized
 * layer's `.weight` is its dequantized matrix (so `forward` / `perplexity` run it directly). The caller
 * owns the weights.
 */
export function loadQuantized(dir: string): { config: GPT2Config; qm: QuantizedModel; weights: GPT2Weights } {
  const cfgFile = path.join(dir, "config.json");
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
  } catch (e) {
    throw new BilevelInputError(`${cfgFile}: cannot read (${printable((e as Error).message, 60)})`);
  }
  const config = configFromJson(cfg, cfgFile);
  const file = path.join(dir, "quantized.safetensors");
  const st = readSafetensors(file);
  let meta: { format?: string; quantizer?: QuantizerName; groupSize?: number; bits?: number[]; shapes?: Record<string, [number, number]> };
  try {
    meta = JSON.parse(st.metadata?.quantization ?? "");
  } catch {
    throw new BilevelInputError(`${file}: no valid 'quantization' metadata`);
  }
  if (meta.format !== "bilevel-packed-v1" || !meta.shapes || !meta.bits || !meta.groupSize) throw new BilevelInputError(`${file}: unknown quantization format ${String(meta.format)}`);
  const packed: Record<string, QuantizedTensor> = {};
  const weights: GPT2Weights = {};
  const layerOf = linearLayerIndex(config);
  const get = (n: string): SafeTensor => {
    const t = st.tensors.get(n);
    if (!t) throw new BilevelInputError(`${file}: missing tensor ${n}`);
    return t;
  };
  try {
    for (const [name, shape] of weightShapes(config)) {
      const base = name.slice(0, -".weight".length);
      const qshape = name.endsWith(".weight") ? meta.shapes[base] : undefined;
      if (qshape) {
        const layer = layerOf.get(name)!;
        const q: QuantizedTensor = {
          shape: [qshape[0], qshape[1]],
          bits: meta.bits[layer],
          groupSize: meta.groupSize,
          codes: Uint8Array.from(get(`${base}.qweight`).bytes),
          scales: Float32Array.from(tensorToFloat64(get(`${base}.scales`))),
          ...(get(`${base}.zeros`).dtype === "F32"
            ? { zeros: new Uint8Array(0), zerosF32: Float32Array.from(tensorToFloat64(get(`${base}.zeros`))) }
            : { zeros: Uint8Array.from(get(`${base}.zeros`).bytes) }),
        };
        packed[base] = q;
        weights[name] = array(linearLayout(config) === "in-out" ? dequantize(q) : transposeHost(dequantize(q), q.shape[0], q.shape[1]), shape);
      } else {
        weights[name] = array(tensorToFloat64(get(name)), shape);
      }
    }
  } catch (e) {
    for (const a of Object.values(weights)) a.dispose();
    throw e;
  }
  return { config, qm: { config, bits: meta.bits, quantizer: meta.quantizer ?? "rtn", groupSize: meta.groupSize, packed }, weights };
}
