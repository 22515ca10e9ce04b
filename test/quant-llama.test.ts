/**
 * The Llama-family decoder (src/quant/llama.ts through model.ts) against a float64 plain-loop
 * reference written here from the Llama / Mistral / Qwen2 equations: RMSNorm, rotary positions (with
 * linear and llama3 scaling), grouped-query attention, sliding window, SwiGLU, q/k/v biases, tied and
 * untied heads. Tiny random folders written in BF16 across two shards; sharded equals unsharded; lazy
 * decoding; one-line errors for a missing shard, missing tensor, shape mismatch; the byte-level
 * tokenizer.json through @huggingface/tokenizers; `bilevel lm perplexity` against the reference.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setup } from "./helpers.js";
import { assertOneLineInputError, cli } from "./cli-helpers.js";
import { array, gaussian, mulberry32, np, toFloat64, type Arr } from "../src/engine/index.js";
import { configFromJson, configToJson, disposeWeights, forward, INDEX_FILE, loadModel, saveModel, sequenceNll, weightShapes, type ModelConfig } from "../src/quant/model.js";
import { llamaConfigFromJson, type LlamaConfig } from "../src/quant/llama.js";
import { loadTokenizer, writeByteTokenizer } from "../src/quant/tokenizer.js";
import { encodeBytes } from "../src/quant/text.js";

await setup("float64");

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-llama-"));

// Three configs from config.json objects as Hugging Face writes them.
const llamaJson = {
  model_type: "llama",
  architectures: ["LlamaForCausalLM"],
  vocab_size: 256,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 16,
  rms_norm_eps: 1e-5,
  rope_theta: 500,
  rope_scaling: { rope_type: "llama3", factor: 4, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 },
  tie_word_embeddings: false,
};
const qwenJson = {
  model_type: "qwen2",
  vocab_size: 13,
  hidden_size: 12,
  intermediate_size: 20,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  num_key_value_heads: 1,
  max_position_embeddings: 12,
  rms_norm_eps: 1e-6,
  rope_theta: 1000,
  rope_scaling: { type: "linear", factor: 2 },
  tie_word_embeddings: true,
};
const mistralJson = {
  model_type: "mistral",
  vocab_size: 9,
  hidden_size: 8,
  intermediate_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 12,
  rope_theta: 10000,
  sliding_window: 3,
};

/** Random weights exactly representable in BF16 (few significant bits), norms near 1. */
function bf16Weights(c: ModelConfig, seed: number): Record<string, Float64Array> {
  const rand = mulberry32(seed);
  const out: Record<string, Float64Array> = {};
  for (const [name, shape] of weightShapes(c)) {
    const n = shape.reduce((a, s) => a * s, 1);
    const g = gaussian(rand, n);
    const norm = /norm\.weight$/.test(name);
    for (let i = 0; i < n; i++) g[i] = (norm ? 1 : 0) + Math.round(g[i] * (norm ? 8 : 24)) / 64;
    out[name] = g;
  }
  return out;
}

// ---- float64 reference, plain loops -------------------------------------------------------------
type Mat = Float64Array;
/** y [n, out] = x [n, in] W^T + b, W [out, in] (nn.Linear). */
function linear(x: Mat, n: number, din: number, w: Mat, dout: number, b?: Mat): Mat {
  const y = new Float64Array(n * dout);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < dout; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < din; k++) s += x[i * din + k] * w[o * din + k];
      y[i * dout + o] = s;
    }
  return y;
}
function rms(x: Mat, n: number, d: number, g: Mat, eps: number): Mat {
  const y = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let k = 0; k < d; k++) ss += x[i * d + k] ** 2;
    const r = 1 / Math.sqrt(ss / d + eps);
    for (let k = 0; k < d; k++) y[i * d + k] = x[i * d + k] * r * g[k];
  }
  return y;
}
/** Inverse frequencies from config.json fields (HF's _compute_default / linear / llama3 rope parameters). */
function invFreq(j: Record<string, unknown>, hd: number): number[] {
  const theta = (j.rope_theta as number) ?? 10000;
  const f: number[] = [];
  for (let i = 0; i < hd; i += 2) f.push(1 / theta ** (i / hd));
  const rs = j.rope_scaling as Record<string, number | string> | undefined;
  if (!rs) return f;
  const type = rs.rope_type ?? rs.type;
  const factor = rs.factor as number;
  if (type === "linear") return f.map((v) => v / factor);
  const old = rs.original_max_position_embeddings as number;
  const lowWl = old / (rs.low_freq_factor as number);
  const highWl = old / (rs.high_freq_factor as number);
  return f.map((v) => {
    const wl = (2 * Math.PI) / v;
    const scaled = wl > lowWl ? v / factor : v;
    const smooth = (old / wl - (rs.low_freq_factor as number)) / ((rs.high_freq_factor as number) - (rs.low_freq_factor as number));
    const medium = !(wl < highWl) && !(wl > lowWl);
    return medium ? (1 - smooth) * (scaled / factor) + smooth * scaled : scaled;
  });
}

