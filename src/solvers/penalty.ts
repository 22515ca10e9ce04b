/**
 * penalty — value-function penalty method (V-PBGD).
 * Shen, Chen (2023), "On Penalty-based Bilevel Gradient Descent Method", ICML 2023.
 * Official code: hanshen95/penalized-bilevel-gradient-descent (V-PBGD/).
 *
 * Gradient descent on P(x, y) = F(x, y) + gamma (f(x, y) - v(x)), v(x) = min_y f(x, y) tracked by a
 * warm-started sequence w, so grad_x v(x) ~= grad_x f(x, w) (Danskin). Per outer step k:
 *   w      <- T steps of  w - innerLr grad_y f(x_k, w)                     (from the previous w)
 *   gamma_k = min(gammaMax, gamma0 + (gammaMax - gamma0) k / gammaSteps)   (gammaSteps = 0: gamma_k = gammaMax)
 *   s_k    = min(1 / gamma_k, 1)                                          (official `lr_decay`)
 *   x      <- x - lrX s_k (grad_x F(x, y) + gamma_k (grad_x f(x, y) - grad_x f(x, w)))   (through `optimizer`)
 *   y      <- y - lrY s_k (grad_y F(x, y) + gamma_k  grad_y f(x, y))
 * Our two-timescale variant (off by default): `yLoop = K > 1` y steps, then x at the new y; `scaleX =
 * false` drops s_k on x (docs/solvers/penalty.md). The fixed point is O(1/gamma) from the bilevel
 * solution (closed form on toy-sc in the docs page). Assumes a lower level with a PL / error-bound
 * condition (not necessarily a singleton); first order; deterministic.
 * Defaults — official data-hyper-cleaning script: lrX = lrY = 0.1, innerLr = 0.01, T = 1, gamma0 = 0,
 * gammaMax = 0.2, gammaSteps = 30000; yLoop = 1, scaleX = true (the paper's joint update).
 */
import { compileStep, defineSolver, innerGD, int, np, num, objectives, positive, projectX, projectY, scalar, stepInstance, tree, unrolled, xOptimizer, yOptimizer, type Arr, type OptState, type Tree } from "../kit/index.js";

export const penaltyDefaults = { T: 1, innerLr: 0.01, lrX: 0.1, lrY: 0.1, gamma0: 0, gammaMax: 0.2, gammaSteps: 30000, yLoop: 1, scaleX: true };

type PenaltyState = { x: Tree; y: Tree; w: Tree } & OptState;

/** gamma_k and the step scale min(1/gamma_k, 1) as scalar arrays (k consumed). */
export function penaltySchedule(k: Arr, gamma0: number, gammaMax: number, gammaSteps: number): { gamma: Arr; scale: Arr } {
  const gamma: Arr =
    gammaSteps > 0 ? np.minimum(k.mul((gammaMax - gamma0) / gammaSteps).add(gamma0), gammaMax) : (k.dispose(), scalar(gammaMax));
  const scale: Arr = np.minimum(np.reciprocal(np.maximum(gamma.ref, 1e-8)), 1);
  return { gamma, scale };
}

export const penalty = defineSolver({
  name: "penalty",
  reference: "Shen, Chen (2023). On Penalty-based Bilevel Gradient Descent Method. ICML.",
  summary: "V-PBGD: gradient descent on F + gamma (f(x,y) - v(x)), v(x) tracked by a warm-started inner GD sequence.",
  defaults: penaltyDefaults,
  help: {
    T: "inner gradient steps per outer step on the value-function sequence w (warm-started)",
    innerLr: "inner gradient step size (w)",
    lrX: "outer step size on x (scaled by min(1/gamma, 1))",
    lrY: "outer step size on y (scaled by min(1/gamma, 1))",
    gamma0: "initial penalty constant",
    gammaMax: "final penalty constant",
    gammaSteps: "outer steps of the linear ramp gamma0 -> gammaMax (0: constant gammaMax)",
    yLoop: "y steps per outer step (1: the paper's joint update; K > 1: K y steps, then x at the new y)",
    scaleX: "scale the x step by min(1/gamma, 1) as the paper does (false: only y steps are scaled)",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive(), lrY: positive(), gamma0: num(0), gammaMax: num(0), gammaSteps: int(0), yLoop: unrolled() },
  capabilities: { secondOrder: false, nonSingleton: true, constraints: false, stochastic: false },
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    const gd = innerGD(p, o.T, o.innerLr, o);
    const opt = xOptimizer(o);
    const yopt = yOptimizer(o);
    const step = compileStep<PenaltyState>((s, k) => {
      const { x } = s;
      let y = s.y;
      let sy: OptState = s;
      const { gamma, scale } = penaltySchedule(k, o.gamma0, o.gammaMax, o.gammaSteps);
      const wT = f.descend(tree.stop(x), s.w, gd);
      const lrY = scale.ref.mul(o.lrY);
      const lrX = o.scaleX ? scale.mul(o.lrX) : o.lrX;
      // the y half of the joint gradient of P at (x, y)
      const yGrad = (yy: Tree): Tree => tree.axpy(gamma, f.gradY(x, yy), F.gradY(x, yy));
      let dx: Tree;
      if (o.yLoop === 1) {
        // the paper's joint step: both gradients at the current (x, y)
        const [Fx, Fy] = F.grads(x, y);
        const [fx, fy] = f.grads(x, y);
        dx = tree.axpy(gamma, tree.sub(fx, f.gradX(x, wT)), Fx);
        [y, sy] = yopt.update(y, tree.axpy(gamma, fy, Fy), sy, lrY);
        y = projectY(p, y);
      } else {
        for (let i = 0; i < o.yLoop; i++) {
          [y, sy] = yopt.update(y, yGrad(y), sy, lrY);
          y = projectY(p, y);
        }
        dx = tree.axpy(gamma, tree.sub(f.gradX(x, y), f.gradX(x, wT)), F.gradX(x, y));
      }
      const [x1, st] = opt.update(x, dx, s, lrX);
      return { x: projectX(p, x1), y, w: wT, ...st, ...(sy.optY ? { optY: sy.optY } : {}) };
    });
    return stepInstance(step, (x, y) => ({ x, w: tree.map((u) => u.add(0), y), y, ...opt.init(x), ...yopt.init(y) }));
  },
});
