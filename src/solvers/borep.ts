/**
 * BO-REP — Bilevel Optimization with lower-level initialization REfinement and Periodic updates.
 * Hao, Gong, Liu (2024), "Bilevel Optimization under Unbounded Smoothness: A New Algorithm and
 * Convergence Analysis", ICLR 2024. Official code: MingruiLiu-ML-Lab/Bilevel-Optimization-under-
 * Unbounded-Smoothness (data_cleaning/, hyperparam_opt/, meta_learning/ bo_rep.py and main.py).
 *
 * State (x, y, z, m); z estimates [grad^2_yy f]^{-1} grad_y F, m is the momentum of the hypergradient.
 * Per outer step k:
 *   lower level:  k = 0:                 y <- initSteps gradient steps on f(x_0, .) from y_0
 *                                          (initialization refinement, once x is initialized)
 *                 k > 0, k % interval = 0: y <- T gradient steps on f(x_k, .) from the current y
 *                                          (periodic update, warm start; step size innerLr)
 *                 otherwise:              y unchanged
 *   z_{k+1} = z_k - nu (grad^2_yy f(x_k, y) z_k - grad_y F(x_k, y))
 *             (one gradient step on 1/2 z^T H z - z^T grad_y F)
 *   g_k     = grad_x F(x_k, y) - grad^2_xy f(x_k, y) z_{k+1}
 *   m_{k+1} = beta m_k + (1 - beta) g_k
 *   eta_k   = lrX * lrDecay^floor(k / lrDecayEvery)      (lrDecayEvery = 0: constant lrX)
 *   x_{k+1} = proj_X(x_k - eta_k m_{k+1} / (||m_{k+1}|| + 1e-10))      (normalized momentum)
 * The cross term uses the freshly updated z_{k+1} and the step-size schedule is a StepLR, both as
 * in the official code (its Hessian-vector product is taken before the lower update of the same step;
 * here every derivative of step k is taken at the updated y). z_0 = 0 and m_0 = 0 (the official code
 * draws z_0 from a Xavier-uniform distribution); z is not projected (the official code does not).
 *
 * Periodic logic: the host picks one of three compiled steps by k (refinement, periodic update,
 * hold); each is jitted once, so steps without a lower update cost no inner gradients.
 *
 * Assumptions: strongly convex lower level (singleton y*(x), invertible grad^2_yy f); second order
 * (Hessian- and Jacobian-vector products of f); upper level may be unboundedly smooth (normalized
 * steps); stochastic: uses the problem's minibatch, one per outer step, for every oracle. Memory
 * constant in T. Not for problems with `innerInit` (a fixed MAML-style inner procedure): the periodic
 * warm-started lower level and the implicit z cannot express the dependence through the inner start.
 * Defaults (official data_cleaning/main.py, the data hyper-cleaning experiment): interval = 2
 * (--interval), T = 10 (--y_warm_start), initSteps = 10 (the official code's first step is just its
 * first periodic update), innerLr = 0.05 (--inner_update_lr), lrX = 0.05 (--outer_update_lr),
 * beta = 0.9 (--beta), nu = 0.01 (--nu), lrDecay = 0.2 (StepLR gamma) with lrDecayEvery = 0 (the
 * official StepLR steps once per epoch with step_size = epochs, i.e. it never decays within a run).
 */
import { int, num, positive, fraction, unrolled } from "../options.js";
import { np, scalar, taxpy, tnorm, tref, tscale, tsub, tzerosLike, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { bref, gradientDescent, grads, hvpYY, jvpXY } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, iterateXY, projX, type CompiledStep } from "./common.js";

export const borepDefaults = {
  interval: 2,
  T: 10,
  initSteps: 10,
  innerLr: 0.05,
  lrX: 0.05,
  beta: 0.9,
  nu: 0.01,
  lrDecay: 0.2,
  lrDecayEvery: 0,
};

type BState = { x: Tree; y: Tree; z: Tree; m: Tree };

const positiveInt = (key: string, v: number, min: number) => {
  if (!Number.isInteger(v) || v < min) throw new BilevelInputError(`solver borep.${key}: expected an integer >= ${min}, got ${v}`);
};