/** Logits [T, V] of one sequence. */
function reference(j: Record<string, unknown>, w: Record<string, Mat>, ids: number[]): Mat {
  const D = j.hidden_size as number;
  const H = j.num_attention_heads as number;
  const KV = (j.num_key_value_heads as number) ?? H;
  const hd = D / H;
  const F = j.intermediate_size as number;
  const V = j.vocab_size as number;
  const L = j.num_hidden_layers as number;
  const eps = (j.rms_norm_eps as number) ?? 1e-6;
  const qwen = j.model_type === "qwen2";
  const window = j.model_type === "mistral" ? (j.sliding_window as number) : Infinity;
  const T = ids.length;
  const f = invFreq(j, hd);
  const rope = (x: Mat, heads: number) => {
    // x [T, heads*hd]: out[t, h, i] = x cos + rotate_half(x) sin, frequencies repeated twice
    const y = new Float64Array(x.length);
    for (let t = 0; t < T; t++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < hd; i++) {
          const a = t * f[i % (hd / 2)];
          const o = t * heads * hd + h * hd;
          const rot = i < hd / 2 ? -x[o + i + hd / 2] : x[o + i - hd / 2];
          y[o + i] = x[o + i] * Math.cos(a) + rot * Math.sin(a);
        }
    return y;
  };
  let h = new Float64Array(T * D);
  for (let t = 0; t < T; t++) for (let k = 0; k < D; k++) h[t * D + k] = w["model.embed_tokens.weight"][ids[t] * D + k];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const x = rms(h, T, D, w[`${p}input_layernorm.weight`], eps);
    const b = (n: string) => (qwen ? w[`${p}self_attn.${n}.bias`] : undefined);
    const q = rope(linear(x, T, D, w[`${p}self_attn.q_proj.weight`], H * hd, b("q_proj")), H);
    const k = rope(linear(x, T, D, w[`${p}self_attn.k_proj.weight`], KV * hd, b("k_proj")), KV);
    const v = linear(x, T, D, w[`${p}self_attn.v_proj.weight`], KV * hd, b("v_proj"));
    const att = new Float64Array(T * H * hd);
    for (let hh = 0; hh < H; hh++) {
      const kvh = Math.floor(hh / (H / KV));
      for (let t = 0; t < T; t++) {
        const s: number[] = [];
        for (let u = 0; u <= t; u++) {
          if (t - u >= window) {
            s.push(-Infinity);
            continue;
          }
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[t * H * hd + hh * hd + i] * k[u * KV * hd + kvh * hd + i];
          s.push(d / Math.sqrt(hd));
        }
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const z = e.reduce((a, c) => a + c, 0);
        for (let u = 0; u <= t; u++) for (let i = 0; i < hd; i++) att[t * H * hd + hh * hd + i] += (e[u] / z) * v[u * KV * hd + kvh * hd + i];
      }
    }
    const o = linear(att, T, H * hd, w[`${p}self_attn.o_proj.weight`], D);
    for (let i = 0; i < h.length; i++) h[i] += o[i];
    const y = rms(h, T, D, w[`${p}post_attention_layernorm.weight`], eps);
    const g = linear(y, T, D, w[`${p}mlp.gate_proj.weight`], F);
    const up = linear(y, T, D, w[`${p}mlp.up_proj.weight`], F);
    const m = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]);
    const dn = linear(m, T, F, w[`${p}mlp.down_proj.weight`], D);
    for (let i = 0; i < h.length; i++) h[i] += dn[i];
  }
  const hf = rms(h, T, D, w["model.norm.weight"], eps);
  return linear(hf, T, D, j.tie_word_embeddings ? w["model.embed_tokens.weight"] : w["lm_head.weight"], V);
}

