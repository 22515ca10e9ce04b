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
 *   x <- x - lrX h (or the `optimizer` option's step),  y <- y_T
 * Assumes a lower level that T gradient steps solve well; memory grows linearly in T (or truncate).
 * Defaults: T = 10, innerLr = 0.1, lrX = 0.1, truncate = 0 (full unrolling).
 */
import { defineSolver, innerGD, int, objectives, positive, projectX, stepInstance, unrolled, unrolledHypergrad, withHypergrad, xOptimizer, compileStep, type OptState, type Tree, type XY } from "../kit/index.js";

export const itdDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, truncate: 0 };

export const itd = defineSolver({
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
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    // meta-learning problems restart the unroll at innerInit(x), differentiated through
    const start = p.innerInit ? (x: Tree) => p.innerInit!(x) : undefined;
    const gd = { ...innerGD(p, o.T, o.innerLr, o), truncate: o.truncate, start };
    const opt = xOptimizer(o);
    const step = compileStep<XY & OptState>((s, _k, batch) => {
      const { h, yT } = unrolledHypergrad(F, f, s.x, s.y, gd, { upper: batch, lower: batch });
      const [x, st] = opt.update(s.x, h, s, o.lrX);
      return { x: projectX(p, x), y: yT, ...st };
    });
    const hypergrad = (x: Tree, y: Tree) => unrolledHypergrad(F, f, x, y, gd).h;
    return withHypergrad(stepInstance(step, (x, y) => ({ x, y, ...opt.init(x) })), hypergrad);
  },
});
