/**
 * HQQ (src/quant/hqq.ts) against its own objective and RTN; pruned blocks are identities (equal to
 * zeroing the block's output projections) and take no bytes; `quantize --size-mb`, `--ids` and
 * `quantize sweep --compare prune` on a tiny Llama folder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setup } from "./helpers.js";
import { assertOneLineInputError, cli } from "./cli-helpers.js";
import { array, gaussian, mulberry32, np, toFloat64 } from "../src/engine/index.js";
import { quantizeHQQ } from "../src/quant/hqq.js";
import { dequantize, quantizeRTN, quantizedBytes, unpackCodes } from "../src/quant/quantize.js";
import { disposeWeights, forward, initWeights, saveModel, weightShapes, type ModelConfig } from "../src/quant/model.js";
import { llamaConfigFromJson } from "../src/quant/llama.js";
import { dequantizedWeights, disposeAll, loadQuantized, modelBytesAt, quantizeModel, quantizedModelBytes, saveQuantized, PRUNED } from "../src/quant/layerwise.js";
import { atBytes } from "../src/quant/sweep.js";

await setup("float64");

/** Gaussian weights with a few large outliers (what HQQ's l_p < 1 loss is for). */
function heavy(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  const g = gaussian(r, n);
  for (let i = 0; i < n; i++) if (r() < 0.02) g[i] *= 8;
  return g;
}
const lp = (a: ArrayLike<number>, b: ArrayLike<number>, p: number) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]) ** p;
  return s;
};

test("hqq: codes in range, float zero points, lower l_0.7 error than its min-max start (2-4 bits), lower l_1 error than RTN at 4 bits", () => {
  const shape: [number, number] = [64, 24];
  const w = heavy(64 * 24, 3);
  for (const bits of [2, 3, 4]) {
    const q = quantizeHQQ(w, shape, bits, 32);
    assert.equal(q.zerosF32!.length, 2 * 24);
    assert.ok(unpackCodes(q.codes, bits, w.length).every((c) => c <= (1 << bits) - 1));
    assert.equal(quantizedBytes(q), Math.ceil((w.length * bits) / 8) + 8 * 2 * 24);
    const start = quantizeHQQ(w, shape, bits, 32, { iters: 0 }); // iteration 0: min-max scale and zero
    const rtn = quantizeRTN(w, shape, bits, 32);
    const [dh, ds, dr] = [dequantize(q), dequantize(start), dequantize(rtn)];
    assert.ok(lp(w, dh, 0.7) < lp(w, ds, 0.7), `bits ${bits}: l0.7 ${lp(w, dh, 0.7)} vs start ${lp(w, ds, 0.7)}`);
    // at 2 bits RTN's integer zero (0 on the grid) wins on these outlier-heavy weights; from 4 bits HQQ does
    if (bits === 4) assert.ok(lp(w, dh, 1) < lp(w, dr, 1), `bits ${bits}: l1 ${lp(w, dh, 1)} vs rtn ${lp(w, dr, 1)}`);
  }
  assert.throws(() => quantizeHQQ([1, NaN], [2, 1], 2, 2), /not finite/);
});

const llamaJson = {
  model_type: "llama",
  vocab_size: 256,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  tie_word_embeddings: true,
};

