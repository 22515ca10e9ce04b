/**
 * penalty (V-PBGD) on toy-sc. With a finite gamma the method converges to the stationary point of
 * F + gamma (f - v), which on toy-sc is x_g = (D + g/(1+g) B A^-1 B')^-1 D xh (derived in
 * baseline-helpers.ts). Default toy: the official linear gamma ramp to gamma = 1000 drives the bias to
 * 1/(1 + 2 gamma) = 5.0e-4 < 1e-3. Random toy (condition 10): the bias at the task's gamma = 20 is asserted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { relDist, runTask, toySCData, toySCPenaltyPoint } from "./baseline-helpers.js";
import { treeToFloat64 } from "../src/engine/index.js";

await setup("float32");

test("penalty: toy-sc default, gamma ramped to 1000, reaches the optimum within the 1/(1+2 gamma) bias", async () => {
  const gamma = 1000;
  const { result } = await runTask("toy-sc", {}, "penalty", {
    gamma0: 10, gammaMax: gamma, gammaSteps: 1000, lrX: 0.9, lrY: 0.9, innerLr: 0.5, steps: 3500,
  });
  assert.equal(result.status, "completed");
  const d = result.final.distanceToOptimum;
  // default toy: x_g - x* = -(y_g - y*) = 1/(2(1 + 2 gamma)) per coordinate -> relative distance 1/(1 + 2 gamma)
  assert.ok(Math.abs(d - 1 / (1 + 2 * gamma)) < 2e-5, `distance ${d} vs bias ${1 / (1 + 2 * gamma)}`);
  assert.ok(d < 1e-3, `distance ${d}`);
});

test("penalty: toy-sc random converges to the derived biased point of gamma = 20", async () => {
  const seed = 0;
  const { problem, result, x, y } = await runTask("toy-sc", { random: true }, "penalty", {}, seed);
  assert.equal(result.status, "completed");
  const data = toySCData(10, true, seed);
  const star = toySCPenaltyPoint(data, Infinity);
  // the regenerated matrices are the task's: same optimum (solution stored in float32)
  const xs = await treeToFloat64(problem.solution!.x);
  assert.ok(relDist(star.x, [], xs, []) < 1e-6);
  const gamma = result.options.gammaMax as number;
  assert.equal(gamma, 20);
  const zg = toySCPenaltyPoint(data, gamma);
  const bias = relDist(zg.x, zg.y, star.x, star.y);
  assert.ok(bias > 5e-3, `the derived bias ${bias} is visible`);
  const toBiased = relDist(x, y, zg.x, zg.y);
  assert.ok(toBiased < 1e-4, `distance to the gamma = 20 point ${toBiased}`);
  assert.ok(Math.abs(result.final.distanceToOptimum - bias) < 1e-4, `distance ${result.final.distanceToOptimum} vs bias ${bias}`);
});
