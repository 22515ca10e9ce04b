/**
 * UFO — UFO-BLO, the unbiased first-order bilevel estimator.
 * Likhosherstov, Song, Choromanski, Davis, Weller (2020), "UFO-BLO: Unbiased First-Order Bilevel
 * Optimization", arXiv:2006.03631. Official code: xingyousong/ufom (supervised_reptile/reptile.py; toy/toy.py).
 *
 * Per outer step k (y_0, y_T, the inner loop and g_FO exactly as in `fo`):
 *   q_k = exactProb (>= 0, fixed)  or  min(1, (k / horizon)^(-exactProb)) (< 0, the official adaptive rule)
 *   xi_k ~ Bernoulli(q_k) (host coin: mulberry32 seeded by (run seed, k));  g = g_FO if xi_k = 0, else
 *   g = g_FO + (1/q_k)(g_exact - g_FO), g_exact = d/dx F(x, y_T(x)) by reverse mode through the T inner
 *       steps and, with innerInit, through the start (unrolled in d = y - innerInit(x))
 *   x_{k+1} = proj_X(x_k - lr_k g),  lr_k = lrX / (k + 1)^lrPower (host, float64),  y_{k+1} = y_T
 * E[g] = g_exact for q_k > 0: the fixed point is the exact (unrolled) one (toy-ufo: 1.633, FO: 3.311);
 * with a constant step the iterates hover around it (the noise does not vanish). Two compiled steps
 * (FO-only and unrolling); 1/q_k enters as a scalar in the state, so a changing q_k does not retrace.
 * Defaults: T = 10, innerLr = lrX = 0.1 (as fo), lrPower = 0, exactProb = -1 with horizon = 1000 (the
 * official adaptive rule's linear ramp). toy-ufo runs the official toy's q = 0.9, step 5 / (k + 1) and
 * follows it step for step; differences from the official code: docs/solvers/ufo.md.
 * Assumptions: exact branch second order (memory linear in T); singleton lower level (or a fixed inner
 * procedure); minibatches used when the problem has `sample`. Without innerInit, g_exact is warm-started ITD.
 */
import { mulberry32, scalar, tadd, taxpy, tdispose, tref, tstop, tsub, tzerosLike, type Arr, type Tree, np } from "../engine/index.js";
import { num, positive, unrolled } from "../options.js";
import { gradientDescent, unrolledHypergrad, type Objective } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, innerStart, iterateXY, projX } from "./common.js";
import { firstOrderGrad } from "./fo.js";
import { BilevelInputError } from "../errors.js";

export const ufoDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, lrPower: 0, exactProb: -1, horizon: 1000 };

type UState = { x: Tree; y: Tree; w: Arr; lr?: Arr };
const neg = (a: number | Arr): number | Arr => (typeof a === "number" ? -a : a.neg());

/** q_k of the official code (fixed, or frac_done^(-exactProb) clipped to [0, 1]). */
export function ufoProbability(k: number, exactProb: number, horizon: number): number {
  if (exactProb >= 0) return Math.min(1, exactProb);
  return Math.min(1, Math.pow(Math.max(0, k) / horizon, -exactProb));
}

