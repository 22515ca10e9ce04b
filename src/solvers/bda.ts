/**
 * BDA — Bi-level Descent Aggregation.
 * Liu, Mu, Yuan, Zeng, Zhang (2020), "A Generic First-Order Algorithmic Framework for Bi-Level
 * Programming Beyond Lower-Level Singleton", ICML 2020 (extended: "A General Descent Aggregation
 * Framework for Gradient-based Bi-level Optimization", TPAMI 2022). Official code: vis-opt-group/BDA
 * (boml/lower_iter/aggr.py); also BOAT (callous-youth/BOAT, boat_torch/gm_ol/gda.py + ngd.py, "GDA").
 *
 * The lower loop descends an aggregation of both objectives, so among several lower-level minimizers
 * it drifts toward the one the upper level prefers (optimistic BLO; no lower-level singleton needed).
 * In the paper's notation, d^F_t = s_u grad_y F and d^f_t = s_l grad_y f: alpha_t weighs the UPPER
 * objective F (with step s_u), 1 - alpha_t the LOWER objective f (with step s_l). Per outer step:
 *   y_0 = y_k (warm start) or innerInit(x_k) for meta-learning problems
 *   y_{t+1} = Proj_Y(y_t - [alpha_t su grad_y F(x, y_t) + (1 - alpha_t) sl grad_y f(x, y_t)]),  t < T
 *   alpha_t = alpha0 alphaDecay^t    ("geometric": BOAT's alpha_init * alpha_decay^t; the official code
 *                                     scales its F term by 0.9^t the same way)
 *           = alpha0 / (t + 1)       ("harmonic": the paper's alpha_t = mu / (t + 1) with mu = alpha0)
 *   h = d/dx F(x, y_T(x))   reverse-mode through the whole aggregated trajectory (x enters through
 *                           both grad_y f and grad_y F; F's direct x-dependence included)
 *   x <- Proj_X(x - lrX h),  y <- y_T
 *
 * Defaults: T = 5 (official scripts' T, BOAT's lower_iters), su = sl = 0.1 (official: step lr = 0.1
 * in the few-shot script times the official s = t = 1 coefficients), alpha0 = 0.5 and
 * alphaDecay = 0.9 (BOAT's GDA alpha_init and alpha_decay), schedule = geometric, lrX = 0.1 (the
 * official upper optimizer is Adam on deep nets; 0.1 is our plain-gradient choice, not from the paper).
 * The paper defaults fit toy-lls (600 steps). On toy-sc they do not: the schedule restarts every
 * outer step, so F stays in the lower loop for good and biases y_T (it minimizes an average of f and
 * F), and a 5-step unroll differentiates only part of y*(x) (bias ~ (1 - sl lambda_min(A))^T). The
 * toy-sc task therefore uses alpha0 = 0.001, T = 40, sl = 0.18 (< 2 / lambda_max(A) for its
 * condition-10 A), lrX = 0.15, 60 steps (src/tasks/index.ts).
 *
 * Assumptions: deterministic; second order through reverse-mode unrolling (memory grows linearly
 * in T); handles a non-singleton lower level; no coupled constraints (projections onto X, Y applied).
 */
import { num, positive, fraction, choice, unrolled } from "../options.js";
import { taxpy, tdispose, tref, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { aggregatedDirection, unrolledHypergrad } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, projX, type XY, xyInstance } from "./common.js";

export const bdaDefaults = { T: 5, su: 0.1, sl: 0.1, alpha0: 0.5, alphaDecay: 0.9, schedule: "geometric", lrX: 0.1 };

/** The inner-loop weights alpha_0 .. alpha_{T-1}. */
export function bdaAlphas(T: number, alpha0: number, alphaDecay: number, schedule: string): number[] {
  return Array.from({ length: T }, (_, t) => (schedule === "harmonic" ? alpha0 / (t + 1) : alpha0 * Math.pow(alphaDecay, t)));
}

export const bda: SolverSpec<typeof bdaDefaults> = {
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
  },
  spec: { T: unrolled(), su: num(0), sl: positive(), alpha0: fraction(), alphaDecay: num(0, 1, { minOpen: true }), schedule: choice("geometric", "harmonic"), lrX: positive() },
  capabilities: { secondOrder: true, nonSingleton: true, constraints: false, stochastic: false },
  create(p, o) {
    if (!Number.isInteger(o.T) || o.T < 1) throw new BilevelInputError(`bda.T: expected a positive integer, got ${o.T}`);
    if (!(o.alpha0 >= 0 && o.alpha0 < 1)) throw new BilevelInputError(`bda.alpha0: expected a number in [0, 1), got ${o.alpha0}`);
    if (!(o.alphaDecay > 0 && o.alphaDecay <= 1)) throw new BilevelInputError(`bda.alphaDecay: expected a number in (0, 1], got ${o.alphaDecay}`);
    if (o.schedule !== "geometric" && o.schedule !== "harmonic") {
      throw new BilevelInputError(`bda.schedule: expected 'geometric' or 'harmonic', got '${o.schedule}'`);
    }
    const fns = fnsOf(p);
    // A meta-learning problem fixes the inner procedure: its steps, and its step size as s_l.
    const gd = innerGD(p, o.T, o.sl);
    const alphas = bdaAlphas(gd.steps, o.alpha0, o.alphaDecay, o.schedule);
    const direction = aggregatedDirection(fns.upper, fns.lower, alphas, o.su, gd.lr);
    // meta-learning problems restart the unroll at innerInit(x), differentiated through (as in itd)
    const start = p.innerInit ? (x: Tree) => p.innerInit!(x) : undefined;
    const step = compileStep<XY>(({ x, y }, k, batch) => {
      k.dispose();
      if (batch !== undefined) tdispose(batch);
      const { h, yT, value } = unrolledHypergrad(fns, tref(x), y, { ...gd, start, direction });
      value.dispose();
      return { x: projX(p, taxpy(-o.lrX, h, x)), y: yT };
    });
    return xyInstance(step);
  },
};
