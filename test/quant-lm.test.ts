/**
 * The GPT-2-layout transformer (src/quant/model.ts) against an independent float64 host implementation
 * (plain loops, written here from the GPT-2 equations), causal masking, the training loss and its
 * gradient (finite differences), safetensors I/O (byte-exact round trips, F16/BF16 decoding, bad files)
 * and the text split.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setup } from "./helpers.js";
import { assertOneLineInputError, cli } from "./cli-helpers.js";
import { array, gaussian, jax, mulberry32, np, toFloat64, toNumber, type Arr } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import {
  configToJson,
  disposeWeights,
  forward,
  linearNames,
  loadModel,
  nll,
  perplexity,
  saveModel,
  weightShapes,
  type GPT2Config,
  type GPT2Weights,
} from "../src/quant/model.js";
import { f32Tensor, parseSafetensors, serializeSafetensors, tensorToFloat64, type SafeTensor } from "../src/quant/safetensors.js";
import { corpusSplit, decodeBytes, encodeBytes, heldOutTokens, trainTokens, unigramLoss } from "../src/quant/text.js";

await setup();

const cfg: GPT2Config = { vocabSize: 11, nPositions: 9, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 };

/** Random host weights with O(1) entries (so every part of the network matters). */
function hostWeights(c: GPT2Config, seed: number): Record<string, Float64Array> {
  const rand = mulberry32(seed);
  const out: Record<string, Float64Array> = {};
  for (const [name, shape] of weightShapes(c)) {
    const n = shape.reduce((a, s) => a * s, 1);
    const g = gaussian(rand, n);
    const scale = shape.length === 2 ? 0.4 : 0.2;
    for (let i = 0; i < n; i++) g[i] = (/ln_\d\.weight|ln_f\.weight/.test(name) ? 1 : 0) + scale * g[i];
    out[name] = g;
  }
  return out;
}
const toEngine = (c: GPT2Config, h: Record<string, Float64Array>): GPT2Weights =>
  Object.fromEntries(weightShapes(c).map(([name, shape]) => [name, array(h[name], shape)]));

// ---- independent float64 reference -------------------------------------------------------------
type Mat = Float64Array; // row-major
function matmul(x: Mat, n: number, k: number, w: Mat, m: number, b?: Mat): Mat {
  const y = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = b ? b[j] : 0;
      for (let t = 0; t < k; t++) s += x[i * k + t] * w[t * m + j];
      y[i * m + j] = s;
    }
  return y;
}
function ln(x: Mat, n: number, d: number, g: Mat, b: Mat, eps: number): Mat {
  const y = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let mu = 0;
    for (let j = 0; j < d; j++) mu += x[i * d + j];
    mu /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[i * d + j] - mu) ** 2;
    v /= d;
    for (let j = 0; j < d; j++) y[i * d + j] = ((x[i * d + j] - mu) / Math.sqrt(v + eps)) * g[j] + b[j];
  }
  return y;
}
/** Reference forward of one sequence: logits [T, V], hidden states, linear inputs. */
function refForward(c: GPT2Config, w: Record<string, Float64Array>, toks: number[]) {
  const T = toks.length;
  const d = c.nEmbd;
  const H = c.nHead;
  const hd = d / H;
  let h = new Float64Array(T * d);
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) h[t * d + j] = w["wte.weight"][toks[t] * d + j] + w["wpe.weight"][t * d + j];
  const hidden: Float64Array[] = [];
  const inputs: Record<string, Float64Array> = {};
  for (let l = 0; l < c.nLayer; l++) {
    const p = `h.${l}.`;
    hidden.push(h.slice());
    const x = ln(h, T, d, w[`${p}ln_1.weight`], w[`${p}ln_1.bias`], c.layerNormEpsilon);
    inputs[`${p}attn.c_attn`] = x;
    const qkv = matmul(x, T, d, w[`${p}attn.c_attn.weight`], 3 * d, w[`${p}attn.c_attn.bias`]);
    const y = new Float64Array(T * d);
    for (let a = 0; a < H; a++) {
      for (let i = 0; i < T; i++) {
        const sc: number[] = [];
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let e = 0; e < hd; e++) s += qkv[i * 3 * d + a * hd + e] * qkv[j * 3 * d + d + a * hd + e];
          sc.push(s / Math.sqrt(hd));
        }
        const mx = Math.max(...sc);
        const ex = sc.map((s) => Math.exp(s - mx));
        const z = ex.reduce((u, v) => u + v, 0);
        for (let e = 0; e < hd; e++) {
          let s = 0;
          for (let j = 0; j <= i; j++) s += (ex[j] / z) * qkv[j * 3 * d + 2 * d + a * hd + e];
          y[i * d + a * hd + e] = s;
        }
      }
    }
    inputs[`${p}attn.c_proj`] = y;
    const o = matmul(y, T, d, w[`${p}attn.c_proj.weight`], d, w[`${p}attn.c_proj.bias`]);
    h = h.map((v, i) => v + o[i]);
    const x2 = ln(h, T, d, w[`${p}ln_2.weight`], w[`${p}ln_2.bias`], c.layerNormEpsilon);
    inputs[`${p}mlp.c_fc`] = x2;
    const f = matmul(x2, T, d, w[`${p}mlp.c_fc.weight`], 4 * d, w[`${p}mlp.c_fc.bias`]).map(
      (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    );
    inputs[`${p}mlp.c_proj`] = f;
    const o2 = matmul(f, T, 4 * d, w[`${p}mlp.c_proj.weight`], d, w[`${p}mlp.c_proj.bias`]);
    h = h.map((v, i) => v + o2[i]);
  }
  hidden.push(h.slice());
  const hf = ln(h, T, d, w["ln_f.weight"], w["ln_f.bias"], c.layerNormEpsilon);
  const V = c.vocabSize;
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++)
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += hf[t * d + j] * w["wte.weight"][v * d + j];
      logits[t * V + v] = s;
    }
  return { logits, hidden, inputs };
}
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const tokArr = (rows: number[][]): Arr => np.array(Int32Array.from(rows.flat()), { dtype: np.int32 }).reshape([rows.length, rows[0].length]);