/** The Bernoulli coin of step k of a run seeded with `seed`: a uniform draw in [0, 1). */
export function ufoCoin(seed: number, k: number): number {
  const r = mulberry32((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0);
  r();
  return r();
}

export const ufo: SolverSpec<typeof ufoDefaults> = {
  name: "ufo",
  reference: "Likhosherstov, Song, Choromanski, Davis, Weller (2020). UFO-BLO: Unbiased First-Order Bilevel Optimization. arXiv:2006.03631.",
  summary: "Unbiased first-order estimator g_FO + (xi/q)(g_exact - g_FO), xi ~ Bernoulli(q), with the official adaptive q.",
  defaults: ufoDefaults,
  help: {
    T: "inner gradient steps per outer step (a problem's innerSteps override it)",
    innerLr: "inner gradient step size (a problem's innerSteps override it)",
    lrX: "outer step size on x (at step k: lrX / (k + 1)^lrPower)",
    lrPower: "step-size decay power (0 = constant; the official toy uses 1)",
    exactProb: "q >= 0: fixed probability of an exact (unrolled) step; q < 0: q_k = (k/horizon)^(-q) (official adaptive rule)",
    horizon: "steps over which the adaptive q_k ramps up to 1 (exactProb < 0)",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive(), lrPower: num(0), exactProb: num(-Infinity, 1), horizon: positive() },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  create(p, o) {
    if (!(o.exactProb <= 1)) throw new BilevelInputError(`solver ufo.exactProb: expected a probability <= 1 (or a negative power), got ${o.exactProb}`);
    if (o.exactProb < 0 && !(o.horizon > 0)) throw new BilevelInputError(`solver ufo.horizon: expected a positive number of steps, got ${o.horizon}`);
    const fns = fnsOf(p);
    const gd = innerGD(p, o.T, o.innerLr);
    // lr_k = lrX / (k + 1)^lrPower, computed on the host in float64 and passed in as a scalar (field `lr`).
    const stepSize = (k: Arr, lr: Arr | undefined): number | Arr => {
      k.dispose();
      return lr ?? o.lrX;
    };
    const withLr = (st: UState, k: number): UState => (o.lrPower === 0 ? st : { ...st, lr: scalar(o.lrX / Math.pow(k + 1, o.lrPower)) });
    // Cheap branch: first-order estimate only.
    const foStep = compileStep<UState>(({ x, y, w, lr: lrk }, k, batch) => {
      const lr = stepSize(k, lrk);
      const y0 = innerStart(p, tref(x), y);
      const yT = gradientDescent(fns.lower, tref(x), y0, gd, batch === undefined ? undefined : tref(batch));
      const g = firstOrderGrad(p, fns.upper, tref(x), tref(yT), batch);
      return { x: projX(p, taxpy(neg(lr), g, x)), y: yT, w };
    });
    // Exact branch: g_FO + w (g_exact - g_FO) with w = 1/q_k, both at the same y_T.
    // With innerInit, y_0 = innerInit(x) depends on x, and unrolledHypergrad holds its start constant;
    // so we unroll in the shifted variable d = y - innerInit(x) (d_0 = 0, same gradient steps, since
    // grad_d f(x, d + innerInit(x)) = grad_y f), which puts the dependence through the start inside
    // the differentiated function. (A projectY is applied with innerInit at the current x held
    // constant, so its Jacobian is not propagated through innerInit.)
    const init = p.innerInit ? (x: Tree) => p.innerInit!(x) : null;
    const shifted = (f: Objective): Objective => (x, d, b) => f(tref(x), tadd(d, init!(x)), b);
    const exactStep = compileStep<UState>(({ x, y, w, lr: lrk }, k, batch) => {
      const lr = stepSize(k, lrk);
      const b = batch === undefined ? undefined : { upper: tref(batch), lower: tref(batch) };
      let h: Tree;
      let yT: Tree;
      if (init) {
        tdispose(y);
        const c0 = tstop(init(tref(x)));
        const project = gd.project ? (d: Tree) => tsub(gd.project!(tadd(d, tref(c0))), tref(c0)) : undefined;
        const sfns = { upper: shifted(fns.upper), lower: shifted(fns.lower) };
        const r = unrolledHypergrad(sfns, tref(x), tzerosLike(tref(c0)), { ...gd, project }, b);
        r.value.dispose();
        h = r.h;
        yT = tadd(r.yT, c0);
      } else {
        const r = unrolledHypergrad(fns, tref(x), y, gd, b);
        r.value.dispose();
        h = r.h;
        yT = r.yT;
      }
      const g = firstOrderGrad(p, fns.upper, tref(x), tref(yT), batch);
      const mixed = taxpy(w.ref, tsub(h, tref(g)), g);
      return { x: projX(p, taxpy(neg(lr), mixed, x)), y: yT, w };
    });
    let seed = 0;
    return {
      init: (x, y, s) => {
        seed = s;
        return { x, y, w: scalar(0) };
      },
      step: (s, k, b) => {
        const st = s as UState;
        const q = ufoProbability(k, o.exactProb, o.horizon);
        if (q > 0 && ufoCoin(seed, k) < q) {
          st.w.dispose();
          return exactStep(withLr({ x: st.x, y: st.y, w: scalar(1 / q) }, k), k, b);
        }
        return foStep(withLr(st, k), k, b);
      },
      iterate: iterateXY,
      dispose: () => {
        foStep.dispose();
        exactStep.dispose();
      },
    };
  },
};
