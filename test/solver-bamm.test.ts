import { test } from "node:test";
import assert from "node:assert/strict";
import { treeToFloat64 } from "../src/engine/index.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import { matvec, transpose } from "../src/linalg.js";
import { assertReaches, quadraticStepProblem, relErr, runReleased, setup } from "./helpers.js";

await setup("float64");

test("bamm: each step follows the sl-BAMM equations (quadratic problem, float64 host reference)", async () => {
  // F = 1/2 y'Gy + 1/2 (x - xh)'D(x - xh),  f = 1/2 y'Ay - x'By  (G != A, so grad^2_yy phi = mu G + (1 - mu) A)
  const { problem, n, A, G, D, B, xh, x0, y0, dispose } = quadraticStepProblem(7);
  const o = { mu0: 0.8, p: 2, tau: 0.2, lrY: 0.2, lrX: 0.7, xPower: 2, adaptiveEta: true, eta0: 1 };
  const steps = 6;
  const r = await solve(problem, "bamm", { steps, options: o });
  const [gotX, gotY] = [await treeToFloat64(r.x), await treeToFloat64(r.y)];

  // Host reference in float64.
  const Bt = transpose(B);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, ai, i) => s + ai * b[i], 0);
  let [x, y, v] = [Float64Array.from(x0), Float64Array.from(y0), new Float64Array(n)];
  for (let k = 0; k < steps; k++) {
    const mu = o.mu0 * Math.pow(k + 1, -1 / o.p);
    const H = (u: Float64Array) => matvec(G, u).map((gi, i) => mu * gi + (1 - mu) * matvec(A, u)[i]);
    const Gy = matvec(G, y);
    const rr = H(v).map((hv, i) => hv - Gy[i]);
    const eta = dot(rr, rr) / (dot(rr, H(rr)) + 1e-12);
    const vNext = v.map((vi, i) => vi - eta * rr[i]);
    const Ay = matvec(A, y);
    const Btx = matvec(Bt, x);
    const yNext = y.map((yi, i) => yi - o.lrY * (mu * Gy[i] + (1 - mu) * (Ay[i] - Btx[i])));
    const sx = o.lrX * Math.pow(k + 1, -1.5 * o.tau) * Math.pow(mu, o.xPower);
    const Dx = matvec(D, x.map((xi, i) => xi - xh[i]));
    const Bv = matvec(B, v);
    const xNext = x.map((xi, i) => xi - sx * (Dx[i] + (1 - mu) * Bv[i]));
    [x, y, v] = [xNext, yNext, vNext];
  }
  assert.ok(relErr(gotX, x) < 1e-5, `x: relative error ${relErr(gotX, x)}`);
  assert.ok(relErr(gotY, y) < 1e-5, `y: relative error ${relErr(gotY, y)}`);
  dispose();
});

test("bamm reaches the optimum of toy-lls (non-singleton lower level): distance < 1e-2", async () => {
  await setup("float32");
  const r = await runReleased("toy-lls", "bamm");
  assert.equal(r.status, "completed");
  assert.ok(r.final.distanceToOptimum < 1e-2, `distance ${r.final.distanceToOptimum} after ${r.steps} steps`);
});

test("bamm reaches the optimum of toy-sc (default and random=true): distance < 1e-3", async () => {
  await assertReaches("toy-sc", "bamm", 1e-3, [{ random: false }, { random: true }]);
});

test("bamm rejects inconsistent options with a one-line BilevelInputError", async () => {
  const { bamm, bammDefaults } = await import("../src/solvers/bamm.js");
  const { BilevelInputError } = await import("../src/errors.js");
  const problem = await getTask("toy-sc").create({ n: 2, random: false }, 0);
  assert.throws(() => bamm.create(problem, { ...bammDefaults, mu0: 0 }), (e: Error) => e instanceof BilevelInputError && /bamm\.xPower/.test(e.message));
  assert.throws(() => bamm.create(problem, { ...bammDefaults, mu0: 1 }), (e: Error) => e instanceof BilevelInputError && /bamm\.mu0/.test(e.message));
});
