/**
 * BO-REP against its official code (data_cleaning/bo_rep.py; test/parity-official.ts, officialBorep), full
 * batch in float64, on a small quartic lower level (so that where the Hessian-vector product is taken matters).
 * The official run needs hvpAt = previous and lowerUpdate = accumulated; the data-cleaning defaults are the
 * official ones (interval 2, 10 warm-start steps, steps 0.05, beta 0.9, nu 0.01).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { array, np, type Arr } from "../src/engine/index.js";
import type { BilevelProblem } from "../src/problem.js";
import { quadraticData, type QuadraticData } from "../src/tasks/toys.js";
import { assertSameTrajectory, firstDiffering, trajectory } from "./parity-common.js";
import { officialBorep } from "./parity-official.js";
import { setup } from "./helpers.js";

await setup("float64");

/** f = 1/2 y'Hy + 1/4 sum y^4 + x'Cy + a'y, F = 1/2 ||y - yt||^2 (products only: exact in the engine's float64). */
function quartic(d: QuadraticData): BilevelProblem<Arr, Arr> {
  const [nx, ny] = [d.C.rows, d.H.rows];
  const [H, C, a, yt] = [array(d.H.data, [ny, ny]), array(d.C.data, [nx, ny]), array(d.a), array(d.yt)];
  return {
    name: "quartic",
    upper: (x, y) => {
      x.dispose();
      const r = y.sub(yt.ref);
      return r.ref.mul(r).mul(0.5).sum();
    },
    lower: (x, y) => {
      const q = np.matmul(H.ref, y.ref).mul(y.ref).mul(0.5).sum();
      const y2 = y.ref.mul(y.ref);
      const quart = y2.ref.mul(y2).mul(0.25).sum();
      const cross = np.matmul(C.ref, y.ref).mul(x).sum(); // x'Cy
      return q.add(quart).add(cross).add(a.ref.mul(y).sum());
    },
    init: () => ({ x: array(new Float64Array(nx)), y: array(new Float64Array(ny)) }),
  };
}

const official = { hvpAt: "previous", lowerUpdate: "accumulated" };

test("parity borep: with hvpAt = previous and lowerUpdate = accumulated it follows bo_rep.py (full batch, z_0 = 0) to 1e-10 over 50 steps", async () => {
  const d = quadraticData(3, 5, 2, 10, 0);
  const want = officialBorep(d, 50);
  const got = await trajectory(quartic(d), "borep", official, 50);
  assertSameTrajectory(got, want, 1e-10, "borep (official options) vs official");
  assert.ok(Math.hypot(...want[50].x) > 0.5, "x moves");
});

test("parity borep: the defaults (plain gradient steps, HVP at the updated y) differ from the official loop at step 1", async () => {
  const d = quadraticData(3, 5, 2, 10, 0);
  const got = await trajectory(quartic(d), "borep", {}, 10);
  assert.equal(firstDiffering(got, officialBorep(d, 10), 1e-10), 1);
});
