/** toy-quadratic (random quadratic with an exact hypergradient and a stochastic oracle): the problem and its task (notes: docs/tasks/toy-quadratic.md). */
import { int, num } from "../options.js";
import { array, gaussian, mulberry32, np, treeToFloat64, zeros, type Arr } from "../engine/index.js";
import { mat, matvec, randomSPD, solve, transpose, type Mat } from "../linalg.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { checkMemory, distanceMetrics, half, sq, toArr, vec } from "./toy-kit.js";
import { tuned } from "./tuned.js";

/** toy-quadratic: f = 1/2 y'Hy + x'Cy + a'y, F = 1/2||y - yt||^2 + mu/2 ||x||^2, with exact hypergradient. */
export interface QuadraticData {
  H: Mat;
  C: Mat;
  a: Float64Array;
  yt: Float64Array;
  mu: number;
}
export function quadraticData(nx: number, ny: number, seed: number, cond = 10, mu = 0.1): QuadraticData {
  const rand = mulberry32(0x9a7 ^ seed);
  const normal = (k: number) => gaussian(rand, k);
  return {
    H: randomSPD(ny, cond, normal),
    C: mat(nx, ny, normal(nx * ny).map((v) => v / Math.sqrt(ny))),
    a: normal(ny),
    yt: normal(ny),
    mu,
  };
}
/** y*(x) and the exact hypergradient dF/dx = -C H^-1 (y*(x) - yt) + mu x, in float64. */
export function quadraticExact(d: QuadraticData, x: ArrayLike<number>): { yStar: Float64Array; hypergrad: Float64Array } {
  const ny = d.H.rows;
  const rhs = matvec(transpose(d.C), x).map((v, i) => v + d.a[i]);
  const yStar = solve(d.H, mat(ny, 1, rhs)).data.map((v) => -v);
  const w = solve(d.H, mat(ny, 1, yStar.map((v, i) => v - d.yt[i]))).data;
  const hg = matvec(d.C, w).map((v, i) => -v + d.mu * x[i]);
  return { yStar, hypergrad: hg };
}
/** A toy-quadratic minibatch: zero-mean noise for the upper (`uy`, `ux`) and lower (`ly`, `E`) objective. */
export type QuadraticBatch = { uy: Arr; ux: Arr; ly: Arr; E: Arr };
/**
 * toy-quadratic's stochastic oracle. With noise level s, a batch holds uy, ly ~ N(0, s^2 I_ny),
 * ux ~ N(0, s^2 I_nx) and a symmetric E = s (G + G') / (2 sqrt(ny)), G standard normal, so
 *   upper(x, y, b) = F(x, y) + <uy, y> + <ux, x>,   lower(x, y, b) = f(x, y) + <ly, y> + 1/2 y'E y
 * are unbiased for F and f, and so are their gradients, Hessian-vector products (H + E) v and cross
 * products (C). Draws are independent across (seed, step).
 */
