/**
 * BOME — Bilevel Optimization Made Easy.
 * Ye, Liu, Wright, Stone, Liu (2022), "BOME! Bilevel Optimization Made Easy: A Simple First-Order
 * Approach", NeurIPS 2022. Official code: Cranial-XIX/BOME (toy/toy_lls.py).
 *
 * Value-function method, first order, handles a non-singleton lower level. Per outer step k:
 *   y_T   = T steps of gradient descent on f(x_k, .) from y_k (step `innerLr`), held constant
 *   q(x,y) = f(x, y) - f(x, y_T),  grad q = (grad_x f(x,y) - grad_x f(x,y_T),  grad_y f(x,y))
 *   lambda = relu(eta - <grad F, grad q> / (||grad q||^2 + eps))   (the paper's phi = eta ||grad q||^2,
 *            written as the official code writes it; eps = 1e-8 there)
 *   x <- x - s_k lrX (grad_x F + lambda grad_x q) (`optimizer`),  y <- y - s_k lrY (grad_y F + lambda grad_y q)
 *   s_k = max(lrDecay^floor(k / lrDecayEvery), lrMinFactor)   (ours; lrDecay = 1: the official constant steps)
 *
 * Defaults (official toy_lls.py): T = 10, eta = 0.5, step sizes 0.5 for x, y and the inner loop,
 * eps = 1e-8, constant steps. With them the solver reproduces the official toy iterate for iterate
 * (test/parity-bome.test.ts). Constant steps leave an O(lr) bias when the lower-level Hessian is not
 * a multiple of I (the explicit step on F + lambda q is stable only while lr (1 + lambda) L_q < 2);
 * decaying steps remove it. Measurements and the one deviation (the step decay): docs/solvers/bome.md.
 * Assumptions: deterministic or minibatched oracles; projections onto X and Y applied after each step.
 */
import { compileStep, defineSolver, innerGD, int, num, objectives, positive, projectX, projectY, stepInstance, tree, unrolled, valueGap, xOptimizer, yOptimizer, np, optim, type Arr, type OptState, type XY } from "../kit/index.js";

export const bomeDefaults = { T: 10, eta: 0.5, innerLr: 0.5, lrX: 0.5, lrY: 0.5, eps: 1e-8, lrDecay: 1, lrDecayEvery: 100, lrMinFactor: 0 };

export const bome = defineSolver({
  name: "bome",
  reference: "Ye, Liu, Wright, Stone, Liu (2022). BOME! Bilevel Optimization Made Easy. NeurIPS.",
  summary: "First-order value-function method: descend F while driving the gap f(x,y) - f(x,y_T) down.",
  defaults: bomeDefaults,
  help: {
    T: "inner gradient steps computing y_T",
    eta: "phi = eta * ||grad q||^2 (how fast the gap must fall)",
    innerLr: "inner gradient step size",
    lrX: "outer step size on x",
    lrY: "outer step size on y",
    eps: "added to ||grad q||^2 in lambda's denominator (official 1e-8)",
    lrDecay: "factor applied to lrX and lrY every lrDecayEvery steps (1 = constant steps, as the official code)",
    lrDecayEvery: "period of the step-size decay in outer steps",
    lrMinFactor: "floor of the step-size factor (lr_k >= lrMinFactor * lr)",
  },
  spec: { T: unrolled(), eta: num(0), innerLr: positive(), lrX: positive(), lrY: positive(), eps: num(0), lrDecay: num(0, 1, { minOpen: true }), lrDecayEvery: int(1), lrMinFactor: num(0, 1) },
  capabilities: { secondOrder: false, nonSingleton: true, constraints: false, stochastic: false },
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    const gd = innerGD(p, o.T, o.innerLr, o);
    const opt = xOptimizer(o);
    const yopt = yOptimizer(o);
    const schedX = optim.stepDecay(o.lrX, o.lrDecay, o.lrDecayEvery, o.lrMinFactor);
    const schedY = optim.stepDecay(o.lrY, o.lrDecay, o.lrDecayEvery, o.lrMinFactor);
    const lr = (sched: optim.Schedule, base: number, k: Arr): number | Arr => (sched.constant ? base : sched.traced(k.ref));
    const step = compileStep<XY & OptState>((s, k, batch) => {
      const { x, y } = s;
      const gap = valueGap(f, x, y, gd, batch);
      const [Fx, Fy] = F.grads(x, y, batch);
      const nq = tree.sqnorm(gap.gx).add(tree.sqnorm(gap.gy));
      const dot = tree.vdot(Fx, gap.gx).add(tree.vdot(Fy, gap.gy));
      // lambda = relu(eta - <grad F, grad q> / (||grad q||^2 + eps)) (paper's phi = eta ||grad q||^2; official toy_lls.py)
      const lambda = np.maximum(dot.div(nq.add(o.eps)).neg().add(o.eta), 0);
      const [x1, st] = opt.update(x, tree.axpy(lambda, gap.gx, Fx), s, lr(schedX, o.lrX, k));
      const [y1, sty] = yopt.update(y, tree.axpy(lambda, gap.gy, Fy), s, lr(schedY, o.lrY, k));
      return { x: projectX(p, x1), y: projectY(p, y1), ...st, ...sty };
    });
    return stepInstance(step, (x, y) => ({ x, y, ...opt.init(x), ...yopt.init(y) }));
  },
});
