/**
 * FO — first-order bilevel optimization (first-order MAML, "FO-BLO"): the hypergradient with every
 * second-order term dropped.
 * Finn, Abbeel, Levine (2017), "Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks",
 * ICML (first-order approximation, Sec. 5.2); Nichol, Achiam, Schulman (2018), "On First-Order
 * Meta-Learning Algorithms", arXiv:1803.02999 (FOMAML); named FO-BLO in Likhosherstov, Song,
 * Choromanski, Davis, Weller (2020), "UFO-BLO: Unbiased First-Order Bilevel Optimization",
 * arXiv:2006.03631 (official code: xingyousong/ufom, mode `FOML` with exact_prob = 0).
 *
 * Per outer step k:
 *   y_0 = innerInit(x_k)  (problems with `innerInit`, restart MAML-style)  or  y_k (warm start)
 *   y_{t+1} = y_t - innerLr grad_y f(x_k, y_t),  t < T   (the problem's `innerSteps` override T, innerLr)
 *   h = grad_x F(x_k, y_T) + [d innerInit(x_k) / dx]^T grad_y F(x_k, y_T)   (with innerInit)
 *   h = grad_x F(x_k, y_T)                                                   (without innerInit)
 *   x_{k+1} = proj_X(x_k - lrX h),   y_{k+1} = y_T
 * That is, the exact unrolled hypergradient grad_x F + (dy_T/dx)^T grad_y F with the Jacobian of the
 * inner loop dy_T/dy_0 = prod_t (I - innerLr grad^2_yy f) replaced by I and the mixed terms
 * -innerLr grad^2_xy f dropped: with `innerInit`, the gradient of F with respect to the inner-loop start
 * (the vector-Jacobian product of innerInit with grad_y F at y_T) plus the direct part grad_x F; without
 * `innerInit`, y_k does not depend on x and only grad_x F(x, y_T) is left.
 *
 * What it converges to (biased in general): on toy-ufo, sum_i grad l_i(phi_i) = 0, i.e.
 * theta = sum a_i c_i m_i / sum a_i c_i ~= 3.311 (not the exact 1.633). On toy-sc,
 * grad_x F = D (x - xh) = 0 gives x = xh and y = y*(xh) = A^{-1} B^T xh (the optimum only when the
 * implicit term B A^{-1} B^T x vanishes, i.e. never for B != 0): the default instance stops at
 * x = y = 1 instead of 0.5 (relative distance exactly 1).
 *
 * Assumptions: first order only (no Hessian- or Jacobian-vector products of f); memory constant in T;
 * stochastic minibatches are used when the problem has `sample` (one batch for f and F per step).
 * Defaults: T = 10 (the UFO-BLO toy's r = 10 and the official Omniglot runs' inner_iters = 10),
 * innerLr = 0.1, lrX = 0.1 (library conventions shared with itd; the official code's outer step is
 * meta_step (0.1) x the inner SGD rate (0.005) of its networks, which is specific to them).
 */
import { positive, unrolled } from "../options.js";
import { jax, taxpy, tadd, tdispose, tref, tstop, tvdot, type Arr, type Tree } from "../engine/index.js";
import { gradientDescent, grads, type Objective } from "../oracles/index.js";
import type { BilevelProblem, SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, innerStart, projX, type XY, xyInstance } from "./common.js";

export const foDefaults = { T: 10, innerLr: 0.1, lrX: 0.1 };

/**
 * The first-order hypergradient at (x, y_T): grad_x F(x, y_T), plus, when the problem has `innerInit`,
 * the vector-Jacobian product of innerInit at x with grad_y F(x, y_T). Consumes x, yT and batch.
 */
export function firstOrderGrad(p: BilevelProblem, upper: Objective, x: Tree, yT: Tree, batch?: Tree): Tree {
  const [Fx, Fy] = grads(upper, tref(x), yT, batch);
  if (!p.innerInit) {
    tdispose(Fy);
    tdispose(x);
    return Fx;
  }
  const cot = tstop(Fy);
  const back = jax.grad((xx: Tree): Arr => tvdot(p.innerInit!(xx), cot))(x) as Tree;
  return tadd(Fx, back);
}

export const fo: SolverSpec<typeof foDefaults> = {
  name: "fo",
  reference:
    "Finn, Abbeel, Levine (2017). Model-Agnostic Meta-Learning (first-order approximation). ICML; Nichol, Achiam, Schulman (2018). On First-Order Meta-Learning Algorithms. arXiv:1803.02999.",
  summary: "First-order hypergradient (FOMAML / FO-BLO): grad_x F at y_T plus grad_y F mapped back through innerInit; no second-order terms.",
  defaults: foDefaults,
  help: {
    T: "inner gradient steps per outer step (a problem's innerSteps override it)",
    innerLr: "inner gradient step size (a problem's innerSteps override it)",
    lrX: "outer step size on x",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive() },
  capabilities: { secondOrder: false, nonSingleton: false, constraints: false, stochastic: true },
  create(p, o) {
    const fns = fnsOf(p);
    const gd = innerGD(p, o.T, o.innerLr);
    const step = compileStep<XY>(({ x, y }, k, batch) => {
      k.dispose();
      const y0 = innerStart(p, tref(x), y);
      const yT = gradientDescent(fns.lower, tref(x), y0, gd, batch === undefined ? undefined : tref(batch));
      const h = firstOrderGrad(p, fns.upper, tref(x), tref(yT), batch);
      return { x: projX(p, taxpy(-o.lrX, h, x)), y: yT };
    });
    return xyInstance(step);
  },
};