test("a pruned block is the identity: skipBlocks equals zeroing its output projections (GPT-2 and Llama); it takes no bytes", async () => {
  const gpt: ModelConfig = { vocabSize: 11, nPositions: 8, nEmbd: 8, nLayer: 3, nHead: 2, layerNormEpsilon: 1e-5 };
  const llama = llamaConfigFromJson(llamaJson);
  for (const [c, outs] of [
    [gpt, ["h.1.attn.c_proj.weight", "h.1.attn.c_proj.bias", "h.1.mlp.c_proj.weight", "h.1.mlp.c_proj.bias"]],
    [llama, ["model.layers.1.self_attn.o_proj.weight", "model.layers.1.mlp.down_proj.weight"]],
  ] as [ModelConfig, string[]][]) {
    const w = initWeights(c, 1);
    for (const k of Object.keys(w)) if (w[k].ndim === 2) w[k] = w[k].mul(20);
    const ids = np.array(new Int32Array([1, 4, 2, 7, 3, 0]), { dtype: np.int32 }).reshape([1, 6]);
    const skipped = await toFloat64(forward(c, w, ids.ref, { skipBlocks: new Set([1]) }).logits);
    const full = await toFloat64(forward(c, w, ids.ref).logits);
    for (const n of outs) {
      w[n].dispose();
      w[n] = np.zerosLike(array(new Float64Array(weightShapes(c).find(([m]) => m === n)![1].reduce((a, b) => a * b, 1)), weightShapes(c).find(([m]) => m === n)![1]));
    }
    const zeroed = await toFloat64(forward(c, w, ids).logits);
    assert.deepEqual(Array.from(skipped), Array.from(zeroed));
    assert.ok(Math.max(...full.map((v, i) => Math.abs(v - skipped[i]))) > 1e-3, "block 1 matters");
    const bits = [4, PRUNED, 4].concat(c.nLayer === 4 ? [4] : []);
    const qm = await quantizeModel(c, w, bits, { groupSize: 4 });
    assert.equal(quantizedModelBytes(qm), modelBytesAt(c, bits, 4));
    const all4 = bits.map(() => 4);
    const perBlock = modelBytesAt(c, all4, 4) - modelBytesAt(c, bits, 4);
    const blockTensors = weightShapes(c).filter(([n]) => /^(h|model\.layers)\.1\./.test(n));
    assert.ok(perBlock > 0 && blockTensors.length > 0);
    disposeWeights(w);
  }
  assert.equal(atBytes([{ bytes: 100, perplexity: 2 }, { bytes: 50, perplexity: 4 }], 75), 3);
  assert.equal(atBytes([{ bytes: 100, perplexity: 2 }, { bytes: 50, perplexity: 4 }], 40), null);
});