const seqs = [
  [3, 1, 4, 1, 5, 9, 2],
  [10, 0, 7, 7, 2, 8, 6],
];

test("forward matches a float64 host reference (logits, hidden states, linear inputs)", async () => {
  const hw = hostWeights(cfg, 1);
  const w = toEngine(cfg, hw);
  const out = forward(cfg, w, tokArr(seqs), { hidden: true, captureLinearInputs: true });
  assert.deepEqual(out.logits.shape, [2, 7, 11]);
  const logits = await toFloat64(out.logits);
  const hidden = [];
  for (const a of out.hidden!) hidden.push(await toFloat64(a));
  assert.equal(hidden.length, cfg.nLayer + 1);
  const li: Record<string, Float64Array> = {};
  for (const [k, a] of Object.entries(out.linearInputs!)) {
    assert.deepEqual(a.shape, [14, k.endsWith("mlp.c_proj") ? 64 : 16], k);
    li[k] = await toFloat64(a);
  }
  assert.deepEqual(Object.keys(li).sort(), [0, 1].flatMap((i) => linearNames(i)).sort());
  let logitScale = 0;
  for (let b = 0; b < 2; b++) {
    const ref = refForward(cfg, hw, seqs[b]);
    const V = cfg.vocabSize;
    const d = cfg.nEmbd;
    logitScale = Math.max(logitScale, ...ref.logits.map(Math.abs));
    assert.ok(maxAbs(logits.subarray(b * 7 * V, (b + 1) * 7 * V), ref.logits) < 1e-4, `logits of sequence ${b}`);
    for (let l = 0; l <= cfg.nLayer; l++) assert.ok(maxAbs(hidden[l].subarray(b * 7 * d, (b + 1) * 7 * d), ref.hidden[l]) < 1e-4, `hidden ${l}`);
    for (const [k, v] of Object.entries(ref.inputs)) {
      const w = v.length / 7;
      assert.ok(maxAbs(li[k].subarray(b * 7 * w, (b + 1) * 7 * w), v) < 1e-4, `linear input ${k}`);
    }
  }
  assert.ok(logitScale > 1, `the test model's logits are not trivial (max |logit| ${logitScale})`);
  // The weights were not consumed: a second forward works and gives the same logits.
  const again = await toFloat64(forward(cfg, w, tokArr(seqs)).logits);
  assert.equal(maxAbs(again, logits), 0);
  disposeWeights(w);
});

