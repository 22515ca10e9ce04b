/**
 * sl-BAMM against its official merely convex toy (vis-opt-group/sl-BAMM, merely_convex/strategy3.py with
 * --hg_mode BAMM_CG --BDA --thelr, tSize 100), float64. The toy is toy-lls: F = 1/2 ||x - y2||^2 +
 * 1/2 ||y1 - 1||^2, f = 1/2 ||y1||^2 - x'y1; the official start is x = y1 = y2 = 0.01 (strategy3.py:183).
 * Official quirks reproduced by options: phi = 0.9 f + 0.1 F at every step (train_loss_BDA's default
 * argument alpha = args.alpha is evaluated once, strategy3.py:251) -> phiWeight = fixed, muFixed = 0.1;
 * eta's numerator (||r_y1|| + ||r_y2||)^2 (list_tensor_norm, hypergradients.py:8-12) -> etaNorm = per-tensor.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toyLLS } from "../src/tasks/toys.js";
import { assertSameTrajectory, firstDiffering, trajectory } from "./parity-common.js";
import { officialBamm } from "./parity-official.js";
import { setup } from "./helpers.js";

await setup("float64");

const N = 100;
const officialOptions = { phiWeight: "fixed", muFixed: 0.1, etaNorm: "per-tensor" };

test("parity bamm: with phiWeight = fixed and etaNorm = per-tensor, toy-lls (n = 100, start 0.01) follows strategy3.py to 1e-10 over 50 steps", async () => {
  const want = officialBamm(N, 50, 0.01);
  const got = await trajectory(toyLLS(N, 0.01), "bamm", officialOptions, 50, { yKeys: ["y1", "y2"] });
  assertSameTrajectory(got, want, 1e-10, "bamm (official options) vs official");
  assert.ok(Math.abs(want[50].x[0] - 0.01) > 1e-2, `official x moves: ${want[50].x[0]}`);
});

test("parity bamm: the defaults (the paper's phi_k and joint norm) follow the official loop with those two choices, and differ from the published one at step 1", async () => {
  const got = await trajectory(toyLLS(N, 0.01), "bamm", {}, 50, { yKeys: ["y1", "y2"] });
  assertSameTrajectory(got, officialBamm(N, 50, 0.01, { joint: true, schedule: true }), 1e-10, "bamm (defaults) vs official with schedule + joint");
  assert.equal(firstDiffering(got, officialBamm(N, 50, 0.01), 1e-10), 1);
});