/** Mean next-token NLL of the reference over non-overlapping windows of ctx tokens. */
function referenceNll(j: Record<string, unknown>, w: Record<string, Mat>, ids: number[], ctx: number): { nll: number; tokens: number } {
  const V = j.vocab_size as number;
  let tot = 0;
  let n = 0;
  for (let s = 0; s + 1 < ids.length; s += ctx) {
    const win = ids.slice(s, s + ctx);
    if (win.length < 2) break;
    const lg = reference(j, w, win);
    for (let t = 0; t + 1 < win.length; t++) {
      const row = Array.from(lg.subarray(t * V, (t + 1) * V));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, z) => a + Math.exp(z - m), 0));
      tot += lse - row[win[t + 1]];
      n++;
    }
  }
  return { nll: tot / n, tokens: n };
}

const engineWeights = (c: ModelConfig, h: Record<string, Float64Array>) => Object.fromEntries(weightShapes(c).map(([n, s]) => [n, array(h[n], s)])) as Record<string, Arr>;

/** Write a folder: BF16 in two shards (sharded) or one F32 file. */
async function writeFolder(j: Record<string, unknown>, seed: number, sharded: boolean): Promise<{ dir: string; config: ModelConfig; host: Record<string, Float64Array> }> {
  const config = configFromJson(j);
  const host = bf16Weights(config, seed);
  const w = engineWeights(config, host);
  const total = weightShapes(config).reduce((s, [, sh]) => s + 2 * sh.reduce((a, b) => a * b, 1), 0);
  const dir = tmp();
  await saveModel(dir, config, w, sharded ? { dtype: "BF16", maxShardBytes: Math.ceil(total * 0.6) } : {});
  disposeWeights(w);
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(j, null, 2)); // the config exactly as given
  return { dir, config, host };
}

