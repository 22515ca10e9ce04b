/**
 * Meta-learning tasks (issue 4 acceptance): after a short run the meta-learned initialization beats
 * the same random initialization without meta-learning (same adaptation) beyond the 95% CIs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { mulberry32, tdispose } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import { digitEpisodes, fewshotDigits, fewshotSinusoid, hyperrepDigits, meanCI, sinusoidEpisodes } from "../src/tasks/fewshot.js";

await setup("float32");

const digitsBase = { ways: 5, shots: 1, queries: 15, metaBatch: 8, evalEpisodes: 100, dataDir: "", fashionDir: "" };

test("sinusoid episodes follow the MAML distribution and are reproducible", () => {
  const a = sinusoidEpisodes(mulberry32(7), 500, 10);
  const b = sinusoidEpisodes(mulberry32(7), 500, 10);
  assert.deepEqual(a.xs, b.xs);
  for (let t = 0; t < 500; t++) {
    assert.ok(a.amp[t] >= 0.1 && a.amp[t] <= 5 && a.phase[t] >= 0 && a.phase[t] <= Math.PI);
    for (let k = 0; k < 10; k++) {
      const x = a.xq[t * 10 + k];
      assert.ok(x >= -5 && x <= 5);
      assert.ok(Math.abs(a.yq[t * 10 + k] - a.amp[t] * Math.sin(x - a.phase[t])) < 1e-5);
    }
  }
  const m = meanCI(Array.from(a.amp));
  assert.ok(Math.abs(m.mean - 2.55) < 0.15, `mean amplitude ${m.mean}`);
});

test("meanCI: mean and 1.96 sd / sqrt(n)", () => {
  const r = meanCI([1, 2, 3, 4]);
  assert.equal(r.mean, 2.5);
  assert.ok(Math.abs(r.ci - (1.96 * Math.sqrt(5 / 3)) / 2) < 1e-12);
});

test("fewshot-sinusoid (itd, 200 steps): meta-learned query MSE beats the no-meta-learning baseline beyond the CIs", async () => {
  const t = getTask("fewshot-sinusoid");
  const p = await t.create({ ...t.defaults, evalTasks: 100 }, 0);
  const r = await solve(p, "itd", { steps: 200, seed: 0, options: { lrX: 0.05 }, evalEvery: 200 });
  tdispose(r.x);
  tdispose(r.y);
  const f = r.final;
  assert.equal(r.status, "completed");
  assert.equal(r.history[0].queryMSE, r.history[0].baselineQueryMSE, "step 0 is the baseline's initialization");
  assert.ok(f.queryMSE + f.queryMSECI < f.baselineQueryMSE - f.baselineQueryMSECI, JSON.stringify(f));
  assert.ok(f.mseReduction - f.mseReductionCI > 1, `paired reduction ${f.mseReduction} +- ${f.mseReductionCI}`);
});

test("fewshot-sinusoid (fo, 150 steps): FOMAML also improves on the baseline (paired CI)", async () => {
  const p = fewshotSinusoid({ K: 10, metaBatch: 25, innerSteps: 1, innerLr: 0.01, evalTasks: 100 }, 1);
  const r = await solve(p, "fo", { steps: 150, seed: 1, options: { lrX: 0.05 }, evalEvery: 150 });
  tdispose(r.x);
  tdispose(r.y);
  assert.ok(r.final.mseReduction - r.final.mseReductionCI > 0.3, JSON.stringify(r.final));
});

test("digit episodes: N distinct classes, one-hot labels, shots and queries per class", async () => {
  const p = fewshotDigits({ ...digitsBase, innerSteps: 1, innerLr: 0.4 }, 0);
  const pools = (p.info as { metaTrainClasses: string[]; metaTestClasses: string[] });
  assert.equal(pools.metaTrainClasses.length, 15);
  assert.deepEqual(pools.metaTestClasses, ["mnist-test-5", "mnist-test-6", "mnist-test-7", "mnist-test-8", "mnist-test-9"]);
  const b = p.sample!(0, 3) as { xs: { shape: number[] }; yq: { shape: number[] } };
  assert.deepEqual(b.xs.shape, [8, 5, 784]);
  assert.deepEqual(b.yq.shape, [8, 75, 5]);
  tdispose(b as never);
  const images = new Uint8Array(3 * 784 * 40).map((_, i) => i % 251);
  const pools3 = [0, 1, 2].map((c) => ({ name: `c${c}`, images, rows: Int32Array.from({ length: 40 }, (_, i) => c * 40 + i) }));
  const e = digitEpisodes(mulberry32(3), pools3, 4, 3, 2, 5);
  for (let ep = 0; ep < 4; ep++) {
    const counts = [0, 0, 0];
    for (let s = 0; s < 6; s++) {
      const row = e.ys.subarray((ep * 6 + s) * 3, (ep * 6 + s + 1) * 3);
      assert.equal(row.reduce((u, v) => u + v, 0), 1);
      counts[row.indexOf(1)]++;
    }
    assert.deepEqual(counts, [2, 2, 2]);
  }
});

test("fewshot-digits (itd, 1-shot, 40 steps): meta-test accuracy beats the baseline beyond the CIs", async () => {
  const t = getTask("fewshot-digits");
  const p = await t.create({ ...t.defaults, evalEpisodes: 100 }, 0);
  const r = await solve(p, "itd", { steps: 40, seed: 0, options: { lrX: 0.1 }, evalEvery: 40 });
  tdispose(r.x);
  tdispose(r.y);
  const f = r.final;
  assert.ok(f.testAccuracy - f.testAccuracyCI > f.baselineAccuracy + f.baselineAccuracyCI, JSON.stringify(f));
  assert.ok(f.accuracyGain - f.accuracyGainCI > 0.05, JSON.stringify(f));
});

test("hyperrep-digits (aid-cg, 5 steps): runs with finite metrics; f at the zero head is B log 5", async () => {
  const p = hyperrepDigits({ ...digitsBase, evalEpisodes: 25, ridge: 0.05, headSteps: 20, headLr: 5 }, 0);
  const r = await solve(p, "aid-cg", { steps: 5, seed: 0, options: { T: 20, innerLr: 5, lrX: 0.1, iters: 10 }, evalEvery: 5 });
  tdispose(r.x);
  tdispose(r.y);
  assert.equal(r.status, "completed");
  for (const k of ["testAccuracy", "baselineAccuracy", "upper", "lower"]) assert.ok(Number.isFinite(r.final[k]), k);
  assert.ok(r.final.testAccuracy > 0.25 && r.final.baselineAccuracy > 0.25, JSON.stringify(r.final));
  // f at the zero head (the start) is B * log(5) on the fixed meta-batch
  assert.ok(Math.abs(r.history[0].lower - 8 * Math.log(5)) < 1e-3, `f(zero head) ${r.history[0].lower}`);
});

test("hyperrep-digits (itd, 1-shot, 50 steps): meta-learned features beat the random-feature baseline (paired CI)", async () => {
  const t = getTask("hyperrep-digits");
  const p = await t.create({ ...t.defaults, evalEpisodes: 100 }, 0);
  const { steps: _s, ...opts } = t.solverDefaults!.itd;
  const r = await solve(p, "itd", { steps: 50, seed: 0, options: opts, evalEvery: 50 });
  tdispose(r.x);
  tdispose(r.y);
  const f = r.final;
  assert.ok(f.accuracyGain - f.accuracyGainCI > 0, JSON.stringify(f));
  assert.ok(f.testAccuracy > f.baselineAccuracy, JSON.stringify(f));
});

test("missing Fashion-MNIST: one-line error naming the folder", async () => {
  await assert.rejects(
    async () => fewshotDigits({ ...digitsBase, fashionDir: "/nonexistent/fm", innerSteps: 1, innerLr: 0.4 }, 0),
    (e: Error) => e instanceof BilevelInputError && !e.message.includes("\n") && e.message.includes("/nonexistent/fm"),
  );
  assert.throws(() => fewshotSinusoid({ K: 0, metaBatch: 25, innerSteps: 1, innerLr: 0.01, evalTasks: 100 }, 0), /K: expected an integer >= 1/);
});