test("causal masking: changing a later token leaves earlier logits unchanged", async () => {
  const w = toEngine(cfg, hostWeights(cfg, 2));
  const a = await toFloat64(forward(cfg, w, tokArr([seqs[0]])).logits);
  const changed = seqs[0].slice();
  changed[4] = (changed[4] + 3) % 11;
  const b = await toFloat64(forward(cfg, w, tokArr([changed])).logits);
  const V = cfg.vocabSize;
  assert.ok(maxAbs(a.subarray(0, 4 * V), b.subarray(0, 4 * V)) < 1e-12, "positions 0..3");
  assert.ok(maxAbs(a.subarray(4 * V), b.subarray(4 * V)) > 1e-3, "positions 4.. do change");
  disposeWeights(w);
});

test("nll = mean -log softmax of the reference; perplexity = exp(nll); jitted gradient matches finite differences", async () => {
  const hw = hostWeights(cfg, 3);
  const w = toEngine(cfg, hw);
  const stream = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2];
  // two windows of ctx 8 (inputs stream[s..s+8), targets stream[s+1..s+9))
  const refLoss = (hv: Record<string, Float64Array>): number => {
    let sum = 0;
    for (const s of [0, 8]) {
      const { logits } = refForward(cfg, hv, stream.slice(s, s + 8));
      for (let t = 0; t < 8; t++) {
        const row = Array.from(logits.subarray(t * 11, t * 11 + 11));
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((u, v) => u + Math.exp(v - mx), 0));
        sum += lse - row[stream[s + t + 1]];
      }
    }
    return sum / 16;
  };
  const refNll = refLoss(hw);
  const inp = tokArr([stream.slice(0, 8), stream.slice(8, 16)]);
  const tgt = tokArr([stream.slice(1, 9), stream.slice(9, 17)]);
  const got = await toNumber(nll(cfg, w, inp.ref, tgt.ref));
  assert.ok(Math.abs(got - refNll) < 1e-5, `nll ${got} vs reference ${refNll}`);
  const ppl = await perplexity(cfg, w, stream, { ctx: 8, batch: 1 });
  assert.ok(Math.abs(Math.log(ppl) - refNll) < 1e-5, `log perplexity ${Math.log(ppl)} vs ${refNll}`);

  // Gradient under jit with the one-hot embedding (the training path) vs central differences of the
  // float64 host reference (exact Math.exp/log, so h = 1e-5 leaves ~1e-10 FD error).
  const g = jax.jit((ws: GPT2Weights, x: Arr, y: Arr) => jax.grad((v: GPT2Weights) => nll(cfg, v, x, y, { oneHotEmbedding: true }))(ws));
  const grads = g(jax.tree.ref(w), inp.ref, tgt.ref) as unknown as GPT2Weights;
  const h = 1e-5;
  for (const [name, idx] of [["wte.weight", 3 * 16 + 5], ["wpe.weight", 2 * 16 + 1], ["h.1.attn.c_attn.weight", 7 * 48 + 20], ["h.0.mlp.c_proj.weight", 33 * 16 + 2], ["ln_f.bias", 4]] as [string, number][]) {
    const gv = (await toFloat64(grads[name].ref))[idx];
    const lossAt = (delta: number) => {
      const hv = { ...hw, [name]: hw[name].slice() };
      hv[name][idx] += delta;
      return refLoss(hv);
    };
    const fd = (lossAt(h) - lossAt(-h)) / (2 * h);
    assert.ok(Math.abs(fd) > 1e-3, `${name}[${idx}]: a coordinate that matters (FD ${fd})`);
    assert.ok(Math.abs(gv - fd) < 1e-6 + 1e-5 * Math.abs(fd), `${name}[${idx}]: grad ${gv} vs FD ${fd}`);
  }
  disposeWeights(grads);
  g.dispose();
  inp.dispose();
  tgt.dispose();
  disposeWeights(w);
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-quant-"));

