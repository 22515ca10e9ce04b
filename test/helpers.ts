/** Shared test set-up: start the engine once per test file (float64 unless a test asks otherwise). */
import { getSolver } from "../src/solvers/registry.js";
import "../src/node/host.js"; // the Node set-up (worker threads, environment, data files) before the engine loads
import assert from "node:assert/strict";
import { array, gaussian, initEngine, jax, mulberry32, np, type Arr, type FloatDtype } from "../src/engine/index.js";
import { mat, randomSPD, type Mat } from "../src/linalg.js";

export async function setup(dtype: FloatDtype = "float64"): Promise<void> {
  await initEngine({ dtype });
}

/** Relative error ||a - b|| / max(||b||, tiny). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}

import type { Options } from "../src/problem.js";
import { solve, type SolveResult } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import type { BilevelProblem } from "../src/problem.js";

/**
 * Build `taskName` and run `solver` on it as the CLI resolves them: task defaults + `taskOpts`, the
 * task's tuned defaults for the solver + `extra` (its `steps` too). The caller owns `result.x`, `result.y`.
 */
export async function solveTask(
  taskName: string,
  solver: string,
  taskOpts: Options = {},
  extra: Options & { steps?: number } = {},
  seed = 0,
): Promise<{ result: SolveResult; problem: BilevelProblem; steps: number }> {
  const task = getTask(taskName);
  const { steps: tunedSteps, ...tuned } = (task.solverDefaults?.[solver] ?? {}) as Options & { steps?: number };
  const { steps: extraSteps, ...over } = extra;
  const steps = extraSteps ?? tunedSteps ?? task.steps;
  const problem = await task.create({ ...task.defaults, ...taskOpts }, seed);
  const result = await solve(problem, getSolver(solver), { steps, seed, options: { ...tuned, ...over } });
  return { result, problem, steps };
}

/** `solveTask`, with the final iterate released: for tests that only read `result.final`. */
export async function runReleased(taskName: string, solver: string, taskOpts: Options = {}, extra: Options & { steps?: number } = {}, seed = 0): Promise<SolveResult> {
  const { result } = await solveTask(taskName, solver, taskOpts, extra, seed);
  jax.tree.dispose([result.x, result.y]);
  return result;
}

/** Assert that `solver` with the task's tuned defaults ends below `bound` in distanceToOptimum on each task variant. */
export async function assertReaches(taskName: string, solver: string, bound: number, variants: Options[] = [{}]): Promise<void> {
  for (const v of variants) {
    const r = await runReleased(taskName, solver, v);
    assert.equal(r.status, "completed", `${taskName} ${JSON.stringify(v)}: ${r.status}`);
    assert.ok(r.final.distanceToOptimum < bound, `${taskName} ${JSON.stringify(v)}: distance ${r.final.distanceToOptimum} after ${r.steps} steps`);
  }
}

/**
 * The small quadratic problem the exact-step tests replay on the host in float64:
 *   F = 1/2 y'Gy + 1/2 (x - xh)'D(x - xh),   f = 1/2 y'Ay - x'By
 * with random SPD A (condition 4), G (3), D (2), Gaussian B, xh, x0, y0 drawn from `seed`.
 * grad_y f = A y - B'x, grad^2_yy f = A, grad^2_xy f z = -B z, grad_y F = G y, grad_x F = D (x - xh).
 */
export function quadraticStepProblem(seed: number, n = 3) {
  const rand = mulberry32(seed);
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
  const dispose = () => {
    for (const a of [Aa, Ga, Da, Ba, xha]) a.dispose();
  };
  return { problem, n, A, G, D, B, xh, x0, y0, dispose };
}
