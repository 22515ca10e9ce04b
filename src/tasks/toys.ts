/**
 * The toy problems with closed-form optima (shared/TASKS.md): the correctness suite every solver is
 * checked on. Each reports `distanceToOptimum` = ||z - z*|| / max(1, ||z*||) over z = (x, y).
 */
import { array, full, gaussian, mulberry32, np, treeToFloat64, zeros, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { add, eye, mat, matmul, matvec, norm, randomSPD, solve, transpose, type Mat } from "../linalg.js";

/**
 * Memory limit of a toy instance: 4 GiB, the most a wasm32 engine memory (and so one run's device
 * arrays) can address; the host float64 copies are counted against it too, so a size that cannot run is
 * refused in one line before anything is allocated.
 */
export const TOY_MEMORY_LIMIT = 2 ** 32;

const gib = (b: number) => (b >= 2 ** 40 ? `${(b / 2 ** 40).toPrecision(3)} TiB` : b >= 2 ** 30 ? `${(b / 2 ** 30).toPrecision(3)} GiB` : `${(b / 2 ** 20).toPrecision(3)} MiB`);

/** Throw a one-line `BilevelInputError` when the estimated `bytes` of an instance exceed the limit. */
export function checkMemory(task: string, size: string, bytes: number, what: string): void {
  if (!(bytes <= TOY_MEMORY_LIMIT)) {
    throw new BilevelInputError(`task ${task}: ${size} needs about ${gib(bytes)} (${what}), more than the limit ${gib(TOY_MEMORY_LIMIT)}; use a smaller size`);
  }
}

type Pair = { y1: Arr; y2: Arr };
const half = (a: Arr) => a.ref.mul(a).sum().mul(0.5);
const sq = (a: Arr) => a.ref.mul(a).sum();

/** ||z - z*|| / max(1, ||z*||) for flat float64 vectors. */
export function relativeDistance(z: Float64Array, zStar: Float64Array): number {
  let d = 0;
  for (let i = 0; i < z.length; i++) d += (z[i] - zStar[i]) ** 2;
  return Math.sqrt(d) / Math.max(1, norm(zStar));
}

async function distanceMetrics(x: Tree, y: Tree, xs: Float64Array, ys: Float64Array): Promise<Record<string, number>> {
  const zx = await treeToFloat64(x);
  const zy = await treeToFloat64(y);
  const z = Float64Array.from([...zx, ...zy]);
  const zs = Float64Array.from([...xs, ...ys]);
  return { distanceToOptimum: relativeDistance(z, zs), distanceX: relativeDistance(zx, xs) };
}

const toArr = (m: Mat): Arr => array(m.data, [m.rows, m.cols]);
const vec = (v: ArrayLike<number>): Arr => array(Float64Array.from(v));

// ---------------------------------------------------------------------------------------------------
/** toy-lls: non-singleton lower level; optimistic optimum x = y1 = y2 = 1. Starts at x = y1 = y2 = `start` (sl-BAMM's official toy: 0.01). */
export function toyLLS(n: number, start = 0): BilevelProblem<Arr, Pair> {
  checkMemory("toy-lls", `n = ${n}`, 8 * 24 * n, "about 24 float64 vectors of length n");
  const ones = new Float64Array(n).fill(1);
  return {
    name: "toy-lls",
    upper: (x, y) => half(x.sub(y.y2)).add(half(y.y1.sub(1))),
    lower: (x, y) => {
      y.y2.dispose(); // f does not depend on y2
      return half(y.y1.ref).sub(x.mul(y.y1).sum());
    },
    init: () => ({ x: full([n], start), y: { y1: full([n], start), y2: full([n], start) } }),
    evaluate: async (x, y) => {
      const meanX = (await treeToFloat64(x.ref.mean())).at(0)!;
      return { ...(await distanceMetrics(x, y, ones, Float64Array.from([...ones, ...ones]))), meanX };
    },
    solution: { x: full([n], 1), y: { y1: full([n], 1), y2: full([n], 1) }, upperValue: 0 },
    info: { n },
  };
}

// ---------------------------------------------------------------------------------------------------
/** toy-sc: strongly convex quadratic; F = 1/2 y'Ay + 1/2 (x-xh)'D(x-xh), f = 1/2 y'Ay - x'By. */
export function toySC(n: number, random: boolean, seed: number): BilevelProblem<Arr, Arr> {
  // host: A, B, D, B', A^-1 B', B A^-1 B' + D and the solver's working copies; device: A, B, D
  checkMemory("toy-sc", `n = ${n}`, 8 * 13 * n * n, "about 13 float64 n x n matrices");
  let A = eye(n);
  let B = eye(n);
  let D = eye(n);
  const xh = new Float64Array(n).fill(1);
  if (random) {
    const rand = mulberry32(0x5eed ^ seed);
    const normal = (k: number) => gaussian(rand, k);
    A = randomSPD(n, 10, normal);
    D = randomSPD(n, 10, normal);
    B = mat(n, n, normal(n * n).map((v) => v / Math.sqrt(n)));
  }
  // x* = (B A^-1 B' + D)^-1 D xh, y* = A^-1 B' x*
  const AinvBt = solve(A, transpose(B));
  const BAinvBt = matmul(B, AinvBt);
  const xs = solve(add(BAinvBt, D), mat(n, 1, matvec(D, xh))).data;
  const ys = matvec(AinvBt, xs);
  const [Aa, Ba, Da, xha] = [toArr(A), toArr(B), toArr(D), vec(xh)];
  const quad = (M: Arr, v: Arr) => np.matmul(M, v.ref).mul(v).mul(0.5).sum();
  return {
    name: "toy-sc",
    upper: (x, y) => quad(Aa.ref, y).add(quad(Da.ref, x.sub(xha.ref))),
    lower: (x, y) => quad(Aa.ref, y.ref).sub(np.matmul(Ba.ref, y).mul(x).sum()),
    init: () => ({ x: zeros([n]), y: zeros([n]) }),
    evaluate: (x, y) => distanceMetrics(x, y, xs, ys),
    // y*(x) = A^-1 B' x, so dF/dx = B A^-1 B' x + D (x - xh)
    exactHypergradient: (x) => {
      const g = matvec(BAinvBt, x);
      const dx = matvec(D, Float64Array.from(x, (v, i) => v - xh[i]));
      return g.map((v, i) => v + dx[i]);
    },
    solution: { x: vec(xs), y: vec(ys), upperValue: 0.5 * dotq(A, ys) + 0.5 * dotq(D, xs.map((v, i) => v - xh[i])) },
    info: { n, random },
  };
}
const dotq = (M: Mat, v: ArrayLike<number>) => matvec(M, v).reduce((s, a, i) => s + a * v[i], 0);

// ---------------------------------------------------------------------------------------------------
/**
 * toy-constrained: coupled constraint -(1'x + 1'y1 + 1'y2) <= 0; optimum x = -0.3, y1 = 0.7, y2 = -0.4.
 * Starts at x = y1 = y2 = 10, or with `officialStart` at LV-HBA's official start (Toy-example/LLC/LV-HBA.py
 * projects x = y = 10 with proj1 on x first, then on y: x = 10 - 30 = -20, y1 = y2 = 10, for n = 100).
 */
export function toyConstrained(n: number, officialStart = false): BilevelProblem<Arr, Pair> {
  checkMemory("toy-constrained", `n = ${n}`, 8 * 24 * n, "about 24 float64 vectors of length n");
  const fill = (v: number) => new Float64Array(n).fill(v);
  return {
    name: "toy-constrained",
    upper: (x, y) => half(x.sub(y.y2)).add(half(y.y1.sub(1))),
    lower: (x, y) => half(y.y1.ref).sub(x.mul(y.y1).sum()).add(y.y2.sum()),
    constraint: (x, y) => x.sum().add(y.y1.sum()).add(y.y2.sum()).neg().reshape([1]),
    init: () => ({ x: full([n], officialStart ? 10 - (10 * n + 20 * n) / n : 10), y: { y1: full([n], 10), y2: full([n], 10) } }),
    evaluate: async (x, y) => {
      const g = await treeToFloat64(x.ref.sum().add(y.y1.ref.sum()).add(y.y2.ref.sum()).neg());
      return { ...(await distanceMetrics(x, y, fill(-0.3), Float64Array.from([...fill(0.7), ...fill(-0.4)]))), constraintViolation: Math.max(0, g[0]) };
    },
    solution: { x: full([n], -0.3), y: { y1: full([n], 0.7), y2: full([n], -0.4) }, upperValue: 0.05 * n },
    info: { n },
  };
}

// ---------------------------------------------------------------------------------------------------
/** toy-ufo constants: two tasks l_i(t) = 1/2 a_i t^2 - b_i t, r inner steps of size alpha. */
export const UFO = { a: [0.5, 1.5], b: [0, 10], r: 10, alpha: 0.1 };
export function ufoOptima(): { exact: number; firstOrder: number } {
  const m = UFO.b.map((b, i) => b / UFO.a[i]);
  const c = UFO.a.map((a) => (1 - UFO.alpha * a) ** UFO.r);
  const w2 = UFO.a.map((a, i) => a * c[i] * c[i]);
  const w1 = UFO.a.map((a, i) => a * c[i]);
  const wsum = (w: number[]) => w.reduce((s, v, i) => s + v * m[i], 0) / w.reduce((s, v) => s + v, 0);
  return { exact: wsum(w2), firstOrder: wsum(w1) };
}

/**
 * toy-ufo: first-order meta-learning is biased. x = theta (shape [1]), y = per-task adapted parameters
 * phi (shape [2]); the lower level is `r` gradient steps from phi_i = theta (`innerInit`), so solvers
 * restart the inner loop at theta every outer step. F(theta, phi) = sum_i l_i(phi_i).
 */
export function toyUFO(): BilevelProblem<Arr, Arr> {
  const a = vec(UFO.a);
  const b = vec(UFO.b);
  const loss = (phi: Arr) => a.ref.mul(phi.ref).mul(phi.ref).mul(0.5).sub(b.ref.mul(phi)).sum();
  const { exact } = ufoOptima();
  const phiStar = UFO.b.map((bi, i) => {
    const m = bi / UFO.a[i];
    return m + (1 - UFO.alpha * UFO.a[i]) ** UFO.r * (exact - m);
  });
  return {
    name: "toy-ufo",
    upper: (x, y) => {
      x.dispose();
      return loss(y);
    },
    lower: (x, y) => {
      x.dispose();
      return loss(y);
    },
    innerInit: (x) => np.broadcastTo(x, [2]),
    innerSteps: { steps: UFO.r, lr: UFO.alpha },
    init: () => ({ x: zeros([1]), y: zeros([2]) }),
    evaluate: async (x, y) => {
      y.dispose();
      const t = (await treeToFloat64(x))[0];
      return { distanceToOptimum: Math.abs(t - exact) / Math.max(1, Math.abs(exact)), theta: t };
    },
    solution: { x: vec([exact]), y: vec(phiStar), upperValue: UFO.a.reduce((s, a, i) => s + 0.5 * a * phiStar[i] ** 2 - UFO.b[i] * phiStar[i], 0) },
    info: ufoOptima(),
  };
}

// ---------------------------------------------------------------------------------------------------
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

export { half, sq };