export const borep: SolverSpec<typeof borepDefaults> = {
  name: "borep",
  reference: "Hao, Gong, Liu (2024). Bilevel Optimization under Unbounded Smoothness: A New Algorithm and Convergence Analysis. ICLR.",
  summary: "Normalized momentum on x, linear-system variable z, lower level refined at start and updated every `interval` steps.",
  defaults: borepDefaults,
  help: {
    interval: "update the lower level every `interval` outer steps (I)",
    T: "gradient steps of each periodic lower-level update (N)",
    initSteps: "gradient steps of the initialization refinement at step 0",
    innerLr: "lower-level gradient step size",
    lrX: "normalized step length on x (eta)",
    beta: "momentum of the hypergradient estimate",
    nu: "step size of the z update (linear system grad^2_yy f z = grad_y F)",
    lrDecay: "StepLR factor applied to lrX every lrDecayEvery steps",
    lrDecayEvery: "StepLR period in outer steps (0 = constant lrX)",
  },
  spec: { interval: int(1), T: unrolled(0), initSteps: unrolled(0), innerLr: positive(), lrX: positive(), beta: fraction(), nu: positive(), lrDecay: num(0, 1, { minOpen: true }), lrDecayEvery: int(0) },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  create(p, o) {
    if (p.innerInit) {
      throw new BilevelInputError(
        `solver borep: problem '${p.name}' has innerInit (a fixed MAML-style inner loop); BO-REP needs a warm-started lower level (use fo, ufo or itd)`,
      );
    }
    positiveInt("interval", o.interval, 1);
    positiveInt("T", o.T, 0);
    positiveInt("initSteps", o.initSteps, 0);
    positiveInt("lrDecayEvery", o.lrDecayEvery, 0);
    if (!(o.lrDecay > 0 && o.lrDecay <= 1)) throw new BilevelInputError(`solver borep.lrDecay: expected a factor in (0, 1], got ${o.lrDecay}`);
    if (!(o.beta >= 0 && o.beta < 1)) throw new BilevelInputError(`solver borep.beta: expected a momentum in [0, 1), got ${o.beta}`);
    const fns = fnsOf(p);
    const decays = o.lrDecayEvery > 0 && o.lrDecay !== 1;

    const makeStep = (lowerSteps: number): CompiledStep<BState> =>
      compileStep<BState>(({ x, y, z, m }, k, batch) => {
        if (lowerSteps > 0) y = gradientDescent(fns.lower, tref(x), y, innerGD(p, lowerSteps, o.innerLr), bref(batch));
        const [Fx, Fy] = grads(fns.upper, tref(x), tref(y), bref(batch));
        const Hz = hvpYY(fns.lower, tref(x), tref(y), tref(z), bref(batch));
        z = taxpy(-o.nu, tsub(Hz, Fy), z);
        const cross = jvpXY(fns.lower, tref(x), tref(y), tref(z), batch);
        m = taxpy(1 - o.beta, tsub(Fx, cross), tscale(o.beta, m));
        let eta: Arr;
        if (decays) eta = np.exp(np.floor(k.div(o.lrDecayEvery)).mul(Math.log(o.lrDecay))).mul(o.lrX);
        else {
          k.dispose();
          eta = scalar(o.lrX);
        }
        const scale = eta.div(tnorm(tref(m)).add(1e-10)).neg();
        x = projX(p, taxpy(scale, tref(m), x));
        return { x, y, z, m };
      });

    const refine = makeStep(o.initSteps);
    const periodic = o.initSteps === o.T ? refine : makeStep(o.T);
    const hold = o.T === 0 ? periodic : o.initSteps === 0 ? refine : makeStep(0);
    const pick = (k: number) => (k === 0 ? refine : k % o.interval === 0 ? periodic : hold);
    return {
      init: (x, y) => {
        const z = tzerosLike(tref(y));
        const m = tzerosLike(tref(x));
        return { x, y, z, m };
      },
      step: (s, k, b) => pick(k)(s as BState, k, b),
      iterate: iterateXY,
      dispose: () => {
        for (const f of new Set([refine, periodic, hold])) f.dispose();
      },
    };
  },
};
