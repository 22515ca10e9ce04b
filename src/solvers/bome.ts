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
 *   x <- x - s_k lrX (grad_x F + lambda grad_x q),   y <- y - s_k lrY (grad_y F + lambda grad_y q)
 *   s_k = max(lrDecay^floor(k / lrDecayEvery), lrMinFactor)   (ours; lrDecay = 1: the official constant steps)
 *
 * Defaults (official toy_lls.py): T = 10, eta = 0.5, step sizes 0.5 for x, y and the inner loop,
 * eps = 1e-8, constant steps. With them the solver reproduces the official toy iterate for iterate
 * (test/parity-bome.test.ts). Constant steps leave an O(lr) bias when the lower-level Hessian is not
 * a multiple of I (the explicit step on F + lambda q is stable only while lr (1 + lambda) L_q < 2);
 * decaying steps remove it. Measurements and the one deviation (the step decay): docs/solvers/bome.md.
 * Assumptions: deterministic or minibatched oracles; projections onto X and Y applied after each step.
 */
import { int, num, positive, unrolled } from "../options.js";
import { np, taxpy, tdispose, tref, tsqnorm, tvdot, type Arr } from "../engine/index.js";
import { grads, valueGap } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { BilevelInputError } from "../errors.js";
import { compileStep, fnsOf, innerGD, projX, projY, type XY, xyInstance } from "./common.js";

export const bomeDefaults = { T: 10, eta: 0.5, innerLr: 0.5, lrX: 0.5, lrY: 0.5, eps: 1e-8, lrDecay: 1, lrDecayEvery: 100, lrMinFactor: 0 };

export const bome: SolverSpec<typeof bomeDefaults> = {
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
  create(p, o) {
    if (!(o.lrDecay > 0 && o.lrDecay <= 1)) throw new BilevelInputError(`solver bome.lrDecay: expected a factor in (0, 1], got ${o.lrDecay}`);
    if (!(Number.isInteger(o.lrDecayEvery) && o.lrDecayEvery >= 1)) {
      throw new BilevelInputError(`solver bome.lrDecayEvery: expected a positive integer, got ${o.lrDecayEvery}`);
    }
    if (!(o.lrMinFactor >= 0 && o.lrMinFactor <= 1)) throw new BilevelInputError(`solver bome.lrMinFactor: expected a number in [0, 1], got ${o.lrMinFactor}`);
    const decays = o.lrDecay !== 1;
    const fns = fnsOf(p);
    const gd = innerGD(p, o.T, o.innerLr);
    const step = compileStep<XY>(({ x, y }, k, batch) => {
      let lrX: number | Arr;
      let lrY: number | Arr;
      if (decays) {
        const s = np.maximum(np.exp(np.floor(k.div(o.lrDecayEvery)).mul(Math.log(o.lrDecay))), o.lrMinFactor);
        lrX = s.ref.mul(-o.lrX);
        lrY = s.mul(-o.lrY);
      } else {
        k.dispose();
        lrX = -o.lrX;
        lrY = -o.lrY;
      }
      const gap = valueGap(fns.lower, tref(x), tref(y), gd, batch === undefined ? undefined : tref(batch));
      gap.q.dispose();
      tdispose(gap.yT);
      const [Fx, Fy] = grads(fns.upper, tref(x), tref(y), batch);
      const nq = tsqnorm(tref(gap.gx)).add(tsqnorm(tref(gap.gy)));
      const dot = tvdot(tref(Fx), tref(gap.gx)).add(tvdot(tref(Fy), tref(gap.gy)));
      // lambda = relu(eta - <grad F, grad q> / (||grad q||^2 + eps)) (paper's phi = eta ||grad q||^2; official toy_lls.py)
      const lambda: Arr = np.maximum(dot.div(nq.add(o.eps)).neg().add(o.eta), 0);
      const dx = taxpy(lambda.ref, gap.gx, Fx);
      const dy = taxpy(lambda, gap.gy, Fy);
      return { x: projX(p, taxpy(lrX, dx, x)), y: projY(p, taxpy(lrY, dy, y)) };
    });
    return xyInstance(step);
  },
};
