import { test } from "node:test";
import assert from "node:assert/strict";
import { array, gaussian, mulberry32, np, treeToFloat64, type Arr } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import type { BilevelProblem, Options } from "../src/problem.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import { mat, matvec, randomSPD, transpose, type Mat } from "../src/tasks/hostlinalg.js";
import { relErr, setup, solveTask } from "./helpers.js";

await setup("float64");

/** Run `solver` on a task as the CLI resolves it (see solveTask); the iterate is released. */
async function runTask(taskName: string, solver: string, taskOpts: Options = {}) {
  const { result: r, steps } = await solveTask(taskName, solver, taskOpts);
  await treeToFloat64(r.x);
  await treeToFloat64(r.y);
  return { r, steps };
}

test("borep: each step follows the BO-REP equations (refinement, periodic y, z, normalized momentum, StepLR; host float64 reference)", async () => {
  // F = 1/2 y'Gy + 1/2 (x - xh)'D(x - xh),  f = 1/2 y'Ay - x'By:
  // grad_y f = A y - B'x, grad^2_yy f = A, grad^2_xy f z = -B z, grad_y F = G y, grad_x F = D (x - xh)
  const n = 3;
  const rand = mulberry32(11);
  const normal = (k: number) => gaussian(rand, k);
  const [A, G, D] = [randomSPD(n, 4, normal), randomSPD(n, 3, normal), randomSPD(n, 2, normal)];
  const B = mat(n, n, normal(n * n));
  const xh = normal(n);
  const x0 = normal(n);
  const y0 = normal(n);
  const M = (m: Mat) => array(m.data, [n, n]);
  const [Aa, Ga, Da, Ba, xha] = [M(A), M(G), M(D), M(B), array(xh)];
  // scale before the sum: jax-js 0.1.25 jit(grad(sum(M v * v) * 0.5)) is wrong in float64
  const quad = (Q: Arr, v: Arr) => np.matmul(Q, v.ref).mul(v).mul(0.5).sum();
  const problem: BilevelProblem<Arr, Arr> = {
    name: "quad",
    upper: (x, y) => quad(Ga.ref, y).add(quad(Da.ref, x.sub(xha.ref))),
    lower: (x, y) => quad(Aa.ref, y.ref).sub(np.matmul(Ba.ref, y).mul(x).sum()),
    init: () => ({ x: array(x0), y: array(y0) }),
  };
  const o = { interval: 3, T: 2, initSteps: 4, innerLr: 0.2, lrX: 0.3, beta: 0.8, nu: 0.3, lrDecay: 0.5, lrDecayEvery: 2 };
  const steps = 8;
  const r = await solve(problem, "borep", { steps, options: o });
  const [gotX, gotY] = [await treeToFloat64(r.x), await treeToFloat64(r.y)];

  const Bt = transpose(B);
  const sub = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v - b[i]);
  const axpy = (s: number, a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(b, (v, i) => v + s * a[i]);
  let [x, y, z, m] = [Float64Array.from(x0), Float64Array.from(y0), new Float64Array(n), new Float64Array(n)];
  let lowerUpdates = 0;
  for (let k = 0; k < steps; k++) {
    const t = k === 0 ? o.initSteps : k % o.interval === 0 ? o.T : 0;
    if (t > 0) lowerUpdates++;
    for (let i = 0; i < t; i++) y = axpy(-o.innerLr, sub(matvec(A, y), matvec(Bt, x)), y);
    z = axpy(-o.nu, sub(matvec(A, z), matvec(G, y)), z);
    const g = Float64Array.from(matvec(D, sub(x, xh)), (v, i) => v + matvec(B, z)[i]);
    m = Float64Array.from(m, (v, i) => o.beta * v + (1 - o.beta) * g[i]);
    const eta = o.lrX * Math.pow(o.lrDecay, Math.floor(k / o.lrDecayEvery));
    const nm = Math.sqrt(m.reduce((s, v) => s + v * v, 0));
    x = axpy(-eta / (nm + 1e-10), m, x);
  }
  assert.equal(lowerUpdates, 3); // k = 0 (refinement), 3, 6
  // 1e-7: jax-js 0.1.25 rounds JS number constants to float32 under jit even in float64 mode
  assert.ok(relErr(gotX, x) < 1e-7, `x ${Array.from(gotX)} vs ${Array.from(x)}`);
  assert.ok(relErr(gotY, y) < 1e-7, `y ${Array.from(gotY)} vs ${Array.from(y)}`);
});

for (const random of [false, true]) {
  test(`borep on toy-sc${random ? " random=true" : ""}: distanceToOptimum < 1e-3`, async () => {
    const { r, steps } = await runTask("toy-sc", "borep", { random });
    assert.equal(r.status, "completed");
    assert.equal(r.steps, steps);
    assert.ok(r.final.distanceToOptimum < 1e-3, `distance ${r.final.distanceToOptimum}`);
  });
}

test("borep: bad input is a one-line BilevelInputError", async () => {
  const ufo = await getTask("toy-ufo").create({}, 0);
  await assert.rejects(solve(ufo, "borep", { steps: 1 }), (e: Error) => e instanceof BilevelInputError && /innerInit/.test(e.message) && !e.message.includes("\n"));
  const sc = await getTask("toy-sc").create({ n: 2, random: false }, 0);
  await assert.rejects(solve(sc, "borep", { steps: 1, options: { interval: 0 } }), (e: Error) => e instanceof BilevelInputError && /borep\.interval/.test(e.message));
  await assert.rejects(solve(sc, "borep", { steps: 1, options: { lrDecay: 0 } }), (e: Error) => e instanceof BilevelInputError && /borep\.lrDecay/.test(e.message));
});
