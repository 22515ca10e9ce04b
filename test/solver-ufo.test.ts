import { test } from "node:test";
import assert from "node:assert/strict";
import { treeToFloat64 } from "../src/engine/index.js";
import type { Options } from "../src/problem.js";
import { solve } from "../src/run.js";
import { ufoCoin, ufoProbability } from "../src/solvers/ufo.js";
import { getTask } from "../src/tasks/index.js";
import { ufoOptima, UFO } from "../src/tasks/toys.js";
import { setup } from "./helpers.js";

await setup("float64");

/** The task's tuned options for `solver` (its solverDefaults entry), split into steps and options. */
function tuned(taskName: string, solver: string): { steps: number; options: Options } {
  const task = getTask(taskName);
  const o: Options & { steps?: number } = { ...(task.solverDefaults?.[solver] ?? {}) };
  const steps = o.steps ?? task.steps;
  delete o.steps;
  return { steps, options: o };
}

const m = UFO.b.map((b, i) => b / UFO.a[i]);
const c = UFO.a.map((a) => (1 - UFO.alpha * a) ** UFO.r);
/** Exact meta-gradient of toy-ufo: sum_i a_i c_i^2 (theta - m_i); first-order: sum_i a_i c_i (theta - m_i). */
const exactGrad = (t: number) => UFO.a.reduce((s, a, i) => s + a * c[i] * c[i] * (t - m[i]), 0);
const foGrad = (t: number) => UFO.a.reduce((s, a, i) => s + a * c[i] * (t - m[i]), 0);

test("ufo: q_k follows the official rule and the host coin is Bernoulli(q_k)", () => {
  assert.equal(ufoProbability(7, 0.2, 100), 0.2);
  assert.equal(ufoProbability(0, -1, 100), 0);
  assert.equal(ufoProbability(25, -1, 100), 0.25);
  assert.equal(ufoProbability(25, -0.5, 100), 0.5);
  assert.equal(ufoProbability(400, -1, 100), 1);
  // seeded: same (seed, k) -> same draw; frequency of u < 0.3 over 20000 draws within 4 sigma of 0.3
  assert.equal(ufoCoin(3, 17), ufoCoin(3, 17));
  assert.notEqual(ufoCoin(3, 17), ufoCoin(4, 17));
  let hits = 0;
  const n = 20000;
  for (let k = 0; k < n; k++) if (ufoCoin(k % 7, k) < 0.3) hits++;
  assert.ok(Math.abs(hits / n - 0.3) < 4 * Math.sqrt(0.3 * 0.7 / n), `frequency ${hits / n}`);
});

test("ufo on toy-ufo: q = 1 steps are exact meta-gradient steps, q = 0 steps are first-order (host formulas)", async () => {
  // 1e-7 relative: jax-js 0.1.25 rounds JS constants to float32 under jit even in float64 mode
  const lr = 0.3;
  for (const [q, grad] of [
    [1, exactGrad],
    [0, foGrad],
  ] as const) {
    const r = await solve(await getTask("toy-ufo").create({}, 0), "ufo", { steps: 2, options: { exactProb: q, lrX: lr } });
    const theta = (await treeToFloat64(r.x))[0];
    await treeToFloat64(r.y);
    const t1 = -lr * grad(0);
    const t2 = t1 - lr * grad(t1);
    assert.ok(Math.abs(theta - t2) < 1e-7 * Math.abs(t2), `q = ${q}: theta = ${theta}, expected ${t2}`);
  }
});

test("ufo on toy-ufo: the mean of the last 20% of iterates over 5 seeds is the exact optimum 1.633 (FO: 3.311)", async () => {
  const { steps, options } = tuned("toy-ufo", "ufo");
  const { exact, firstOrder } = ufoOptima();
  assert.ok(Math.abs(exact - 1.633) < 1e-3);
  const tail: number[] = [];
  const perSeed: number[] = [];
  for (let seed = 0; seed < 5; seed++) {
    const r = await solve(await getTask("toy-ufo").create({}, seed), "ufo", { steps, seed, options, evalEvery: 1 });
    assert.equal(r.status, "completed");
    assert.equal(r.steps, steps);
    const last = r.history.filter((h) => h.step > 0.8 * steps).map((h) => h.theta);
    assert.equal(last.length, steps / 5);
    tail.push(...last);
    perSeed.push(last.reduce((s, v) => s + v, 0) / last.length);
    await treeToFloat64(r.x);
    await treeToFloat64(r.y);
  }
  const mean = tail.reduce((s, v) => s + v, 0) / tail.length;
  assert.ok(Math.abs(mean - 1.633) < 0.1, `mean of the last 20% over 5 seeds = ${mean} (per seed ${perSeed.map((v) => v.toFixed(3))})`);
  assert.ok(Math.abs(mean - firstOrder) > 1, `UFO must not sit at the first-order point ${firstOrder}`);
  // the seeds are really different runs
  assert.ok(new Set(perSeed.map((v) => v.toFixed(6))).size === 5);
});

for (const random of [false, true]) {
  test(`ufo on toy-sc${random ? " random=true" : ""}: distanceToOptimum < 1e-3`, async () => {
    const { steps, options } = tuned("toy-sc", "ufo");
    const task = getTask("toy-sc");
    const r = await solve(await task.create({ ...task.defaults, random }, 0), "ufo", { steps, options });
    assert.equal(r.status, "completed");
    assert.ok(r.final.distanceToOptimum < 1e-3, `distance ${r.final.distanceToOptimum}`);
    await treeToFloat64(r.x);
    await treeToFloat64(r.y);
  });
}
