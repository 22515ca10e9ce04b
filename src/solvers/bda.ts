/**
 * BDA — Bi-level Descent Aggregation.
 * Liu, Mu, Yuan, Zeng, Zhang (2020), "A Generic First-Order Algorithmic Framework for Bi-Level
 * Programming Beyond Lower-Level Singleton", ICML 2020. Official code: vis-opt-group/BDA
 * (boml/lower_iter/aggr.py, TensorFlow); BOAT (callous-youth/BOAT, boat_torch/gm_ol/gda.py + ngd.py, "GDA").
 *
 * Per outer step (optimistic BLO: the lower loop drifts toward the minimizer the upper level prefers):
 *   y_0 = y_k (warm start) or innerInit(x_k) for meta-learning problems
 *   y_{t+1} = Proj_Y(y_t - [alpha_t su grad_y F(x, y_t) + (1 - alpha_t) sl grad_y f(x, y_t)]), t < T
 *   alpha_t = alpha0 alphaDecay^t (geometric, BOAT)  or  alpha0 / (t + 1) (harmonic, the paper's mu / (t + 1))
 *   h = d/dx F(x, y_T(x)) by reverse mode through the whole aggregated trajectory
 *   x <- Proj_X(x - lrX h), y <- y_T
 * Defaults: T = 5, su = sl = 0.1, alpha0 = 0.5, alphaDecay = 0.9 (BOAT's GDA), geometric, lrX = 0.1
 * (plain gradient step; the official upper optimizer is Adam). With them the solver follows BOAT's rule
 * step for step (test/parity-bda.test.ts); the official boml weights differ (docs/solvers/bda.md, also
 * for the toy-sc tuning: a fixed aggregation biases y_T, a short unroll truncates dy/dx).
 * Assumptions: deterministic; second order through reverse-mode unrolling (memory linear in T);
 * non-singleton lower level; no coupled constraints (projections onto X, Y applied).
 */
import { tadd, tref, tscale } from "../engine/index.js";
import { aggregatedDirection, bref, gradY } from "../oracles/index.js";
import { choice, compileStep, defineSolver, fraction, innerGD, num, objectives, positive, projectX, stepInstance, unrolled, unrolledHypergrad, xOptimizer, type Direction, type OptState, type Tree, type XY } from "../kit/index.js";

export const bdaDefaults = { T: 5, su: 0.1, sl: 0.1, alpha0: 0.5, alphaDecay: 0.9, schedule: "geometric", lrX: 0.1, fWeight: "complement" };

/** The inner-loop weights alpha_0 .. alpha_{T-1}. */
export function bdaAlphas(T: number, alpha0: number, alphaDecay: number, schedule: string): number[] {
  return Array.from({ length: T }, (_, t) => (schedule === "harmonic" ? alpha0 / (t + 1) : alpha0 * Math.pow(alphaDecay, t)));
}

export const bda = defineSolver({
  name: "bda",
  reference:
    "Liu, Mu, Yuan, Zeng, Zhang (2020). A Generic First-Order Algorithmic Framework for Bi-Level Programming Beyond Lower-Level Singleton. ICML.",
  summary: "Inner loop on alpha_t s_u grad_y F + (1-alpha_t) s_l grad_y f; hypergradient by reverse mode through it.",
  defaults: bdaDefaults,
  help: {
    T: "inner (aggregated) steps per outer step (warm-started)",
    su: "step on the upper-objective direction grad_y F (the paper's s_u)",
    sl: "step on the lower-objective direction grad_y f (the paper's s_l)",
    alpha0: "initial aggregation weight of F (0 = plain lower-level descent, i.e. ITD)",
    alphaDecay: "geometric schedule: alpha_t = alpha0 * alphaDecay^t",
    schedule: "geometric (BOAT/official code) or harmonic (paper: alpha_t = alpha0 / (t + 1))",
    lrX: "outer step size on x",
    fWeight: "weight of grad_y f: complement (1 - alpha_t, the paper and BOAT) or fixed (1 - alpha0 at every t, the official boml code)",
  },
  spec: { T: unrolled(), su: num(0), sl: positive(), alpha0: fraction(), alphaDecay: num(0, 1, { minOpen: true }), schedule: choice("geometric", "harmonic"), lrX: positive(), fWeight: choice("complement", "fixed") },
  capabilities: { secondOrder: true, nonSingleton: true, constraints: false, stochastic: false },
  create(p, o) {
    const { F, f } = objectives(p);
    // A meta-learning problem fixes the inner procedure: its steps, and its step size as s_l.
    const gd = innerGD(p, o.T, o.sl);
    const alphas = bdaAlphas(gd.steps, o.alpha0, o.alphaDecay, o.schedule);
    // official boml (lower_iter/aggr.py:103-104 with t_tensor = t + 1, upper_iter/reverse.py:183): only F's weight decays
    const direction: Direction =
      o.fWeight === "fixed"
        ? (x, y, t, batch) => tadd(tscale(alphas[t] * o.su, gradY(F.fn, tref(x), tref(y), bref(batch))), tscale((1 - o.alpha0) * gd.lr, gradY(f.fn, x, y, batch)))
        : aggregatedDirection(F.fn, f.fn, alphas, o.su, gd.lr);
    // meta-learning problems restart the unroll at innerInit(x), differentiated through (as in itd)
    const start = p.innerInit ? (x: Tree) => p.innerInit!(x) : undefined;
    const opt = xOptimizer(o);
    const step = compileStep<XY & OptState>((s) => {
      const { h, yT } = unrolledHypergrad(F, f, s.x, s.y, { ...gd, start, direction });
      const [x, st] = opt.update(s.x, h, s, o.lrX);
      return { x: projectX(p, x), y: yT, ...st };
    });
    return stepInstance(step, (x, y) => ({ x, y, ...opt.init(x) }));
  },
});