for (const [name, j, ids] of [
  ["llama (GQA 4/2, llama3 rope scaling, untied head)", llamaJson, [72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 33]],
  ["qwen2 (q/k/v biases, 3 heads / 1 kv head, linear rope scaling, tied head)", qwenJson, [1, 5, 12, 0, 7, 7, 3, 9, 2, 11]],
  ["mistral (sliding window 3)", mistralJson, [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 2]],
] as [string, Record<string, unknown>, number[]][]) {
  test(`${name}: BF16 in two shards, logits equal the float64 reference; sharded equals unsharded`, async () => {
    const sh = await writeFolder(j, 3, true);
    const files = fs.readdirSync(sh.dir).sort();
    assert.deepEqual(files.filter((f) => f.endsWith(".safetensors")), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    assert.ok(files.includes(INDEX_FILE));
    const { config, weights } = loadModel(sh.dir);
    // stays as stored until used: no tensor decoded yet
    const first = weightShapes(config)[0][0];
    assert.equal(typeof Object.getOwnPropertyDescriptor(weights, first)!.get, "function");
    const T = ids.length;
    const out = forward(config, weights, np.array(new Int32Array(ids), { dtype: np.int32 }).reshape([1, T]));
    const got = await toFloat64(out.logits);
    assert.ok("value" in Object.getOwnPropertyDescriptor(weights, first)!);
    const ref = reference(j, sh.host, ids);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < ref.length; i++) {
      err = Math.max(err, Math.abs(got[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    assert.ok(scale > 0.5, `logits of size ${scale}`);
    assert.ok(err <= 1e-9 * scale, `max |logit - reference| ${err} (scale ${scale})`);

    const un = await writeFolder(j, 3, false);
    assert.ok(fs.existsSync(path.join(un.dir, "model.safetensors")));
    const u = loadModel(un.dir);
    const o2 = forward(u.config, u.weights, np.array(new Int32Array(ids), { dtype: np.int32 }).reshape([1, T]));
    assert.deepEqual(Array.from(await toFloat64(o2.logits)), Array.from(got));
    disposeWeights(weights);
    disposeWeights(u.weights);
  });
}

test("sequenceNll: windows of ctx tokens (last one shorter) match the reference", async () => {
  const { dir, host } = await writeFolder(qwenJson, 5, true);
  const { config, weights } = loadModel(dir);
  const ids = [1, 5, 12, 0, 7, 7, 3, 9, 2, 11, 4, 4, 8];
  for (const ctx of [5, 12]) {
    const r = await sequenceNll(config, weights, ids, { ctx });
    const ref = referenceNll(qwenJson, host, ids, ctx);
    assert.equal(r.tokens, ref.tokens);
    assert.ok(Math.abs(r.nll - ref.nll) <= 1e-9 * ref.nll, `ctx ${ctx}: ${r.nll} vs ${ref.nll}`);
  }
  // default ctx = the whole sequence when it fits the context (12), else the context
  const d = await sequenceNll(config, weights, ids.slice(0, 10));
  assert.equal(d.ctx, 10);
  assert.equal((await sequenceNll(config, weights, ids)).ctx, 12);
  disposeWeights(weights);
});

test("loading errors are one line naming the file and tensor: missing shard, missing tensor, shape mismatch, bad config", async () => {
  const { dir } = await writeFolder(llamaJson, 1, true);
  const oneLine = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: Error) => {
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"), e.message);
      return e.name === "BilevelInputError";
    });
  // shape mismatch: config says a wider MLP than stored
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...llamaJson, intermediate_size: 32 }));
  oneLine(() => loadModel(dir), /model-0000\d-of-00002\.safetensors: tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[24,16\], config\.json needs \[32,16\]/);
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(llamaJson));
  // missing tensor: not in the index
  const idx = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), "utf8"));
  const saved = JSON.stringify(idx);
  delete idx.weight_map["model.layers.1.mlp.up_proj.weight"];
  fs.writeFileSync(path.join(dir, INDEX_FILE), JSON.stringify(idx));
  oneLine(() => loadModel(dir), /model\.safetensors\.index\.json: missing tensor model\.layers\.1\.mlp\.up_proj\.weight/);
  fs.writeFileSync(path.join(dir, INDEX_FILE), saved);
  // missing shard
  fs.renameSync(path.join(dir, "model-00002-of-00002.safetensors"), path.join(dir, "moved"));
  oneLine(() => loadModel(dir), /model-00002-of-00002\.safetensors: missing shard \(model\.safetensors\.index\.json puts tensor .* there\)/);
  // a NaN in a BF16 shard is found on the raw bytes at load
  {
    const c = configFromJson(qwenJson);
    const h = bf16Weights(c, 2);
    h["model.layers.1.mlp.up_proj.weight"][7] = NaN;
    const w = engineWeights(c, h);
    const nanDir = tmp();
    await saveModel(nanDir, c, w, { dtype: "BF16", maxShardBytes: 4096 });
    disposeWeights(w);
    oneLine(() => loadModel(nanDir), /model-000\d\d-of-000\d\d\.safetensors: tensor model\.layers\.1\.mlp\.up_proj\.weight has a non-finite value \(NaN\) at element 7/);
  }
  // bad config fields
  oneLine(() => llamaConfigFromJson({ ...llamaJson, num_key_value_heads: 3 }), /num_attention_heads 4 is not a multiple of num_key_value_heads 3/);
  oneLine(() => llamaConfigFromJson({ ...llamaJson, rope_scaling: { rope_type: "yarn", factor: 2 } }), /rope_scaling type "yarn" is not supported/);
  oneLine(() => llamaConfigFromJson({ ...llamaJson, hidden_size: "16" }), /field hidden_size missing or not a number/);
  oneLine(() => configFromJson({ model_type: "falcon" }), /model_type must be one of gpt2, llama, mistral, qwen2/);
});

