/**
 * stocbio on toy-sc (default and random; deterministic, no batch) and on toy-quadratic with noisy minibatch
 * oracles (hypergradient norm from the closed form at the final x). Task solverDefaults apply.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { quadraticHypergradNorm, runTask } from "./baseline-helpers.js";

await setup("float32");

for (const random of [false, true]) {
  test(`stocbio: toy-sc ${random ? "random" : "default"} reaches distanceToOptimum < 1e-3`, async () => {
    const { result } = await runTask("toy-sc", { random }, "stocbio");
    assert.equal(result.status, "completed");
    assert.ok(result.final.distanceToOptimum < 1e-3, `distance ${result.final.distanceToOptimum}`);
  });
}

test("stocbio: toy-quadratic with noisy minibatches reaches an exact hypergradient norm < 1e-2", async () => {
  const { problem, result, x } = await runTask("toy-quadratic", {}, "stocbio");
  assert.equal(result.status, "completed");
  assert.ok(problem.sample !== undefined && (problem.info as { noise: number }).noise > 0);
  const h0 = quadraticHypergradNorm(problem, new Float64Array(x.length));
  const h = quadraticHypergradNorm(problem, x);
  assert.ok(h0 > 0.5, `starting hypergradient norm ${h0}`);
  console.log(`[baseline] ${"stocbio"} toy-quadratic hypergradient norm ${h.toExponential(3)} (start ${h0.toFixed(3)})`);
  assert.ok(h < 1e-2, `hypergradient norm ${h}`);
});
