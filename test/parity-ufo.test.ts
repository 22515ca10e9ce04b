/**
 * UFO-BLO against the official toy (xingyousong/ufom, toy/toy.py: simulate_blo with q = 0.9 and step
 * start_step / (k + 1)), written out in float64 on toy-ufo with the task's tuned settings (exactProb = 0.9,
 * lrX = 5, lrPower = 1) and the solver's own coin sequence.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getTask } from "../src/tasks/index.js";
import { ufoCoin } from "../src/solvers/ufo.js";
import { assertSameTrajectory, trajectory } from "./parity-common.js";
import { UFO_TOY, officialUfo } from "./parity-official.js";
import { setup } from "./helpers.js";

await setup("float64");

test("parity ufo: toy-ufo with q = 0.9 and step 5 / (k + 1) follows toy.py's simulate_blo to 1e-10 over 50 steps", async () => {
  const task = getTask("toy-ufo");
  const { steps: _s, ...tuned } = task.solverDefaults!.ufo;
  assert.deepEqual(tuned, { exactProb: 0.9, lrX: 5, lrPower: 1 });
  const want = officialUfo(50, (k) => ufoCoin(0, k));
  const got = await trajectory(await task.create(task.defaults, 0), "ufo", tuned, 50);
  assertSameTrajectory(got, want, 1e-10, "ufo vs official toy");
  const flips = Array.from({ length: 50 }, (_, k) => ufoCoin(0, k) < 0.9).filter((b) => !b).length;
  assert.ok(flips > 0 && flips < 50, `both branches are exercised (${flips} first-order steps)`);
});

test("parity fo: the defaults (T = 10, constant step 0.1) on toy-ufo follow the official toy's FO-BLO branch (q = 0) to 1e-10 over 50 steps", async () => {
  const task = getTask("toy-ufo");
  const want = officialUfo(50, () => 1, { ...UFO_TOY, q: 0, startStep: 0.1, stepPower: 0 });
  const got = await trajectory(await task.create(task.defaults, 0), "fo", {}, 50);
  assertSameTrajectory(got, want, 1e-10, "fo vs official toy (q = 0)");
  assert.ok(Math.abs(want[50].x[0]) > 0.5, `theta moves: ${want[50].x[0]}`);
});
