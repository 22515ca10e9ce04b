/**
 * UFO — UFO-BLO, the unbiased first-order bilevel estimator.
 * Likhosherstov, Song, Choromanski, Davis, Weller (2020), "UFO-BLO: Unbiased First-Order Bilevel
 * Optimization", arXiv:2006.03631. Official code: xingyousong/ufom (supervised_reptile/reptile.py,
 * class UnbMAML; toy/toy.py).
 *
 * Per outer step k (y_0, y_T, the inner loop and g_FO exactly as in `fo`):
 *   q_k  = exactProb                              if exactProb >= 0   (fixed probability)
 *        = min(1, (k / horizon)^(-exactProb))     if exactProb < 0    (the official adaptive rule
 *                                                   q = frac_done^(-exact_prob), frac_done = k / horizon)
 *   xi_k ~ Bernoulli(q_k), drawn on the host from mulberry32 seeded by (run seed, k)
 *   xi_k = 0:  g = g_FO = grad_x F(x, y_T) + [d innerInit / dx]^T grad_y F(x, y_T)      (cheap step)
 *   xi_k = 1:  g = g_FO + (1/q_k) (g_exact - g_FO),  g_exact = d/dx F(x, y_T(x)) by reverse-mode
 *              differentiation through all T inner steps (unrolledHypergrad) and, with innerInit,
 *              through the start y_0 = innerInit(x) (unrolled in d = y - innerInit(x), see below)
 *   x_{k+1} = proj_X(x_k - lr_k g),  lr_k = lrX / (k + 1)^lrPower,   y_{k+1} = y_T
 * E[g] = g_exact for every q_k > 0, so the fixed point is the exact (unrolled) one: theta = 1.633 on
 * toy-ufo where FO stops at 3.311. The noise (1/q - 1)|g_exact - g_FO| does not vanish at the optimum,
 * so with a constant step the iterates hover around it (average them) unless q_k reaches 1.
 *
 * Implementation: two compiled steps, one FO-only and one that also unrolls; the host draws xi_k and
 * runs one of them, so unrolling costs only when xi_k = 1. The weight 1/q_k enters the compiled step
 * as a scalar array in the state (field `w`), so a changing q_k does not retrace the jit.
 * Differences from the official code: it scales the correction by 1/exact_prob even in the adaptive
 * mode (exact_prob < 0, a negative weight); we use 1/q_k, which is what makes the estimator unbiased.
 * Its x step is meta_step x (-inner SGD rate x g), annealed linearly; ours is lrX / (k + 1)^lrPower
 * (the official toy, toy/toy.py, uses start_step / (k + 1) with a fixed q = 0.9 for UFO-BLO).
 *
 * Assumptions: the exact branch is second order (differentiates through the inner loop, memory linear
 * in T); singleton lower level (or a fixed inner procedure); stochastic minibatches are used when the
 * problem has `sample`. For problems without `innerInit`, g_exact is the warm-started ITD gradient
 * (y_0 = y_k held constant), so the fixed point carries ITD's truncation bias (|I - innerLr A|^T).
 * Defaults: T = 10, innerLr = 0.1, lrX = 0.1 (as fo); lrPower = 0 (constant step; the official toy
 * decays with power 1, its networks anneal linearly); exactProb = -1, i.e. the official adaptive rule
 * with the linear ramp q_k = k / horizon (the official code defaults to exact_prob = 0, which is plain
 * FO, and its Omniglot grid uses fixed 0.1 / 0.2 / 1); horizon = 1000 (the run length the ramp is
 * stretched over; the official code uses its meta_iters; set it to your number of steps).
 */
import { num, positive, unrolled } from "../options.js";
import { mulberry32, np, scalar, tadd, taxpy, tdispose, tref, tstop, tsub, tzerosLike, type Arr, type Tree } from "../engine/index.js";
import { gradientDescent, unrolledHypergrad, type Objective } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, innerStart, iterateXY, projX } from "./common.js";
import { firstOrderGrad } from "./fo.js";
import { BilevelInputError } from "../errors.js";

export const ufoDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, lrPower: 0, exactProb: -1, horizon: 1000 };

type UState = { x: Tree; y: Tree; w: Arr };
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
    // Cheap branch: first-order estimate only.
    const stepSize = (k: Arr): number | Arr => {
      if (o.lrPower === 0) {
        k.dispose();
        return o.lrX;
      }
      return np.exp(np.log(k.add(1)).mul(-o.lrPower)).mul(o.lrX);
    };
    const foStep = compileStep<UState>(({ x, y, w }, k, batch) => {
      const lr = stepSize(k);
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
    const exactStep = compileStep<UState>(({ x, y, w }, k, batch) => {
      const lr = stepSize(k);
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
          return exactStep({ x: st.x, y: st.y, w: scalar(1 / q) }, k, b);
        }
        return foStep(st, k, b);
      },
      iterate: iterateXY,
      dispose: () => {
        foStep.dispose();
        exactStep.dispose();
      },
    };
  },
};
