/**
 * A Llama-family decoder (Touvron et al. 2023) in jax-js, in the layout of Hugging Face's
 * `LlamaForCausalLM`, `MistralForCausalLM` and `Qwen2ForCausalLM`, so their folders run unchanged:
 *
 *     h_0     = embed_tokens[tokens]
 *     a       = h_i + o_proj( attn( rope(q_proj(x)), rope(k_proj(x)), v_proj(x) ) ),  x = RMS_in(h_i)
 *     h_{i+1} = a + down_proj( silu(gate_proj(y)) * up_proj(y) ),                   y = RMS_post(a)
 *     logits  = RMS_f(h_L) lm_head^T        (lm_head = embed_tokens when tie_word_embeddings)
 *
 * RMS(x) = x / sqrt(mean(x^2) + rms_norm_eps) * w. Attention: causal, scale 1/sqrt(head_dim),
 * grouped-query (query head h reads kv head floor(h / (H / KV))), Mistral's sliding window when set.
 * Rotary embedding (Su et al. 2021), HF's half-split form: rope(x)_t = x_t cos(t f) + rotate_half(x_t)
 * sin(t f), f_j = rope_theta^(-2j/head_dim), with rope_scaling "linear" (f / factor) or "llama3"
 * (Llama 3.1's banded rescaling). Biases: q/k/v for Qwen2, all four attention projections with
 * `attention_bias`, the MLP with `mlp_bias`.
 *
 * Linear weights keep nn.Linear's layout [out, in] (y = x W^T + b); a replacement passed in
 * `linearWeights` is [in, out], as the quantizers produce. Tensor names: `llamaWeightShapes`; field
 * names: `llamaConfigFromJson`. Nothing here consumes the weights.
 */
import { array, floatDtype, jax, np, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";

/** Rotary scaling of config.json's `rope_scaling` (null = none). */
export type RopeScaling = null | { type: "linear"; factor: number } | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** Hyperparameters of a Llama-family config.json (see `llamaConfigFromJson` for the field names). */
export interface LlamaConfig {
  arch: "llama";
  /** config.json's model_type. */
  modelType: "llama" | "mistral" | "qwen2";
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  nLayer: number;
  nHead: number;
  nKvHead: number;
  headDim: number;
  maxPositions: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (Qwen2, or Llama's attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama's attention_bias). */
  oBias: boolean;
  /** Bias on the MLP projections (Llama's mlp_bias). */
  mlpBias: boolean;
  /** Mistral / Qwen2 sliding attention window (null = full causal attention). */
  slidingWindow: number | null;
}

export const isLlamaConfig = (c: unknown): c is LlamaConfig => typeof c === "object" && c !== null && (c as { arch?: unknown }).arch === "llama";

export const LLAMA_TYPES = ["llama", "mistral", "qwen2"] as const;

/** The seven linear layers of block i, in forward order (names without `.weight` / `.bias`). */
export const llamaLinearNames = (i: number): string[] => {
  const p = `model.layers.${i}.`;
  return ["q_proj", "k_proj", "v_proj", "o_proj"].map((n) => `${p}self_attn.${n}`).concat(["gate_proj", "up_proj", "down_proj"].map((n) => `${p}mlp.${n}`));
};

/** Every tensor name and its shape (linear weights [out, in]), in save order. */
export function llamaWeightShapes(c: LlamaConfig): [string, number[]][] {
  const D = c.hiddenSize;
  const q = c.nHead * c.headDim;
  const kv = c.nKvHead * c.headDim;
  const F = c.intermediateSize;
  const out: [string, number[]][] = [["model.embed_tokens.weight", [c.vocabSize, D]]];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `model.layers.${i}.`;
    const a = `${p}self_attn.`;
    out.push([`${p}input_layernorm.weight`, [D]]);
    out.push([`${a}q_proj.weight`, [q, D]]);
    if (c.qkvBias) out.push([`${a}q_proj.bias`, [q]]);
    out.push([`${a}k_proj.weight`, [kv, D]]);
    if (c.qkvBias) out.push([`${a}k_proj.bias`, [kv]]);
    out.push([`${a}v_proj.weight`, [kv, D]]);
    if (c.qkvBias) out.push([`${a}v_proj.bias`, [kv]]);
    out.push([`${a}o_proj.weight`, [D, q]]);
    if (c.oBias) out.push([`${a}o_proj.bias`, [D]]);
    out.push([`${p}post_attention_layernorm.weight`, [D]]);
    for (const [n, o, i2] of [["gate_proj", F, D], ["up_proj", F, D], ["down_proj", D, F]] as const) {
      out.push([`${p}mlp.${n}.weight`, [o, i2]]);
      if (c.mlpBias) out.push([`${p}mlp.${n}.bias`, [o]]);
    }
  }
  out.push(["model.norm.weight", [D]]);
  if (!c.tieWordEmbeddings) out.push(["lm_head.weight", [c.vocabSize, D]]);
  return out;
}