test("quantize on a Llama folder: --ids, --size-mb picks the fewest demotions that fit, --compare prune writes equal-size rows; bad flags exit 2", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-qllama-"));
  const model = path.join(dir, "m");
  const c = llamaConfigFromJson(llamaJson);
  const w = initWeights(c, 2);
  for (const k of Object.keys(w)) if (w[k].ndim === 2) w[k] = w[k].mul(10);
  await saveModel(model, c, w);
  disposeWeights(w);
  const ids = Array.from({ length: 400 }, (_, i) => (i * 37 + (i % 7) * 11) % 256);
  const idsFile = path.join(dir, "ids.json");
  fs.writeFileSync(idsFile, JSON.stringify(ids));
  const common = ["--model", model, "--ids", idsFile, "--calib-ids", idsFile, "--calib-windows", "2", "--ctx", "32"];
  const sizes = [0, 1, 2, 3, 4].map((k) => modelBytesAt(c, [0, 1, 2, 3].map((i) => (i < 4 - k ? 4 : 2)), 32));
  const budget = (sizes[2] + 1) / 1e6; // fits with 2 demotions, not with 1
  const json = path.join(dir, "q.json");
  const r = await cli(["quantize", ...common, "--bits-high", "4", "--bits-low", "2", "--order", "lim", "--size-mb", String(budget), "--json", json, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(fs.readFileSync(json, "utf8"));
  assert.equal(rec.avgBits, 3);
  assert.equal(rec.bytes.after, sizes[2]);
  assert.equal(rec.evalTokens, 400);
  const h = await cli(["quantize", ...common, "--bits-high", "3", "--bits-low", "2", "--order", "zd", "--avg-bits", "2.5", "--quantizer", "hqq", "--quiet", "--json", json]);
  assert.equal(h.code, 0, h.stderr);
  assert.equal(JSON.parse(fs.readFileSync(json, "utf8")).quantizer, "hqq");
  const out = path.join(dir, "prune");
  const p = await cli(["quantize", "sweep", "--compare", "prune", ...common, "--bits-high", "4", "--lows", "2,3", "--out", out, "--quiet"]);
  assert.equal(p.code, 0, p.stderr);
  const res = JSON.parse(fs.readFileSync(path.join(out, "quant-prune.json"), "utf8"));
  assert.deepEqual(res.curves.map((cv: { kind: string; bits: number | null }) => [cv.kind, cv.bits]), [["prune", null], ["quantize", 2], ["quantize", 3]]);
  assert.equal(res.equalSize.length, 5);
  assert.equal(res.equalSize[0].prune, res.curves[1].points[0].perplexity); // k = 0: nothing removed or demoted
  assert.ok(res.curves[0].points[4].bytes < res.curves[1].points[4].bytes);
  await assertOneLineInputError(["quantize", ...common, "--bits-high", "4", "--bits-low", "2", "--order", "lim", "--size-mb", "0.0001"], /--size-mb: 0.0001 MB is below the smallest size/);
  await assertOneLineInputError(["quantize", ...common, "--bits-high", "4", "--bits-low", "2", "--order", "lim", "--size-mb", "1", "--avg-bits", "3"], /give exactly one of --avg-bits, --demote-fraction and --size-mb/);
  await assertOneLineInputError(["quantize", "sweep", "--compare", "prune", ...common, "--bits-high", "4", "--bits-low", "2", "--out", out], /--bits-low: not an option/);
  await assertOneLineInputError(["quantize", "sweep", "--compare", "prune", ...common, "--bits-high", "4", "--lows", "2,5", "--out", out], /--lows: 5 bits is not below --bits-high 4/);
  await assertOneLineInputError(["quantize", "sweep", "--compare", "layers", ...common, "--bits-high", "4", "--out", out], /--compare: expected 'prune'/);
  await assertOneLineInputError(["quantize", "--model", model, "--text", path.join(dir, "none.txt"), "--bits-high", "4", "--bits-low", "2", "--order", "lim", "--avg-bits", "3"], /--text .*cannot read/);
});

test("saveQuantized / loadQuantized round trip a Llama model (RTN integer zeros, HQQ float zeros): same logits as the dequantized weights", async () => {
  const c = llamaConfigFromJson(llamaJson);
  const w = initWeights(c, 4);
  for (const k of Object.keys(w)) if (w[k].ndim === 2) w[k] = w[k].mul(10);
  for (const quantizer of ["rtn", "hqq"] as const) {
    const qm = await quantizeModel(c, w, [4, 2, 3, 4], { quantizer, groupSize: 8 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-qsave-"));
    const size = await saveQuantized(dir, qm, w);
    const headerLen = Number(fs.readFileSync(path.join(dir, "quantized.safetensors")).readBigUInt64LE(0));
    assert.equal(size - 8 - headerLen, quantizedModelBytes(qm)); // the data section is exactly the packed bytes
    const back = loadQuantized(dir);
    assert.deepEqual(back.qm.bits, [4, 2, 3, 4]);
    const ids = np.array(new Int32Array([3, 1, 4, 1, 5, 9]), { dtype: np.int32 }).reshape([1, 6]);
    const lw = dequantizedWeights(qm);
    const a = await toFloat64(forward(c, w, ids.ref, { linearWeights: lw }).logits);
    const b = await toFloat64(forward(back.config, back.weights, ids).logits);
    // unquantized tensors are stored as float32 (the weights here are float64): agreement to float32 rounding
    assert.ok(Math.max(...a.map((v, i) => Math.abs(v - b[i]))) < 1e-5, quantizer);
    disposeAll(lw);
    disposeWeights(back.weights);
  }
  disposeWeights(w);
});