test("saveModel -> loadModel -> saveModel is byte-exact; a HF-style file (transformer. prefix, extra buffers) loads unchanged", async () => {
  const dir1 = tmp();
  const dir2 = tmp();
  const hw = hostWeights(cfg, 4);
  const w = toEngine(cfg, hw);
  await saveModel(dir1, cfg, w);
  const { config, weights } = loadModel(dir1);
  assert.deepEqual(config, cfg);
  await saveModel(dir2, config, weights);
  const a = fs.readFileSync(path.join(dir1, "model.safetensors"));
  const b = fs.readFileSync(path.join(dir2, "model.safetensors"));
  assert.equal(Buffer.compare(a, b), 0, "model.safetensors bytes");
  assert.equal(fs.readFileSync(path.join(dir1, "config.json"), "utf8"), fs.readFileSync(path.join(dir2, "config.json"), "utf8"));
  const header = JSON.parse(a.subarray(8, 8 + Number(a.readBigUInt64LE(0))).toString("utf8"));
  assert.deepEqual(header.__metadata__, { format: "pt" });
  assert.deepEqual(header["h.1.mlp.c_fc.weight"].shape, [16, 64]);
  assert.equal((8 + Number(a.readBigUInt64LE(0))) % 8, 0, "data section 8-byte aligned");

  // HF GPT2LMHeadModel style: transformer.-prefixed names, sorted, plus lm_head and attention buffers, F16 is not used here.
  const st = parseSafetensors(a);
  const hf = new Map<string, SafeTensor>();
  for (const [k, t] of [...st.tensors].sort(([x], [y]) => (x < y ? -1 : 1))) hf.set(`transformer.${k}`, t);
  hf.set("transformer.h.0.attn.bias", f32Tensor(new Float32Array(81).fill(1), [1, 1, 9, 9]));
  hf.set("lm_head.weight", st.tensors.get("wte.weight")!);
  const dir3 = tmp();
  fs.writeFileSync(path.join(dir3, "model.safetensors"), serializeSafetensors({ metadata: { format: "pt" }, tensors: hf }));
  fs.writeFileSync(path.join(dir3, "config.json"), JSON.stringify({ ...configToJson(cfg), architectures: ["GPT2LMHeadModel"], extra_field: 1 }));
  const m3 = loadModel(dir3);
  const l1 = await toFloat64(forward(cfg, weights, tokArr(seqs)).logits);
  const l3 = await toFloat64(forward(m3.config, m3.weights, tokArr(seqs)).logits);
  assert.equal(maxAbs(l1, l3), 0);
  for (const x of [w, weights, m3.weights]) disposeWeights(x);
});

test("safetensors: read-then-write is byte-exact for any header order and dtype; F16/BF16/F64 decode exactly", () => {
  const u16 = (vals: number[]) => {
    const b = new Uint8Array(2 * vals.length);
    vals.forEach((v, i) => new DataView(b.buffer).setUint16(2 * i, v, true));
    return b;
  };
  const f64 = new Uint8Array(16);
  new DataView(f64.buffer).setFloat64(0, Math.PI, true);
  new DataView(f64.buffer).setFloat64(8, -1e-300, true);
  const tensors = new Map<string, SafeTensor>([
    ["zeta", { dtype: "F16", shape: [2, 3], bytes: u16([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000]) }],
    ["alpha", { dtype: "BF16", shape: [3], bytes: u16([0x3f80, 0xc040, 0x4049]) }],
    ["mid", { dtype: "F64", shape: [2], bytes: f64 }],
    ["ints", { dtype: "I32", shape: [1, 1], bytes: new Uint8Array([0xff, 0xff, 0xff, 0xff]) }],
    ["empty", { dtype: "F32", shape: [0, 4], bytes: new Uint8Array(0) }],
  ]);
  const bytes = serializeSafetensors({ metadata: { note: "x", format: "pt" }, tensors, metadataIndex: 2 });
  const parsed = parseSafetensors(bytes);
  assert.deepEqual([...parsed.tensors.keys()], ["zeta", "alpha", "mid", "ints", "empty"]);
  assert.deepEqual(parsed.metadata, { note: "x", format: "pt" });
  const again = serializeSafetensors(parsed);
  assert.equal(Buffer.compare(Buffer.from(bytes), Buffer.from(again)), 0);
  const head = Buffer.from(bytes.subarray(8, 8 + Number(Buffer.from(bytes).readBigUInt64LE(0)))).toString();
  assert.ok(head.indexOf('"__metadata__"') > head.indexOf('"alpha"') && head.indexOf('"__metadata__"') < head.indexOf('"mid"'), head);
  assert.deepEqual(Array.from(tensorToFloat64(parsed.tensors.get("zeta")!)), [1, -2, 0.5, 65504, 2 ** -24, -0]);
  assert.deepEqual(Array.from(tensorToFloat64(parsed.tensors.get("alpha")!)), [1, -3, 3.140625]);
  assert.deepEqual(Array.from(tensorToFloat64(parsed.tensors.get("mid")!)), [Math.PI, -1e-300]);
  assert.deepEqual(Array.from(tensorToFloat64(parsed.tensors.get("ints")!)), [-1]);
  // A file without metadata stays without it.
  const plain = serializeSafetensors({ metadata: null, tensors: new Map([["a", f32Tensor([1, 2], [2])]]) });
  assert.equal(parseSafetensors(plain).metadata, null);
  assert.equal(Buffer.compare(Buffer.from(plain), Buffer.from(serializeSafetensors(parseSafetensors(plain)))), 0);
});

