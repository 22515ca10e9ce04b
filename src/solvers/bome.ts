/**
 * BOME — Bilevel Optimization Made Easy.
 * Ye, Liu, Wright, Stone, Liu (2022), "BOME! Bilevel Optimization Made Easy: A Simple First-Order
 * Approach", NeurIPS 2022. Official code: Cranial-XIX/BOME.
 *
 * Value-function method, first order, handles a non-singleton lower level. Per outer step k:
 *   y_T   = T steps of gradient descent on f(x_k, .) from y_k (step `innerLr`), held constant
 *   q(x,y) = f(x, y) - f(x, y_T)                        (value-function gap, >= 0 approximately)
 *   grad q = (grad_x f(x,y) - grad_x f(x,y_T),  grad_y f(x,y))
 *   phi   = eta ||grad q||^2
 *   lambda = max((phi - <grad F, grad q>) / (||grad q||^2 + eps), 0)
 *   x <- x - lrX (grad_x F + lambda grad_x q),   y <- y - lrY (grad_y F + lambda grad_y q)
 * (the official toy code writes lambda = relu(eta - <dF, dq>/(||dq||^2 + 1e-8)), the same thing).
 *
 * Defaults (official toy_lls.py): T = 10, eta = 0.5, step sizes 0.5 for x, y and the inner loop,
 * eps = 1e-8. The eps floor stops lambda from growing once ||grad q||^2 falls below it, which leaves a
 * bias of order sqrt(eps) in the limit point; toys that demand 1e-3 accuracy use a smaller eps.
 */
import { np, taxpy, tdispose, tref, tsqnorm, tvdot, type Arr } from "../engine/index.js";
import { grads, valueGap } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, iterateXY, projX, projY, type XY } from "./common.js";

export const bomeDefaults = { T: 10, eta: 0.5, innerLr: 0.5, lrX: 0.5, lrY: 0.5, eps: 1e-8 };

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
    eps: "floor added to ||grad q||^2 in lambda's denominator (limits lambda near the lower-level solution)",
  },
  capabilities: { secondOrder: false, nonSingleton: true, constraints: false, stochastic: false },
  create(p, o) {
    const fns = fnsOf(p);
    const gd = innerGD(p, o.T, o.innerLr);
    const step = compileStep<XY>(({ x, y }, k, batch) => {
      k.dispose();
      const gap = valueGap(fns.lower, tref(x), tref(y), gd, batch === undefined ? undefined : tref(batch));
      gap.q.dispose();
      tdispose(gap.yT);
      const [Fx, Fy] = grads(fns.upper, tref(x), tref(y), batch);
      const nq = tsqnorm(tref(gap.gx)).add(tsqnorm(tref(gap.gy)));
      const dot = tvdot(tref(Fx), tref(gap.gx)).add(tvdot(tref(Fy), tref(gap.gy)));
      const lambda: Arr = np.maximum(nq.ref.mul(o.eta).sub(dot).div(nq.add(o.eps)), 0);
      const dx = taxpy(lambda.ref, gap.gx, Fx);
      const dy = taxpy(lambda, gap.gy, Fy);
      return { x: projX(p, taxpy(-o.lrX, dx, x)), y: projY(p, taxpy(-o.lrY, dy, y)) };
    });
    return {
      init: (x, y) => ({ x, y }),
      step: (s, k, b) => step(s as XY, k, b),
      iterate: iterateXY,
      dispose: () => step.dispose(),
    };
  },
};
