/**
 * BDA against BOAT's GDA + NGD rule (callous-youth/BOAT; the official vis-opt-group/BDA is TensorFlow code
 * for networks and ships no toy), written out on toy-lls in float64 (test/parity-official.ts, boatBda).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toyLLS } from "../src/tasks/toys.js";
import { assertSameTrajectory, firstDiffering, trajectory } from "./parity-common.js";
import { BDA_BOAT, boatBda } from "./parity-official.js";
import { setup } from "./helpers.js";

await setup("float64");

test("parity bda: the defaults (BOAT's T = 5, lr 0.1, alpha 0.5 * 0.9^t) follow BOAT's aggregated unroll on toy-lls (n = 10) to 1e-10 over 50 steps", async () => {
  const want = boatBda(10, 50);
  const got = await trajectory(toyLLS(10), "bda", {}, 50, { yKeys: ["y1", "y2"] });
  assertSameTrajectory(got, want, 1e-10, "bda vs BOAT");
  assert.ok(want[50].x[0] > 0.1, `x moves: ${want[50].x[0]}`);
});

test("parity bda: fWeight = fixed follows the official boml weights (alpha_t F + (1 - alpha0) f); the default differs from step 1", async () => {
  const want = boatBda(10, 50, BDA_BOAT, true);
  const got = await trajectory(toyLLS(10), "bda", { fWeight: "fixed" }, 50, { yKeys: ["y1", "y2"] });
  assertSameTrajectory(got, want, 1e-10, "bda (fWeight = fixed) vs official boml weights");
  const dflt = await trajectory(toyLLS(10), "bda", {}, 5, { yKeys: ["y1", "y2"] });
  assert.equal(firstDiffering(dflt, want, 1e-10), 1);
});