test("config.json round trip keeps every field the decoder reads", () => {
  for (const j of [llamaJson, qwenJson, mistralJson]) {
    const c = llamaConfigFromJson(j);
    assert.deepEqual(llamaConfigFromJson(configToJson(c)), c);
  }
  const c = llamaConfigFromJson(qwenJson) as LlamaConfig;
  assert.equal(c.qkvBias, true);
  assert.equal(c.oBias, false);
  assert.equal(c.slidingWindow, null); // qwen2 without use_sliding_window
});

test("byte-level tokenizer.json through @huggingface/tokenizers gives the UTF-8 bytes", () => {
  const dir = tmp();
  writeByteTokenizer(dir);
  const t = loadTokenizer(dir, 256);
  assert.equal(t.kind, "tokenizer.json");
  const s = "A film — <br />\n\n  très bien, 映画! 🎬";
  assert.deepEqual(t.encode(s), Array.from(encodeBytes(s)));
  assert.equal(loadTokenizer(tmp(), 256).kind, "bytes");
  assert.throws(() => loadTokenizer(tmp(), 1000), /no tokenizer\.json/);
});

test("bilevel lm perplexity: matches the float64 reference to 1e-3 (--ids and --text); hostile input: one line, exit 2", async () => {
  const { dir, host } = await writeFolder(llamaJson, 7, true);
  writeByteTokenizer(dir);
  const text = "The plot was thin, the acting great.";
  const ids = Array.from(encodeBytes(text));
  const idsFile = path.join(dir, "ids.json");
  fs.writeFileSync(idsFile, JSON.stringify(ids));
  const textFile = path.join(dir, "text.txt");
  fs.writeFileSync(textFile, text);
  const ref = referenceNll(llamaJson, host, ids, 16);
  const refPpl = Math.exp(ref.nll);
  for (const src of [["--ids", idsFile], ["--text", textFile]]) {
    const out = path.join(dir, `ppl${src[0]}.json`);
    const r = await cli(["lm", "perplexity", "--model", dir, ...src, "--json", out]);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.equal(rec.tokens, ref.tokens);
    assert.ok(Math.abs(rec.perplexity / refPpl - 1) < 1e-3, `${rec.perplexity} vs ${refPpl}`);
    assert.ok(Math.abs(rec.nll - ref.nll) / ref.nll < 1e-3);
    assert.deepEqual(Object.keys(rec).slice(0, 4), ["model", "tokens", "nll", "perplexity"]);
  }
  const bad = path.join(dir, "bad.json");
  fs.writeFileSync(bad, JSON.stringify([1, 2, 256]));
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", bad], /--ids .*element 2 \(256\) is not a token id from 0 to 255/);
  fs.writeFileSync(bad, "{\"ids\": [1]}");
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", bad], /--ids .*expected a JSON array/);
  fs.writeFileSync(bad, "[1, 2");
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", bad], /--ids .*cannot read as JSON/);
  await assertOneLineInputError(["lm", "perplexity", "--model", dir], /give exactly one of --text FILE and --ids FILE\.json/);
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", idsFile, "--text", textFile], /give exactly one/);
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", idsFile, "--ctx", "17"], /--ctx: 17 exceeds the model's context/);
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", idsFile, "--ctx", "1"], /--ctx/);
  await assertOneLineInputError(["lm", "perplexity", "--model", path.join(dir, "nope"), "--ids", idsFile], /--model .*not a directory/);
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--text", path.join(dir, "none.txt")], /--text .*cannot read \(ENOENT\)/);
  fs.writeFileSync(bad, "[5]");
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", bad], /1 token\(s\), need at least 2/);
  await assertOneLineInputError(["lm", "perplexity", "--model", dir, "--ids", idsFile, "--json", "/proc/nope/out.json"], /--json/);
});
