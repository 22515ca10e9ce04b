import { test } from "node:test";
import assert from "node:assert/strict";
import { full, treeToFloat64 } from "../src/engine/index.js";
import { solve } from "../src/run.js";
import { lvhbaDefaults } from "../src/solvers/lvhba.js";
import { toyConstrained } from "../src/tasks/toys.js";
import { assertReaches, relErr, runReleased, setup } from "./helpers.js";

// float32 throughout (the dtype the CLI runs in); the exact-step check allows float32 rounding (1e-5).
await setup("float32");

test("lvhba: each step follows the LV-HBA equations with the coupled constraint (host reference)", async () => {
  // toy-constrained, n = 3, started infeasible (g = -(1'x + 1'y1 + 1'y2) = 9 > 0) so that the
  // multiplier clipping and the projection onto g <= 0 both act.
  const n = 3;
  const problem = { ...toyConstrained(n), init: () => ({ x: full([n], -1), y: { y1: full([n], -1), y2: full([n], -1) } }) };
  const o = { ...lvhbaDefaults, alpha: 0.05, beta: 0.3, lrProx: 0.2, gamma1: 2, gamma2: 0.5, c0: 0.5, p: 0.3, lambda0: 0.5, z0: 0.5 };
  const steps = 5;
  const r = await solve(problem, "lvhba", { steps, options: o });
  const got = [...(await treeToFloat64(r.x)), ...(await treeToFloat64(r.y))];

  // Host reference (every coordinate of x, y1, y2, theta1, theta2 is equal by symmetry, but keep vectors).
  const sum = (v: number[]) => v.reduce((s, a) => s + a, 0);
  const clip = (a: number) => Math.min(Math.max(a, 0), o.lambdaMax);
  let [x, y1, y2] = [Array(n).fill(-1), Array(n).fill(-1), Array(n).fill(-1)];
  let [t1, t2] = [[...y1], [...y2]];
  let [lam, z] = [o.lambda0, o.z0];
  for (let k = 0; k < steps; k++) {
    const ic = 1 / (o.c0 * Math.pow(k + 1, o.p));
    const gTheta = -(sum(x) + sum(t1) + sum(t2));
    // grad_theta of L = f + lam g: f = 1/2|t1|^2 - x't1 + 1't2, g = -(1'x + 1't1 + 1't2)
    const nt1 = t1.map((t, i) => t - o.lrProx * (t - x[i] - lam + (t - y1[i]) / o.gamma1));
    const nt2 = t2.map((t, i) => t - o.lrProx * (1 - lam + (t - y2[i]) / o.gamma1));
    const nlam = clip(lam + o.lrProx * (gTheta - (lam - z) / o.gamma2));
    [t1, t2] = [nt1, nt2];
    // F = 1/2|x - y2|^2 + 1/2|y1 - 1|^2; grad_x L(x, theta, lam) = -theta1 - lam
    const dx = x.map((xi, i) => ic * (xi - y2[i]) - y1[i] - (-t1[i] - nlam));
    const dy1 = y1.map((v, i) => ic * (v - 1) + (v - x[i]) - (v - t1[i]) / o.gamma1);
    const dy2 = y2.map((v, i) => ic * -(x[i] - v) + 1 - (v - t2[i]) / o.gamma1);
    x = x.map((v, i) => v - o.alpha * dx[i]);
    y1 = y1.map((v, i) => v - o.alpha * dy1[i]);
    y2 = y2.map((v, i) => v - o.alpha * dy2[i]);
    const g = -(sum(x) + sum(y1) + sum(y2));
    if (g > 0) [x, y1, y2] = [x, y1, y2].map((v) => v.map((a) => a + g / (3 * n))); // exact projection onto 1'w >= 0
    z = clip(z + (o.beta * (nlam - z)) / o.gamma2);
    lam = nlam;
  }
  const want = [...x, ...y1, ...y2];
  assert.ok(relErr(got, want) < 1e-5, `(x, y) = ${got} vs host ${want}`);
  assert.ok(lam > 0 && lam < o.lambdaMax);
});

test("lvhba reaches the optimum of toy-constrained (n = 100) with the constraint satisfied", async () => {
  const r = await runReleased("toy-constrained", "lvhba");
  assert.equal(r.status, "completed");
  assert.ok(r.final.distanceToOptimum < 1e-2, `distance ${r.final.distanceToOptimum} after ${r.steps} steps`);
  assert.ok(r.final.constraintViolation < 1e-3, `constraint violation ${r.final.constraintViolation}`);
});

test("lvhba reaches the optimum of toy-lls (non-singleton lower level): distance < 1e-2", async () => {
  const r = await runReleased("toy-lls", "lvhba");
  assert.equal(r.status, "completed");
  assert.ok(r.final.distanceToOptimum < 1e-2, `distance ${r.final.distanceToOptimum} after ${r.steps} steps`);
});

test("lvhba reaches the optimum of toy-sc (default and random=true): distance < 1e-3", async () => {
  await assertReaches("toy-sc", "lvhba", 1e-3, [{ random: false }, { random: true }]);
});

test("lvhba rejects bad options with a one-line BilevelInputError", async () => {
  const { lvhba } = await import("../src/solvers/lvhba.js");
  const { BilevelInputError } = await import("../src/errors.js");
  const problem = toyConstrained(2);
  assert.throws(() => lvhba.create(problem, { ...lvhbaDefaults, gamma2: 0 }), (e: Error) => e instanceof BilevelInputError && /lvhba\.gamma2/.test(e.message));
  assert.throws(() => lvhba.create(problem, { ...lvhbaDefaults, lambda0: -1 }), (e: Error) => e instanceof BilevelInputError && /lvhba\.lambda0/.test(e.message));
});