function quadraticSampler(nx: number, ny: number, noise: number) {
  return (seed: number, step: number): QuadraticBatch => {
    const rand = mulberry32(Math.imul(seed ^ 0x51a7, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b));
    const g = (k: number) => gaussian(rand, k).map((v) => v * noise);
    const G = gaussian(rand, ny * ny);
    const E = new Float64Array(ny * ny);
    const c = noise / (2 * Math.sqrt(ny));
    for (let i = 0; i < ny; i++) for (let j = 0; j < ny; j++) E[i * ny + j] = c * (G[i * ny + j] + G[j * ny + i]);
    return { uy: array(g(ny)), ux: array(g(nx)), ly: array(g(ny)), E: array(E, [ny, ny]) };
  };
}
export function toyQuadratic(nx: number, ny: number, seed: number, noise = 0.05): BilevelProblem<Arr, Arr> & { data: QuadraticData } {
  // host: H, its solver copies, a minibatch's G and E; nx x ny C twice; the nx x nx optimality system
  checkMemory("toy-quadratic", `nx = ${nx}, ny = ${ny}`, 8 * (8 * ny * ny + 4 * nx * ny + 2 * nx * nx), "float64 ny x ny, nx x ny and nx x nx matrices");
  const d = quadraticData(nx, ny, seed);
  const [H, C, a, yt] = [toArr(d.H), toArr(d.C), vec(d.a), vec(d.yt)];
  // optimum: hypergrad(x) = 0 is linear in x: solve (mu I + C H^-1 H^-1 C') x = C H^-1 H^-1 (-a ... )
  const xs = solveQuadraticOptimum(d);
  const ys = quadraticExact(d, xs).yStar;
  return {
    name: "toy-quadratic",
    data: d,
    upper: (x, y, bt) => {
      const b = bt as QuadraticBatch | undefined;
      if (!b) return half(y.sub(yt.ref)).add(sq(x).mul(0.5 * d.mu));
      b.ly.dispose();
      b.E.dispose();
      return half(y.ref.sub(yt.ref)).add(sq(x.ref).mul(0.5 * d.mu)).add(b.uy.mul(y).sum()).add(b.ux.mul(x).sum());
    },
    lower: (x, y, bt) => {
      const b = bt as QuadraticBatch | undefined;
      const f = half2(H.ref, y.ref).add(np.matmul(x.reshape([1, nx]), np.matmul(C.ref, y.ref).reshape([nx, 1])).sum());
      if (!b) return f.add(a.ref.mul(y).sum());
      b.uy.dispose();
      b.ux.dispose();
      return f.add(a.ref.add(b.ly).mul(y.ref).sum()).add(half2(b.E, y));
    },
    sample: noise > 0 ? quadraticSampler(nx, ny, noise) : undefined,
    init: () => ({ x: zeros([nx]), y: zeros([ny]) }),
    evaluate: async (x, y) => {
      // the exact hypergradient at x (closed form, float64): the stationarity measure of issue 3
      const hg = quadraticExact(d, await treeToFloat64(x.ref)).hypergrad;
      return { ...(await distanceMetrics(x, y, xs, ys)), hypergradNorm: Math.hypot(...hg) };
    },
    exactHypergradient: (x) => quadraticExact(d, x).hypergrad,
    solution: { x: vec(xs), y: vec(ys), upperValue: NaN },
    info: { nx, ny, noise },
  };
}
const half2 = (M: Arr, v: Arr) => np.matmul(M, v.ref).mul(v).mul(0.5).sum();
function solveQuadraticOptimum(d: QuadraticData): Float64Array {
  // h(x) = -C H^-1 (y*(x) - yt) + mu x with y*(x) = -H^-1 (C' x + a) is affine: h(x) = M x + c.
  const nx = d.C.rows;
  const h0 = quadraticExact(d, new Float64Array(nx)).hypergrad;
  const M = mat(nx, nx);
  for (let j = 0; j < nx; j++) {
    const e = new Float64Array(nx);
    e[j] = 1;
    const hj = quadraticExact(d, e).hypergrad;
    for (let i = 0; i < nx; i++) M.data[i * nx + j] = hj[i] - h0[i];
  }
  return solve(M, mat(nx, 1, h0.map((v) => -v))).data;
}

export const toyQuadraticTask: TaskSpec<{ nx: number; ny: number; noise: number }> = {
  name: "toy-quadratic",
  description: "Random quadratic bilevel problem with an exact hypergradient (oracle checks, stochastic solvers).",
  defaults: { nx: 5, ny: 10, noise: 0.05 },
  spec: { nx: int(1), ny: int(1), noise: num(0) },
  help: { nx: "dimension of x", ny: "dimension of y", noise: "std of the minibatch noise in gradients and Hessians (0 = deterministic)" },
  steps: 1000,
  solverDefaults: tuned["toy-quadratic"],
  create: async (o, seed) => toyQuadratic(o.nx, o.ny, seed, o.noise),
};
