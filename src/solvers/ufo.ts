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
import { mulberry32, tadd, tref, tsub } from "../engine/index.js";
import { bind, compileStep, defineSolver, innerGD, innerStart, iterateXY, num, objectives, optim, positive, projectX, scalar, tree, unrolled, unrolledHypergrad, xOptimizer, type Arr, type OptState, type Tree } from "../kit/index.js";
import type { Objective } from "../oracles/index.js";
import { firstOrderGrad } from "./fo.js";

export const ufoDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, lrPower: 0, exactProb: -1, horizon: 1000 };

type UState = { x: Tree; y: Tree; w: Arr; lr?: Arr } & OptState;

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

export const ufo = defineSolver({
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
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    const gd = innerGD(p, o.T, o.innerLr, o);
    const opt = xOptimizer(o);
    // lr_k = lrX / (k + 1)^lrPower, computed on the host in float64 and passed in as a scalar (field `lr`).
    const sched = optim.polynomial(o.lrX, o.lrPower);
    const withLr = (st: UState, k: number): UState => (sched.constant ? st : { ...st, lr: scalar(sched.at(k)) });
    const next = (s: UState, g: Tree, yT: Tree): UState => {
      const [x, st] = opt.update(s.x, g, s, s.lr ?? o.lrX);
      return { x: projectX(p, x), y: yT, w: s.w, ...st };
    };
    // Cheap branch: first-order estimate only.
    const foStep = compileStep<UState>((s, _k, batch) => {
      const yT = f.descend(s.x, innerStart(p, s.x, s.y), gd, batch);
      return next(s, firstOrderGrad(p, F, s.x, yT, batch), yT);
    });
    // Exact branch: g_FO + w (g_exact - g_FO) with w = 1/q_k, both at the same y_T.
    // With innerInit, y_0 = innerInit(x) depends on x, and unrolledHypergrad holds its start constant;
    // so we unroll in the shifted variable d = y - innerInit(x) (d_0 = 0, same gradient steps, since
    // grad_d f(x, d + innerInit(x)) = grad_y f), which puts the dependence through the start inside
    // the differentiated function. (A projectY is applied with innerInit at the current x held
    // constant, so its Jacobian is not propagated through innerInit.)
    const init = p.innerInit ? (x: Tree) => p.innerInit!(x) : null;
    const shifted = (fn: Objective): Objective => (x, d, b) => fn(tref(x), tadd(d, init!(x)), b);
    const exactStep = compileStep<UState>((s, _k, batch) => {
      const b = { upper: batch, lower: batch };
      let h: Tree;
      let yT: Tree;
      if (init) {
        const c0 = tree.stop(init(tree.ref(s.x)));
        const project = gd.project ? (d: Tree) => tsub(gd.project!(tadd(d, tref(c0))), tref(c0)) : undefined;
        const r = unrolledHypergrad(bind(shifted(F.fn)), bind(shifted(f.fn)), s.x, tree.zerosLike(c0), { ...gd, project }, b);
        h = r.h;
        yT = tree.add(r.yT, c0);
      } else {
        const r = unrolledHypergrad(F, f, s.x, s.y, gd, b);
        h = r.h;
        yT = r.yT;
      }
      const g = firstOrderGrad(p, F, s.x, yT, batch);
      return next(s, tree.axpy(s.w, tree.sub(h, g), g), yT);
    });
    let seed = 0;
    return {
      init: (x, y, sd) => {
        seed = sd;
        return { x, y, w: scalar(0), ...opt.init(x) };
      },
      step: (s, k, b) => {
        const st = s as UState;
        const q = ufoProbability(k, o.exactProb, o.horizon);
        if (q > 0 && ufoCoin(seed, k) < q) {
          st.w.dispose();
          return exactStep(withLr({ ...st, w: scalar(1 / q) }, k), k, b);
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
});