/** Check a Llama config's fields (one-line BilevelInputError naming the field). */
export function validateLlamaConfig(c: LlamaConfig, where = "config"): LlamaConfig {
  for (const k of ["vocabSize", "hiddenSize", "intermediateSize", "nLayer", "nHead", "nKvHead", "headDim", "maxPositions"] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] < 1) throw new BilevelInputError(`${where}: ${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  for (const k of ["rmsNormEps", "ropeTheta"] as const) {
    if (!(typeof c[k] === "number" && c[k] > 0 && Number.isFinite(c[k]))) throw new BilevelInputError(`${where}: ${k} must be a positive number, got ${JSON.stringify(c[k])}`);
  }
  if (c.nHead % c.nKvHead !== 0) throw new BilevelInputError(`${where}: num_attention_heads ${c.nHead} is not a multiple of num_key_value_heads ${c.nKvHead}`);
  if (c.headDim % 2 !== 0) throw new BilevelInputError(`${where}: head_dim ${c.headDim} must be even (rotary embedding)`);
  if (c.slidingWindow !== null && !(Number.isSafeInteger(c.slidingWindow) && c.slidingWindow >= 1)) throw new BilevelInputError(`${where}: sliding_window must be a positive integer or null, got ${JSON.stringify(c.slidingWindow)}`);
  return c;
}

/**
 * Config from a parsed config.json of model_type llama / mistral / qwen2: vocab_size, hidden_size,
 * intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads (default = heads),
 * head_dim (default hidden / heads), max_position_embeddings, rms_norm_eps (default 1e-6), rope_theta
 * (default 10000), rope_scaling, tie_word_embeddings (default false), attention_bias, mlp_bias,
 * sliding_window (Mistral; Qwen2 only with use_sliding_window).
 */
export function llamaConfigFromJson(j: Record<string, unknown>, where = "config.json"): LlamaConfig {
  const mt = j.model_type;
  if (!(LLAMA_TYPES as readonly unknown[]).includes(mt)) throw new BilevelInputError(`${where}: model_type must be one of ${LLAMA_TYPES.join(", ")}, got ${JSON.stringify(mt)}`);
  const modelType = mt as LlamaConfig["modelType"];
  const num = (k: string, dflt?: number): number => {
    const v = j[k] ?? dflt;
    if (typeof v !== "number") throw new BilevelInputError(`${where}: field ${k} missing or not a number`);
    return v;
  };
  const bool = (k: string, dflt: boolean): boolean => {
    const v = j[k] ?? dflt;
    if (typeof v !== "boolean") throw new BilevelInputError(`${where}: field ${k} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const nHead = num("num_attention_heads");
  const hiddenSize = num("hidden_size");
  const rs = j.rope_scaling;
  let ropeScaling: RopeScaling = null;
  if (rs !== undefined && rs !== null) {
    if (typeof rs !== "object" || Array.isArray(rs)) throw new BilevelInputError(`${where}: rope_scaling must be an object or null`);
    const r = rs as Record<string, unknown>;
    const type = r.rope_type ?? r.type;
    const f = (k: string): number => {
      const v = r[k];
      if (!(typeof v === "number" && v > 0)) throw new BilevelInputError(`${where}: rope_scaling.${k} must be a positive number, got ${JSON.stringify(v)}`);
      return v;
    };
    if (type === "default") ropeScaling = null;
    else if (type === "linear") ropeScaling = { type: "linear", factor: f("factor") };
    else if (type === "llama3") {
      ropeScaling = { type: "llama3", factor: f("factor"), lowFreqFactor: f("low_freq_factor"), highFreqFactor: f("high_freq_factor"), originalMaxPositions: f("original_max_position_embeddings") };
      if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) throw new BilevelInputError(`${where}: rope_scaling.high_freq_factor must exceed low_freq_factor`);
    } else throw new BilevelInputError(`${where}: rope_scaling type ${JSON.stringify(type)} is not supported (expected default, linear or llama3)`);
  }
  const attentionBias = bool("attention_bias", false);
  let slidingWindow: number | null = null;
  const sw = j.sliding_window;
  if (sw !== undefined && sw !== null && (modelType === "mistral" || (modelType === "qwen2" && j.use_sliding_window === true))) {
    if (typeof sw !== "number") throw new BilevelInputError(`${where}: field sliding_window must be a number or null`);
    slidingWindow = sw;
  }
  const hd = j.head_dim ?? (Number.isInteger(hiddenSize / nHead) ? hiddenSize / nHead : undefined);
  if (typeof hd !== "number") throw new BilevelInputError(`${where}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${nHead} and head_dim is not given`);
  const c: LlamaConfig = {
    arch: "llama",
    modelType,
    vocabSize: num("vocab_size"),
    hiddenSize,
    intermediateSize: num("intermediate_size"),
    nLayer: num("num_hidden_layers"),
    nHead,
    nKvHead: num("num_key_value_heads", nHead),
    headDim: hd,
    maxPositions: num("max_position_embeddings"),
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    ropeScaling,
    tieWordEmbeddings: bool("tie_word_embeddings", false),
    qkvBias: modelType === "qwen2" || attentionBias,
    oBias: modelType !== "qwen2" && attentionBias,
    mlpBias: modelType === "llama" && bool("mlp_bias", false),
    slidingWindow,
  };
  return validateLlamaConfig(c, where);
}

