/**
 * soba on toy-sc (default and random; deterministic, no batch) and on toy-quadratic with noisy minibatch
 * oracles (hypergradient norm from the closed form at the final x). Task solverDefaults apply.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { quadraticHypergradNorm, runTask } from "./baseline-helpers.js";

await setup("float32");

for (const random of [false, true]) {
  test(`soba: toy-sc ${random ? "random" : "default"} reaches distanceToOptimum < 1e-3`, async () => {
    const { result } = await runTask("toy-sc", { random }, "soba");
    assert.equal(result.status, "completed");
    assert.ok(result.final.distanceToOptimum < 1e-3, `distance ${result.final.distanceToOptimum}`);
  });
}

test("soba: toy-quadratic with noisy minibatches reaches an exact hypergradient norm < 1e-2", async () => {
  const { problem, result, x } = await runTask("toy-quadratic", {}, "soba");
  assert.equal(result.status, "completed");
  assert.ok(problem.sample !== undefined && (problem.info as { noise: number }).noise > 0);
  const h0 = quadraticHypergradNorm(problem, new Float64Array(x.length));
  const h = quadraticHypergradNorm(problem, x);
  assert.ok(h0 > 0.5, `starting hypergradient norm ${h0}`);
  console.log(`[baseline] ${"soba"} toy-quadratic hypergradient norm ${h.toExponential(3)} (start ${h0.toFixed(3)})`);
  assert.ok(h < 1e-2, `hypergradient norm ${h}`);
});

test("toy-quadratic minibatch oracles are unbiased: mean of 400 noisy grad_y f and HVPs matches the exact ones", async () => {
  const { getTask } = await import("../src/tasks/index.js");
  const { array, treeToFloat64, tref } = await import("../src/engine/index.js");
  const { gradY, hvpYY } = await import("../src/oracles/index.js");
  const task = getTask("toy-quadratic");
  const p = await task.create(task.defaults, 3);
  const x = [0.3, -0.2, 0.5, 0.1, -0.4];
  const y = [0.2, -0.1, 0.4, 0.3, -0.5, 0.1, 0.0, -0.3, 0.6, 0.2];
  const v = [1, 0, -1, 0.5, 0, 0.2, -0.3, 0, 0.1, 0.4];
  const f = (a: any, b: any, c?: any) => p.lower(a, b, c);
  const exactG = await treeToFloat64(gradY(f, array(x), array(y)));
  const exactH = await treeToFloat64(hvpYY(f, array(x), array(y), array(v)));
  const N = 400;
  const mg = new Float64Array(10);
  const mh = new Float64Array(10);
  let spread = 0;
  for (let k = 0; k < N; k++) {
    const b = p.sample!(0, k);
    const g = await treeToFloat64(gradY(f, array(x), array(y), tref(b)));
    const h = await treeToFloat64(hvpYY(f, array(x), array(y), array(v), b));
    for (let i = 0; i < 10; i++) (mg[i] += g[i] / N), (mh[i] += h[i] / N), (spread += (g[i] - exactG[i]) ** 2 / (10 * N));
  }
  assert.ok(Math.sqrt(spread) > 0.03, `the oracle is noisy (rms ${Math.sqrt(spread)})`);
  for (let i = 0; i < 10; i++) {
    assert.ok(Math.abs(mg[i] - exactG[i]) < 0.015, `grad ${i}: ${mg[i]} vs ${exactG[i]}`);
    assert.ok(Math.abs(mh[i] - exactH[i]) < 0.015, `hvp ${i}: ${mh[i]} vs ${exactH[i]}`);
  }
});
