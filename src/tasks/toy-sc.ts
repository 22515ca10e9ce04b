/** toy-sc (strongly convex quadratic, optionally random SPD): the problem and its task (notes: docs/tasks/toy-sc.md). */
import { int } from "../options.js";
import { gaussian, mulberry32, np, zeros, type Arr } from "../engine/index.js";
import { add, eye, mat, matmul, matvec, randomSPD, solve, transpose, type Mat } from "../linalg.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { checkMemory, distanceMetrics, toArr, vec } from "./toy-kit.js";
import { tuned } from "./tuned.js";

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

export const toySCTask: TaskSpec<{ n: number; random: boolean }> = {
  name: "toy-sc",
  description: "Strongly convex quadratic; default optimum x = y = 0.5; random=true draws SPD A, D and B from the seed.",
  defaults: { n: 10, random: false },
  spec: { n: int(1) },
  help: { n: "dimension of x and y", random: "draw random SPD A, D (condition ~10) and B from the seed" },
  steps: 500,
  solverDefaults: tuned["toy-sc"],
  create: async (o, seed) => toySC(o.n, o.random, seed),
};