/** The config.json object of a Llama config (HF field names). */
export function llamaConfigToJson(c: LlamaConfig): Record<string, unknown> {
  const arch = { llama: "LlamaForCausalLM", mistral: "MistralForCausalLM", qwen2: "Qwen2ForCausalLM" }[c.modelType];
  const rs = c.ropeScaling;
  return {
    model_type: c.modelType,
    architectures: [arch],
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    num_key_value_heads: c.nKvHead,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling:
      rs === null
        ? null
        : rs.type === "linear"
          ? { rope_type: "linear", factor: rs.factor }
          : { rope_type: "llama3", factor: rs.factor, low_freq_factor: rs.lowFreqFactor, high_freq_factor: rs.highFreqFactor, original_max_position_embeddings: rs.originalMaxPositions },
    tie_word_embeddings: c.tieWordEmbeddings,
    hidden_act: "silu",
    ...(c.modelType === "llama" ? { attention_bias: c.qkvBias, mlp_bias: c.mlpBias } : {}),
    ...(c.modelType === "mistral" ? { sliding_window: c.slidingWindow } : {}),
    ...(c.modelType === "qwen2" ? { use_sliding_window: c.slidingWindow !== null, sliding_window: c.slidingWindow } : {}),
    torch_dtype: "float32",
  };
}

