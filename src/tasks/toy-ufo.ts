/** toy-ufo (UFO-BLO's two-task meta-learning toy): the problem, its closed-form optima and its task (notes: docs/tasks/toy-ufo.md). */
import { np, treeToFloat64, zeros, type Arr } from "../engine/index.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { vec } from "./toy-kit.js";
import { tuned } from "./tuned.js";

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

export const toyUFOTask: TaskSpec<Record<string, never>> = {
  name: "toy-ufo",
  description: "Two-task meta-learning toy: exact optimum theta = 1.633, first-order fixed point 3.311.",
  defaults: {},
  help: {},
  steps: 500,
  solverDefaults: tuned["toy-ufo"],
  create: async () => toyUFO(),
};
