/**
 * The shipped trained byte-level LM (models/imdb-byte, from `bilevel train-lm`): RTN at 8 bits keeps
 * perplexity within 1%, and GPTQ at 3 bits beats RTN at 3 bits on held-out perplexity. Skipped when the
 * model directory is absent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { setup } from "./helpers.js";
import { root } from "./cli-helpers.js";
import { loadModel, perplexity, disposeWeights } from "../src/quant/model.js";
import { heldOutTokens, calibrationTokens, encodeBytes, heldOutText } from "../src/quant/text.js";
import { isLlamaConfig } from "../src/quant/llama.js";
import { loadTokenizer } from "../src/quant/tokenizer.js";
import { quantizeModel, dequantizedWeights, disposeAll, linearHessians, type QuantizerName } from "../src/quant/layerwise.js";

const dir = process.env.BILEVEL_QUANT_MODEL ?? path.join(root, "models/imdb-byte");
const present = fs.existsSync(path.join(dir, "model.safetensors"));

test("trained LM: RTN 8-bit perplexity change < 1%; GPTQ 3-bit perplexity < RTN 3-bit", { skip: present ? false : `no model at ${dir}` }, async () => {
  await setup("float32");
  const { config, weights } = loadModel(dir);
  const ev = heldOutTokens(32 * 128 + 1);
  const hessians = await linearHessians(config, weights, calibrationTokens(16 * 128), { ctx: 128, windows: 16 });
  const base = await perplexity(config, weights, ev, { ctx: 128 });
  const at = async (bits: number, quantizer: QuantizerName) => {
    const qm = await quantizeModel(config, weights, new Array(config.nLayer).fill(bits), { quantizer, groupSize: 32, hessians });
    const lw = dequantizedWeights(qm);
    try {
      return await perplexity(config, weights, ev, { ctx: 128, linearWeights: lw });
    } finally {
      disposeAll(lw);
    }
  };
  const rtn8 = await at(8, "rtn");
  const rtn3 = await at(3, "rtn");
  const gptq3 = await at(3, "gptq");
  console.log(`held-out perplexity (${ev.length} bytes): float ${base.toFixed(4)}, rtn8 ${rtn8.toFixed(4)}, rtn3 ${rtn3.toFixed(4)}, gptq3 ${gptq3.toFixed(4)}`);
  assert.ok(Math.abs(rtn8 / base - 1) < 0.01, `rtn8 change ${rtn8 / base - 1}`);
  assert.ok(gptq3 < rtn3, `gptq3 ${gptq3} vs rtn3 ${rtn3}`);
  disposeWeights(weights);
});

for (const L of [4, 8, 16]) {
  const ldir = path.join(root, `models/llama-imdb-${L}`);
  const here = fs.existsSync(path.join(ldir, "model.safetensors"));
  test(`models/llama-imdb-${L}: loads as a Llama folder, its tokenizer.json is the byte tokenizer, held-out perplexity beats the unigram baseline as logged`, { skip: here ? false : `no model at ${ldir}` }, async () => {
    await setup("float32");
    const { config, weights } = loadModel(ldir);
    assert.ok(isLlamaConfig(config) && config.nLayer === L);
    const log = JSON.parse(fs.readFileSync(path.join(ldir, "train-log.json"), "utf8"));
    const text = heldOutText().slice(0, 2000);
    const ids = loadTokenizer(ldir, config.vocabSize).encode(text);
    assert.deepEqual(ids, Array.from(encodeBytes(text)));
    const ppl = await perplexity(config, weights, heldOutTokens(16 * 64 + 1), { ctx: 64 });
    assert.ok(Math.log(ppl) < log.unigramValLoss, `log perplexity ${Math.log(ppl)} vs unigram ${log.unigramValLoss}`);
    assert.ok(Math.abs(Math.log(ppl) - log.finalValLoss) < 0.2, `log perplexity ${Math.log(ppl)} vs logged ${log.finalValLoss} (first 1,024 of its 16,384 bytes)`);
    disposeWeights(weights);
  });
}