test("bad model files give one-line BilevelInputErrors naming the tensor or field", async () => {
  const dir = tmp();
  const w = toEngine(cfg, hostWeights(cfg, 5));
  await saveModel(dir, cfg, w);
  disposeWeights(w);
  const st = path.join(dir, "model.safetensors");
  const good = fs.readFileSync(st);
  const expectErr = (re: RegExp, what: string) => {
    assert.throws(
      () => {
        const m = loadModel(dir);
        disposeWeights(m.weights);
      },
      (e: unknown) => e instanceof BilevelInputError && re.test(e.message) && !e.message.includes("\n"),
      what,
    );
  };
  // truncated data (last tensor cut short)
  fs.writeFileSync(st, good.subarray(0, good.length - 10));
  expectErr(/truncated: tensor 'ln_f\.bias'/, "truncated data");
  // truncated inside the header
  fs.writeFileSync(st, good.subarray(0, 20));
  expectErr(/truncated/, "truncated header");
  fs.writeFileSync(st, good.subarray(0, 5));
  expectErr(/truncated/, "shorter than 8 bytes");
  // bad header JSON
  const bad = Buffer.from(good);
  bad[8] = "[".charCodeAt(0);
  bad[9] = "?".charCodeAt(0);
  fs.writeFileSync(st, bad);
  expectErr(/bad header/, "bad header");
  // missing tensor, shape mismatch, bad dtype
  const parsed = parseSafetensors(good);
  const missing = new Map(parsed.tensors);
  missing.delete("h.1.mlp.c_fc.bias");
  fs.writeFileSync(st, serializeSafetensors({ ...parsed, tensors: missing }));
  expectErr(/missing tensor h\.1\.mlp\.c_fc\.bias/, "missing tensor");
  const wrong = new Map(parsed.tensors);
  wrong.set("h.0.attn.c_attn.weight", f32Tensor(new Float32Array(48 * 16), [48, 16]));
  fs.writeFileSync(st, serializeSafetensors({ ...parsed, tensors: wrong }));
  expectErr(/tensor h\.0\.attn\.c_attn\.weight has shape \[48,16\], config\.json needs \[16,48\]/, "shape mismatch");
  // a config that disagrees with the file: n_embd 8 -> every shape differs; first one named
  fs.writeFileSync(st, good);
  const cj = path.join(dir, "config.json");
  const cfgText = fs.readFileSync(cj, "utf8");
  fs.writeFileSync(cj, JSON.stringify({ ...JSON.parse(cfgText), n_embd: 8 }));
  expectErr(/tensor wte\.weight has shape \[11,16\], config\.json needs \[11,8\]/, "config/shape mismatch");
  const noLayers = JSON.parse(cfgText);
  delete noLayers.n_layer;
  fs.writeFileSync(cj, JSON.stringify(noLayers));
  expectErr(/config\.json: field n_layer missing/, "config field");
  fs.writeFileSync(cj, JSON.stringify({ ...JSON.parse(cfgText), n_head: 3 }));
  expectErr(/n_embd 16 is not divisible by n_head 3/, "heads");
  fs.writeFileSync(cj, cfgText);
  fs.rmSync(st);
  expectErr(/model\.safetensors: cannot read \(ENOENT\)/, "missing file");
  // tokens longer than n_positions
  const w2 = toEngine(cfg, hostWeights(cfg, 6));
  assert.throws(() => forward(cfg, w2, tokArr([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])), /sequence length 10 exceeds n_positions 9/);
  disposeWeights(w2);
});