/** Rotary inverse frequencies f_j (j < head_dim / 2) after rope_scaling. */
export function ropeInvFreq(c: LlamaConfig): Float64Array {
  const half = c.headDim / 2;
  const f = new Float64Array(half);
  for (let j = 0; j < half; j++) f[j] = 1 / c.ropeTheta ** ((2 * j) / c.headDim);
  const rs = c.ropeScaling;
  if (rs?.type === "linear") for (let j = 0; j < half; j++) f[j] /= rs.factor;
  else if (rs?.type === "llama3") {
    const lowWl = rs.originalMaxPositions / rs.lowFreqFactor;
    const highWl = rs.originalMaxPositions / rs.highFreqFactor;
    for (let j = 0; j < half; j++) {
      const wl = (2 * Math.PI) / f[j];
      if (wl > lowWl) f[j] /= rs.factor;
      else if (wl >= highWl) {
        const s = (rs.originalMaxPositions / wl - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        f[j] = (1 - s) * (f[j] / rs.factor) + s * f[j];
      }
    }
  }
  return f;
}

const fdt = () => (floatDtype() === "float64" ? np.float64 : np.float32);

/** cos and sin tables [T, head_dim] (each frequency twice, HF's cat(freqs, freqs)). */
function ropeTables(c: LlamaConfig, T: number): [Arr, Arr] {
  const f = ropeInvFreq(c);
  const hd = c.headDim;
  const cos = new Float64Array(T * hd);
  const sin = new Float64Array(T * hd);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < hd; j++) {
      const a = t * f[j % (hd / 2)];
      cos[t * hd + j] = Math.cos(a);
      sin[t * hd + j] = Math.sin(a);
    }
  }
  return [array(cos, [T, hd]), array(sin, [T, hd])];
}

/** rotate_half as a matrix R [hd, hd]: x R = cat(-x[hd/2:], x[:hd/2]). */
function rotateHalfMatrix(hd: number): Arr {
  const m = new Float64Array(hd * hd);
  const h = hd / 2;
  for (let j = 0; j < h; j++) {
    m[(j + h) * hd + j] = -1; // out j = -x[j + h]
    m[j * hd + (j + h)] = 1; // out j + h = x[j]
  }
  return array(m, [hd, hd]);
}

/** Additive mask [T, T]: 0 where key j may be read by query i (j <= i, and i - j < window), else -1e9. */
function llamaMask(T: number, window: number | null): Arr {
  const m = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) if (j > i || (window !== null && i - j >= window)) m[i * T + j] = -1e9;
  return array(m, [T, T]);
}

/** RMSNorm over the last axis of x [N, D] (consumes x and g). */
function rmsNorm(x: Arr, g: Arr, eps: number): Arr {
  const ms = x.ref.mul(x.ref).mean(-1, { keepdims: true });
  return x.div(np.sqrt(ms.add(eps))).mul(g);
}

/** Options of the Llama trunk (the same meaning as model.ts's ForwardOptions). */
export interface LlamaForwardOptions {
  hidden?: boolean;
  captureLinearInputs?: boolean;
  linearWeights?: Record<string, Arr>;
  oneHotEmbedding?: boolean;
  skipBlocks?: Set<number>;
}

/**
 * The [B, T] of a token batch whose length fits the model's `limit` positions (`limitName` is its config
 * field, for the message); a bad batch is disposed and refused with a one-line BilevelInputError.
 */
export function checkTokens(tokens: Arr, limit: number, limitName: string): [number, number] {
  if (tokens.ndim !== 2) {
    const s = tokens.shape;
    tokens.dispose();
    throw new BilevelInputError(`tokens: expected shape [B, T], got [${s}]`);
  }
  const [B, T] = tokens.shape;
  if (T > limit) {
    tokens.dispose();
    throw new BilevelInputError(`tokens: sequence length ${T} exceeds ${limitName} ${limit}`);
  }
  return [B, T];
}

/**
 * What both trunks (GPT-2's and Llama's) start from: `W(name)`, a fresh reference to a weight (one-line
 * error when it is missing), and the capture lists the options ask for.
 */
export function trunkParts(w: Record<string, Arr>, opts: { hidden?: boolean; captureLinearInputs?: boolean }): { W: (name: string) => Arr; hidden?: Arr[]; inputs?: Record<string, Arr> } {
  const W = (name: string): Arr => {
    const a = w[name];
    if (!a) throw new BilevelInputError(`weights: missing tensor ${name}`);
    return a.ref;
  };
  return { W, hidden: opts.hidden ? [] : undefined, inputs: opts.captureLinearInputs ? {} : undefined };
}

