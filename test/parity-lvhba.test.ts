/**
 * LV-HBA against its official coupled-constraint toy (SUSTech-Optimization/LV-HBA, Toy-example/LLC/LV-HBA.py,
 * n = 100, its own hyperparameters), float64. The official run needs three options: multipliers = signed
 * (lambda, z clipped to [-u, u], lines 103 and 121), projection = equality (onto 1'w = 0 at every step,
 * lines 114-115) and the official start (x = -20, y = theta = 10 after its proj1 calls, lines 67-76;
 * lambda = 1, z = -1 in its sign of g, i.e. lambda0 = -1, z0 = 1 in toy-constrained's).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toyConstrained } from "../src/tasks/toys.js";
import { assertSameTrajectory, firstDiffering, trajectory } from "./parity-common.js";
import { officialLvhba } from "./parity-official.js";
import { setup } from "./helpers.js";

await setup("float64");

const N = 100;
export const lvhbaOfficialOptions = { multipliers: "signed", projection: "equality", lambda0: -1, z0: 1 };

test("parity lvhba: with the official options and start, toy-constrained (n = 100) follows LV-HBA.py to 1e-10 over 50 steps", async () => {
  const want = officialLvhba(N, 50);
  const got = await trajectory(toyConstrained(N, true), "lvhba", lvhbaOfficialOptions, 50, { yKeys: ["y1", "y2"] });
  assertSameTrajectory(got, want, 1e-10, "lvhba (official options) vs official");
  assert.ok(Math.abs(want[50].x[0] + 20) > 1, `official x moves: ${want[50].x[0]}`);
});

test("parity lvhba: the defaults (multipliers in [0, u], half-space projection) follow the official loop with those choices; each official choice changes step 1", async () => {
  const start = { x: 10, y: 10, lam: -1, z: -1 }; // bilevel's start in the official sign (lambda0 = z0 = 1)
  const got = await trajectory(toyConstrained(N), "lvhba", {}, 50, { yKeys: ["y1", "y2"] });
  assertSameTrajectory(got, officialLvhba(N, 50, { lo: 0, halfspace: true, start }), 1e-10, "lvhba (defaults) vs official with nonnegative + halfspace");
  // from the same start, each official choice alone changes the first step
  assert.equal(firstDiffering(got, officialLvhba(N, 50, { lo: 0, start }), 1e-10), 1, "equality projection");
  assert.equal(firstDiffering(got, officialLvhba(N, 50, { halfspace: true, start }), 1e-10), 1, "signed multipliers");
});
