/**
 * BO-REP — Bilevel Optimization with lower-level initialization REfinement and Periodic updates.
 * Hao, Gong, Liu (2024), "Bilevel Optimization under Unbounded Smoothness: A New Algorithm and
 * Convergence Analysis", ICLR 2024. Official code: MingruiLiu-ML-Lab/Bilevel-Optimization-under-
 * Unbounded-Smoothness (data_cleaning/bo_rep.py, main.py).
 *
 * State (x, y, z, m), z ~ [grad^2_yy f]^-1 grad_y F, m the hypergradient momentum. Per outer step k:
 *   y <- initSteps (k = 0) or T (k > 0, k % interval = 0) gradient steps on f(x_k, .) (step innerLr); else kept
 *   z_{k+1} = z_k - nu (grad^2_yy f(x_k, y) z_k - grad_y F(x_k, y)), g_k = grad_x F - grad^2_xy f z_{k+1}
 *   m_{k+1} = beta m_k + (1 - beta) g_k,  x_{k+1} = proj_X(x_k - eta_k m_{k+1} / (||m_{k+1}|| + 1e-10))
 *   eta_k = lrX lrDecay^floor(k / lrDecayEvery) (host, float64; lrDecayEvery = 0: constant, the official)
 * Options reproducing the official loop: hvpAt = previous (its z step's HVP is taken before the lower
 * update), lowerUpdate = accumulated (its periodic update takes 1 + T steps whose gradients are summed,
 * never zeroed; it diverges on our toys). z_0 = m_0 = 0 (the official draws z_0 Xavier-uniform).
 * Defaults (official data_cleaning/main.py): interval = 2, T = initSteps = 10, innerLr = lrX = 0.05,
 * beta = 0.9, nu = 0.01, lrDecay = 0.2 with lrDecayEvery = 0. Measurements: docs/solvers/borep.md.
 * Assumptions: strongly convex lower level; second order; upper level may be unboundedly smooth;
 * stochastic (one minibatch per outer step for every oracle); not for problems with `innerInit`.
 */
import { BilevelInputError, choice, compileStep, defineSolver, fraction, innerGD, int, iterateXY, num, objectives, optim, positive, projectX, projectY, scalar, tree, unrolled, xOptimizer, type Arr, type CompiledStep, type OptState, type Tree } from "../kit/index.js";

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
  hvpAt: "updated",
  lowerUpdate: "gd",
};

type BState = { x: Tree; y: Tree; z: Tree; m: Tree; eta?: Arr } & OptState;

export const borep = defineSolver({
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
    hvpAt: "y at which the z step's Hessian-vector product is taken: updated (this step's new y) or previous (before the lower update, the official code)",
    lowerUpdate: "gd (plain gradient steps) or accumulated (the official loop: 1 + T steps whose gradients are summed, never zeroed)",
  },
  spec: { interval: int(1), T: unrolled(0), initSteps: unrolled(0), innerLr: positive(), lrX: positive(), beta: fraction(), nu: positive(), lrDecay: num(0, 1, { minOpen: true }), lrDecayEvery: int(0), hvpAt: choice("updated", "previous"), lowerUpdate: choice("gd", "accumulated") },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create(p, o) {
    if (p.innerInit) {
      throw new BilevelInputError(
        `solver borep: problem '${p.name}' has innerInit (a fixed MAML-style inner loop); BO-REP needs a warm-started lower level (use fo, ufo or itd)`,
      );
    }
    if (o.lowerUpdate === "accumulated" && o.innerOptimizer !== "sgd") {
      throw new BilevelInputError(`solver borep.innerOptimizer: expected sgd with lowerUpdate = accumulated (its own accumulated-gradient rule), got ${o.innerOptimizer}`);
    }
    const { F, f } = objectives(p);
    const opt = xOptimizer(o);
    const lrX = optim.stepDecay(o.lrX, o.lrDecay, o.lrDecayEvery); // eta_k, on the host in float64
    /** The official periodic update: y <- y - lr sum_{j<=i} grad_y f(x, y_j), for i = 0..steps (1 + steps steps). */
    const accumulated = (x: Tree, y: Tree, steps: number, batch?: Tree): Tree => {
      let acc = f.gradY(x, y, batch);
      y = projectY(p, tree.axpy(-o.innerLr, acc, y));
      for (let i = 0; i < steps; i++) {
        acc = tree.add(acc, f.gradY(x, y, batch));
        y = projectY(p, tree.axpy(-o.innerLr, acc, y));
      }
      return y;
    };
    const makeStep = (lowerSteps: number): CompiledStep<BState> =>
      compileStep<BState>((s, _k, batch) => {
        const { x, z, m } = s;
        let y = s.y;
        const Hz0 = o.hvpAt === "previous" ? f.hvpYY(x, y, z, batch) : null;
        if (lowerSteps > 0) y = o.lowerUpdate === "accumulated" ? accumulated(x, y, lowerSteps, batch) : f.descend(x, y, innerGD(p, lowerSteps, o.innerLr, o), batch);
        const [Fx, Fy] = F.grads(x, y, batch);
        const z1 = tree.axpy(-o.nu, tree.sub(Hz0 ?? f.hvpYY(x, y, z, batch), Fy), z);
        const m1 = tree.axpy(1 - o.beta, tree.sub(Fx, f.jvpXY(x, y, z1, batch)), tree.scale(o.beta, m));
        // normalized step x <- x - eta_k m / ||m|| (the optimizer sees m and the step eta_k / ||m||)
        const [x1, st] = opt.update(x, m1, s, s.eta!.div(tree.norm(m1).add(1e-10)));
        return { x: projectX(p, x1), y, z: z1, m: m1, ...st };
      });
    const refine = makeStep(o.initSteps);
    const periodic = o.initSteps === o.T ? refine : makeStep(o.T);
    const hold = o.T === 0 ? periodic : o.initSteps === 0 ? refine : makeStep(0);
    const pick = (k: number) => (k === 0 ? refine : k % o.interval === 0 ? periodic : hold);
    return {
      init: (x, y) => ({ x, y, z: tree.zerosLike(y), m: tree.zerosLike(x), ...opt.init(x) }),
      step: (s, k, b) => pick(k)({ ...(s as BState), eta: scalar(lrX.constant ? o.lrX : lrX.at(k)) }, k, b),
      iterate: iterateXY,
      dispose: () => {
        for (const step of new Set([refine, periodic, hold])) step.dispose();
      },
    };
  },
});