test("text: byte tokenizer round trip; held-out, calibration and training reviews are disjoint; unigram entropy", () => {
  const s = "Caf\u00e9 <3 \u{1F600}";
  const ids = encodeBytes(s);
  assert.equal(ids.length, 13); // C a f \u00e9(2) ' ' < 3 ' ' \u{1F600}(4)
  assert.equal(decodeBytes(ids), s);
  const sp = corpusSplit();
  assert.equal(sp.heldOut.length, 1000);
  assert.equal(sp.calibration.length, 500);
  assert.equal(sp.train.length, 48500);
  const all = new Set([...sp.heldOut, ...sp.calibration, ...sp.train]);
  assert.equal(all.size, 50000);
  assert.deepEqual(corpusSplit().heldOut.slice(0, 5), sp.heldOut.slice(0, 5), "deterministic");
  // Uniform over 4 symbols: entropy log 4; cross-entropy of a 2-symbol text (add-one smoothing over 256).
  const u = unigramLoss(Uint8Array.from([0, 1, 2, 3, 0, 1, 2, 3]), Uint8Array.from([0, 0]));
  assert.ok(Math.abs(u.entropy - Math.log(4)) < 1e-12);
  assert.ok(Math.abs(u.crossEntropy! - -Math.log(3 / 264)) < 1e-12);
});

test("the committed model (models/imdb-byte, >= 8 layers) loads and beats the unigram baseline on held-out text", async () => {
  await setup("float32");
  try {
    const dir = fileURLToPath(new URL("../../models/imdb-byte", import.meta.url));
    const { config, weights } = loadModel(dir);
    assert.ok(config.nLayer >= 8 && config.vocabSize === 256, JSON.stringify(config));
    assert.ok(fs.statSync(path.join(dir, "model.safetensors")).size < 8 * 2 ** 20);
    const held = heldOutTokens(16 * 128 + 1);
    const logPpl = Math.log(await perplexity(config, weights, held, { ctx: 128, batch: 16 }));
    const uni = unigramLoss(trainTokens().subarray(0, 4_000_000), held).crossEntropy!;
    // Measured: 1.92 nats/byte on these 2,048 bytes vs unigram cross-entropy 3.18.
    assert.ok(logPpl < 2.0 && logPpl < uni - 1, `held-out loss ${logPpl} vs unigram ${uni}`);
    disposeWeights(weights);
  } finally {
    await setup("float64");
  }
});

test("bilevel train-lm: a tiny run writes a loadable model and its training log; bad sizes exit 2 with one line", async () => {
  const out = path.join(tmp(), "lm");
  const r = await cli(["train-lm", "--out", out, "--layers", "1", "--d", "16", "--heads", "2", "--ctx", "16", "--batch", "2", "--steps", "3", "--eval-every", "2", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const log = JSON.parse(fs.readFileSync(path.join(out, "train-log.json"), "utf8"));
  assert.equal(log.steps, 3);
  assert.ok(Math.abs(log.unigramLoss - 3.11) < 0.02, `unigram entropy of the training bytes ${log.unigramLoss}`);
  assert.ok(log.finalValLoss > 0 && log.finalValLoss < Math.log(256) + 0.1, `val loss ${log.finalValLoss}`);
  assert.ok(log.history.some((h: { valLoss?: number }) => h.valLoss !== undefined));
  const m = loadModel(out);
  assert.deepEqual(m.config, { vocabSize: 256, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5 });
  disposeWeights(m.weights);
  await assertOneLineInputError(["train-lm", "--out", out, "--d", "10", "--heads", "3"], /d: 10 is not divisible by heads 3/);
  await assertOneLineInputError(["train-lm", "--out", out, "--layers", "0"], /layers/);
});
