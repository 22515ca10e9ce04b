/**
 * BOME against its official toy (Cranial-XIX/BOME, toy/toy_lls.py, bilevel_descent_bome), float64.
 * The official code calls the lower variable x = (x0, x1) and the upper one w; here x = w, y1 = x0,
 * y2 = x1 (toy-lls with n = 1). Official settings: k = 10 inner steps, eta = 0.5, every step size 0.5,
 * start 0, lambda = relu(eta - <dF, dq> / (||dq||^2 + 1e-8)).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runTask } from "../src/experiment.js";
import { toyLLS } from "../src/tasks/toys.js";
import { assertSameTrajectory, trajectory } from "./parity-common.js";
import { officialBome } from "./parity-official.js";
import { setup } from "./helpers.js";

await setup("float64");

test("parity bome: toy-lls (n = 1) follows the official toy_lls.py iterates to 1e-10 over 50 steps", async () => {
  const want = officialBome(50);
  const got = await trajectory(toyLLS(1), "bome", { T: 10, eta: 0.5, innerLr: 0.5, lrX: 0.5, lrY: 0.5, eps: 1e-8 }, 50, { yKeys: ["y1", "y2"] });
  assertSameTrajectory(got, want, 1e-10, "bome vs official");
  // the host loop is not trivially equal to the start: it moves
  assert.ok(Math.abs(want[50].x[0]) > 0.5, `official w at step 50: ${want[50].x[0]}`);
});

test("parity bome: the defaults are the official settings, and the float64 toy reaches |x - 1| < 1e-10 within 1000 steps", async () => {
  const { record } = await runTask({ task: "toy-lls", solver: "bome", dtype: "float64", set: { n: "1" } });
  assert.equal(record.steps, 1000);
  assert.ok(Math.abs(record.final.meanX - 1) < 1e-10, `|x - 1| = ${Math.abs(record.final.meanX - 1)}`);
  const official = officialBome(1000)[1000];
  assert.ok(Math.abs(official.x[0] - 1) < 1e-10, `official |x - 1| = ${Math.abs(official.x[0] - 1)}`);
});
