/** Shared by the baseline solver tests (penalty, bvfsm, f2sa, soba, stocbio): run a task with its solverDefaults. */
import { treeToFloat64, tdispose } from "../src/engine/index.js";
import type { BilevelProblem, Options } from "../src/problem.js";
import { solve, type SolveResult } from "../src/run.js";
import { quadraticExact, type QuadraticData } from "../src/tasks/toys.js";
import { add, mat, matmul, matvec, randomSPD, solve as linsolve, transpose, type Mat } from "../src/linalg.js";
import { gaussian, mulberry32 } from "../src/engine/index.js";
import { solveTask } from "./helpers.js";

export interface Run {
  problem: BilevelProblem;
  result: SolveResult;
  x: Float64Array;
  y: Float64Array;
}

/** solve(task.create(opts, seed), solver, {steps, options}) with the task's solverDefaults applied under `extra`. */
export async function runTask(taskName: string, taskOpts: Options, solver: string, extra: Options & { steps?: number } = {}, seed = 0): Promise<Run> {
  const { result, problem } = await solveTask(taskName, solver, taskOpts, extra, seed);
  const x = await treeToFloat64(result.x);
  const y = await treeToFloat64(result.y);
  const dist = result.final.distanceToOptimum;
  console.log(`[baseline] ${solver} ${taskName} ${JSON.stringify(taskOpts)} status=${result.status} steps=${result.steps} distance=${dist?.toExponential(3)} ms/step=${result.msPerStep.toFixed(2)}`);
  return { problem, result, x, y };
}

/** ||exact hypergradient|| of toy-quadratic at x (closed form, float64). */
export function quadraticHypergradNorm(p: BilevelProblem, x: Float64Array): number {
  const hg = quadraticExact((p as unknown as { data: QuadraticData }).data, x).hypergrad;
  return Math.sqrt(hg.reduce((s, v) => s + v * v, 0));
}

/** toy-sc's matrices, regenerated exactly as src/tasks/toys.ts draws them (checked against problem.solution). */
export function toySCData(n: number, random: boolean, seed: number): { A: Mat; B: Mat; D: Mat; xh: Float64Array } {
  const eye = () => {
    const m = mat(n, n);
    for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
    return m;
  };
  let [A, B, D] = [eye(), eye(), eye()];
  if (random) {
    const rand = mulberry32(0x5eed ^ seed);
    const normal = (k: number) => gaussian(rand, k);
    A = randomSPD(n, 10, normal);
    D = randomSPD(n, 10, normal);
    B = mat(n, n, normal(n * n).map((v) => v / Math.sqrt(n)));
  }
  return { A, B, D, xh: new Float64Array(n).fill(1) };
}

/**
 * The stationary point of a value-function penalty F + c (f - v) on toy-sc. With y*(x) = A^-1 B' x,
 * f(x, y) - v(x) = 1/2 (y - y*(x))' A (y - y*(x)), so grad_y = 0 gives y = c/(1+c) A^-1 B' x and then
 * x_c = (D + c/(1+c) B A^-1 B')^-1 D xh. c = infinity gives the bilevel optimum.
 */
export function toySCPenaltyPoint(d: ReturnType<typeof toySCData>, c: number): { x: Float64Array; y: Float64Array } {
  const n = d.A.rows;
  const w = Number.isFinite(c) ? c / (1 + c) : 1;
  const AinvBt = linsolve(d.A, transpose(d.B));
  const M = matmul(d.B, AinvBt);
  const K = add(mat(n, n, M.data.map((v) => w * v)), d.D);
  const x = linsolve(K, mat(n, 1, matvec(d.D, d.xh))).data;
  const y = matvec(AinvBt, x).map((v) => w * v);
  return { x: Float64Array.from(x), y: Float64Array.from(y) };
}

/** ||(x, y) - (xs, ys)|| / max(1, ||(xs, ys)||), as the toys' distanceToOptimum. */
export function relDist(x: ArrayLike<number>, y: ArrayLike<number>, xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < xs.length; i++) (d += (x[i] - xs[i]) ** 2), (s += xs[i] ** 2);
  for (let i = 0; i < ys.length; i++) (d += (y[i] - ys[i]) ** 2), (s += ys[i] ** 2);
  return Math.sqrt(d) / Math.max(1, Math.sqrt(s));
}

export { tdispose };
