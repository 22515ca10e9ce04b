/**
 * SOBA and StocBiO against benchopt's benchmark_bilevel solvers (solvers/soba.py, solvers/stocbio.py), written
 * out full-batch on toy-quadratic without noise (nx = 3, ny = 5), float64, with benchmark_bilevel's settings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toyQuadratic } from "../src/tasks/toys.js";
import { assertSameTrajectory, trajectory } from "./parity-common.js";
import { benchoptSoba, benchoptStocbio } from "./parity-official.js";
import { setup } from "./helpers.js";

await setup("float64");

test("parity soba: step size 0.1 / (k+1)^0.5 on y, v and x (benchmark_bilevel's soba.py) follows its loop to 1e-10 over 50 steps", async () => {
  const p = toyQuadratic(3, 5, 1, 0);
  const want = benchoptSoba(p.data, 50);
  const got = await trajectory(p, "soba", { innerLr: 0.1, lrX: 0.1, innerPower: 0.5, lrPower: 0.5 }, 50);
  assertSameTrajectory(got, want, 1e-10, "soba vs benchmark_bilevel");
  assert.ok(Math.hypot(...want[50].x) > 1e-2, "x moves");
});

test("parity stocbio: the defaults (10 inner steps, 10 Neumann terms, steps 0.1) follow benchmark_bilevel's stocbio.py to 1e-10 over 50 steps", async () => {
  const p = toyQuadratic(3, 5, 1, 0);
  const want = benchoptStocbio(p.data, 50);
  const got = await trajectory(p, "stocbio", {}, 50);
  assertSameTrajectory(got, want, 1e-10, "stocbio vs benchmark_bilevel");
  assert.ok(Math.hypot(...want[50].x) > 1e-2, "x moves");
});
