/**
 * ITD — iterative differentiation (reverse-mode unrolling, RHG).
 * Franceschi, Donini, Frasconi, Pontil (2017), "Forward and Reverse Gradient-Based Hyperparameter
 * Optimization", ICML; truncated variant: Shaban, Cheng, Hatch, Boots (2019), "Truncated
 * Back-propagation for Bilevel Optimization", AISTATS.
 *
 * Per outer step: y_0 = y_k (warm start) or innerInit(x_k) for meta-learning problems;
 *   y_{t+1} = y_t - innerLr grad_y f(x_k, y_t),  t < T
 *   h = d/dx F(x, y_T(x))   by reverse-mode differentiation through the last `truncate` inner steps
 *                           (truncate = 0: all T)
 *   x <- x - lrX h,  y <- y_T
 * Assumes a lower level that T gradient steps solve well; memory grows linearly in T (or truncate).
 * Defaults: T = 10, innerLr = 0.1, lrX = 0.1, truncate = 0 (full unrolling).
 */
import { int, positive, unrolled } from "../options.js";
import { taxpy, tref, type Tree, tdispose } from "../engine/index.js";
import { unrolledHypergrad } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, projX, withHypergrad, type XY, xyInstance } from "./common.js";

export const itdDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, truncate: 0 };

export const itd: SolverSpec<typeof itdDefaults> = {
  name: "itd",
  reference: "Franceschi, Donini, Frasconi, Pontil (2017). Forward and Reverse Gradient-Based Hyperparameter Optimization. ICML.",
  summary: "Reverse-mode differentiation through T unrolled inner gradient steps (optionally truncated).",
  defaults: itdDefaults,
  help: {
    T: "inner gradient steps per outer step",
    innerLr: "inner gradient step size",
    lrX: "outer step size on x",
    truncate: "differentiate through only the last `truncate` inner steps (0 = all)",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive(), truncate: int(0, "T") },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  create(p, o) {
    const fns = fnsOf(p);
    // meta-learning problems restart the unroll at innerInit(x), differentiated through
    const start = p.innerInit ? (x: Tree) => p.innerInit!(x) : undefined;
    const gd = { ...innerGD(p, o.T, o.innerLr), truncate: o.truncate, start };
    const step = compileStep<XY>(({ x, y }, k, batch) => {
      k.dispose();
      const b = batch === undefined ? undefined : { upper: tref(batch), lower: batch };
      const { h, yT, value } = unrolledHypergrad(fns, tref(x), y, gd, b);
      value.dispose();
      return { x: projX(p, taxpy(-o.lrX, h, x)), y: yT };
    });
    return withHypergrad(xyInstance(step), (x, y) => {
      const { h, yT, value } = unrolledHypergrad(fns, x, y, gd);
      tdispose([yT, value]);
      return h;
    });
  },
};