/** Final normed hidden state [B*T, D] plus optional captures. Consumes tokens, not weights. */
export function llamaTrunk(c: LlamaConfig, w: Record<string, Arr>, tokens: Arr, opts: LlamaForwardOptions): { h: Arr; hidden?: Arr[]; linearInputs?: Record<string, Arr> } {
  const [B, T] = checkTokens(tokens, c.maxPositions, "max_position_embeddings");
  const D = c.hiddenSize;
  const H = c.nHead;
  const KV = c.nKvHead;
  const g = H / KV;
  const hd = c.headDim;
  const N = B * T;
  const { W, hidden, inputs } = trunkParts(w, opts);
  const linear = (x: Arr, name: string, bias: boolean): Arr => {
    if (inputs) inputs[name] = x.ref;
    const lw = opts.linearWeights?.[name];
    const y = lw ? np.matmul(x, lw.ref) : np.matmul(x, W(`${name}.weight`).transpose());
    return bias ? y.add(W(`${name}.bias`)) : y;
  };
  const emb = "model.embed_tokens.weight";
  let h = opts.oneHotEmbedding ? np.matmul(jax.nn.oneHot(tokens.reshape([N]), c.vocabSize).astype(fdt()), W(emb)) : np.take(W(emb), tokens.reshape([N]), 0); // [N, D]
  const [cos, sin] = ropeTables(c, T);
  const R = rotateHalfMatrix(hd);
  const mask = llamaMask(T, c.slidingWindow);
  const rope = (x: Arr): Arr => x.ref.mul(cos.ref).add(np.matmul(x, R.ref).mul(sin.ref)); // x [B, heads, T, hd]
  const scale = 1 / Math.sqrt(hd);
  for (let i = 0; i < c.nLayer; i++) {
    const p = `model.layers.${i}.`;
    const a = `${p}self_attn.`;
    if (hidden) hidden.push(h.ref.reshape([B, T, D]));
    if (opts.skipBlocks?.has(i)) continue;
    const x = rmsNorm(h.ref, W(`${p}input_layernorm.weight`), c.rmsNormEps);
    const q = rope(linear(x.ref, `${a}q_proj`, c.qkvBias).reshape([B, T, H, hd]).transpose([0, 2, 1, 3])); // [B, H, T, hd]
    const k = rope(linear(x.ref, `${a}k_proj`, c.qkvBias).reshape([B, T, KV, hd]).transpose([0, 2, 1, 3])); // [B, KV, T, hd]
    const v = linear(x, `${a}v_proj`, c.qkvBias).reshape([B, T, KV, hd]).transpose([0, 2, 1, 3]);
    // query heads of one kv group side by side: [B, KV, g*T, hd]
    const s = np.matmul(q.reshape([B, KV, g * T, hd]), k.transpose([0, 1, 3, 2])).mul(scale).reshape([B, KV, g, T, T]).add(mask.ref);
    const pr = jax.nn.softmax(s, -1).reshape([B, KV, g * T, T]);
    const att = np.matmul(pr, v).reshape([B, H, T, hd]).transpose([0, 2, 1, 3]).reshape([N, H * hd]);
    h = h.add(linear(att, `${a}o_proj`, c.oBias));
    const y = rmsNorm(h.ref, W(`${p}post_attention_layernorm.weight`), c.rmsNormEps);
    const m = jax.nn.silu(linear(y.ref, `${p}mlp.gate_proj`, c.mlpBias)).mul(linear(y, `${p}mlp.up_proj`, c.mlpBias));
    h = h.add(linear(m, `${p}mlp.down_proj`, c.mlpBias));
  }
  cos.dispose();
  sin.dispose();
  R.dispose();
  mask.dispose();
  if (hidden) hidden.push(h.ref.reshape([B, T, D]));
  return { h: rmsNorm(h, W("model.norm.weight"), c.rmsNormEps), hidden, linearInputs: inputs };
}

/** The output head [V, D] (a new reference; lm_head or the tied embedding). */
export function llamaHead(c: LlamaConfig, w: Record<string, Arr>): Arr {
  const name = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const a = w[name];
  if (!a) throw new BilevelInputError(`weights: missing tensor ${name}`);
  return a.ref;
}
