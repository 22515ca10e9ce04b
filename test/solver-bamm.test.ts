import { test } from "node:test";
import assert from "node:assert/strict";
import { array, gaussian, mulberry32, np, treeToFloat64, type Arr } from "../src/engine/index.js";
import type { BilevelProblem, Options } from "../src/problem.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import { mat, matvec, randomSPD, transpose, type Mat } from "../src/tasks/hostlinalg.js";
import { relErr, setup, solveTask } from "./helpers.js";

await setup("float64");

/** Run `solver` on a task exactly as the CLI resolves it (see solveTask); the iterate is released. */
async function runTask(taskName: string, solver: string, taskOpts: Options = {}) {
  const { result } = await solveTask(taskName, solver, taskOpts);
  await treeToFloat64(result.x);
  await treeToFloat64(result.y);
  return result;
}

test("bamm: each step follows the sl-BAMM equations (quadratic problem, float64 host reference)", async () => {
  // F = 1/2 y'Gy + 1/2 (x - xh)'D(x - xh),  f = 1/2 y'Ay - x'By  (G != A, so grad^2_yy phi = mu G + (1 - mu) A)
  const n = 3;
  const rand = mulberry32(7);
  const normal = (k: number) => gaussian(rand, k);
  const [A, G, D] = [randomSPD(n, 4, normal), randomSPD(n, 3, normal), randomSPD(n, 2, normal)];
  const B = mat(n, n, normal(n * n));
  const xh = normal(n);
  const x0 = normal(n);
  const y0 = normal(n);
  const M = (m: Mat) => array(m.data, [n, n]);
  const [Aa, Ga, Da, Ba, xha] = [M(A), M(G), M(D), M(B), array(xh)];
  // Tolerance 1e-5: float64 np.power (the mu_k, s_x schedules) is only float32-accurate in jax-js.
  // Scale before the sum: jax-js 0.1.25 miscompiles jit(grad(sum(Mv * v) * 0.5)) in float64.
  const quad = (Q: Arr, v: Arr) => np.matmul(Q, v.ref).mul(v).mul(0.5).sum();
  const problem: BilevelProblem<Arr, Arr> = {
    name: "quad",
    upper: (x, y) => quad(Ga.ref, y).add(quad(Da.ref, x.sub(xha.ref))),
    lower: (x, y) => quad(Aa.ref, y.ref).sub(np.matmul(Ba.ref, y).mul(x).sum()),
    init: () => ({ x: array(x0), y: array(y0) }),
  };
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
  for (const a of [Aa, Ga, Da, Ba, xha]) a.dispose();
});

test("bamm reaches the optimum of toy-lls (non-singleton lower level): distance < 1e-2", async () => {
  await setup("float32");
  const r = await runTask("toy-lls", "bamm");
  assert.equal(r.status, "completed");
  assert.ok(r.final.distanceToOptimum < 1e-2, `distance ${r.final.distanceToOptimum} after ${r.steps} steps`);
});

test("bamm reaches the optimum of toy-sc (default and random=true): distance < 1e-3", async () => {
  for (const random of [false, true]) {
    const r = await runTask("toy-sc", "bamm", { random });
    assert.equal(r.status, "completed");
    assert.ok(r.final.distanceToOptimum < 1e-3, `random=${random}: distance ${r.final.distanceToOptimum} after ${r.steps} steps`);
  }
});

test("bamm rejects inconsistent options with a one-line BilevelInputError", async () => {
  const { bamm, bammDefaults } = await import("../src/solvers/bamm.js");
  const { BilevelInputError } = await import("../src/errors.js");
  const problem = await getTask("toy-sc").create({ n: 2, random: false }, 0);
  assert.throws(() => bamm.create(problem, { ...bammDefaults, mu0: 0 }), (e: Error) => e instanceof BilevelInputError && /bamm\.xPower/.test(e.message));
  assert.throws(() => bamm.create(problem, { ...bammDefaults, mu0: 1 }), (e: Error) => e instanceof BilevelInputError && /bamm\.mu0/.test(e.message));
});
