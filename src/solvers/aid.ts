/**
 * AID — approximate implicit differentiation (conjugate gradient or Neumann series).
 * Pedregosa (2016), "Hyperparameter optimization with approximate gradient", ICML (AID-CG);
 * Lorraine, Vicol, Duvenaud (2020), "Optimizing Millions of Hyperparameters by Implicit
 * Differentiation", AISTATS (Neumann series); analysis: Ji, Yang, Liang (2021), ICML.
 *
 * Per outer step:
 *   y <- T steps of y - innerLr grad_y f(x, y) from y_k (warm start)
 *   v  ~= [grad^2_yy f(x, y) + damping I]^{-1} grad_y F(x, y)   (CG: `iters` iterations from 0;
 *        Neumann: v = alpha sum_{j<=iters} (I - alpha H)^j grad_y F)
 *   h  = grad_x F(x, y) - grad^2_xy f(x, y) v
 *   x <- x - lrX h   (or the `optimizer` option's step)
 * Assumes a strongly convex lower level (invertible Hessian). Memory is constant in T.
 * Defaults: T = 10, innerLr = 0.1, lrX = 0.1, iters = 10 (CG) / 20 (Neumann), alpha = 0.1 (Neumann),
 * damping = 0 (the plain implicit function theorem). CG `iters` <= 500: the iterations are unrolled
 * into the compiled step (~370 KB of program each; 3000 took 1.1 GB and 32 s to compile).
 */
import { compileStep, defineSolver, innerGD, innerStart, int, num, objectives, positive, projectX, stepInstance, unrolled, withHypergrad, xOptimizer, implicitHypergrad, type BilevelProblem, type LinearSolver, type OptState, type SolverInstance, type Tree, type XY } from "../kit/index.js";
import type { InnerOptimizerOptions, OptimizerOptions } from "../optim/index.js";

/** The AID outer step shared by aid-cg, aid-neumann and stocbio (which is AID-Neumann on minibatches). */
export function createAid(p: BilevelProblem, T: number, innerLr: number, lrX: number, solver: LinearSolver, o: OptimizerOptions & Partial<InnerOptimizerOptions>): SolverInstance {
  const { F, f } = objectives(p);
  const gd = innerGD(p, T, innerLr, o);
  const opt = xOptimizer(o);
  const inner = (x: Tree, y: Tree, batch?: Tree) => f.descend(x, innerStart(p, x, y), gd, batch);
  const step = compileStep<XY & OptState>((s, _k, batch) => {
    const yT = inner(s.x, s.y, batch);
    const { h } = implicitHypergrad(F, f, s.x, yT, solver, { upper: batch, lower: batch });
    const [x, st] = opt.update(s.x, h, s, lrX);
    return { x: projectX(p, x), y: yT, ...st };
  });
  const hypergrad = (x: Tree, y: Tree) => implicitHypergrad(F, f, x, inner(x, y), solver).h;
  return withHypergrad(stepInstance(step, (x, y) => ({ x, y, ...opt.init(x) })), hypergrad);
}

export const AID_CG_ITERS_MAX = 500;
const AID_CG_WHY = "CG iterations are unrolled into the compiled step, ~370 KB each";

export const aidCgDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, iters: 10, damping: 0 };
export const aidCg = defineSolver({
  name: "aid-cg",
  reference: "Pedregosa (2016). Hyperparameter optimization with approximate gradient. ICML.",
  summary: "Implicit differentiation: conjugate gradient on the lower-level Hessian system.",
  defaults: aidCgDefaults,
  help: {
    T: "inner gradient steps per outer step (warm-started)",
    innerLr: "inner gradient step size",
    lrX: "outer step size on x",
    iters: "conjugate-gradient iterations (from zero)",
    damping: "solve (H + damping I) v = grad_y F (Tikhonov; > 0 for a singular lower-level Hessian)",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive(), iters: int(1, AID_CG_ITERS_MAX, AID_CG_WHY), damping: num(0) },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create: (p, o) => createAid(p, o.T, o.innerLr, o.lrX, { method: "cg", iters: o.iters, damping: o.damping }, o),
});

export const aidNeumannDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, iters: 20, alpha: 0.1, damping: 0 };
export const aidNeumann = defineSolver({
  name: "aid-neumann",
  reference: "Lorraine, Vicol, Duvenaud (2020). Optimizing Millions of Hyperparameters by Implicit Differentiation. AISTATS.",
  summary: "Implicit differentiation: truncated Neumann series for the inverse Hessian.",
  defaults: aidNeumannDefaults,
  help: {
    T: "inner gradient steps per outer step (warm-started)",
    innerLr: "inner gradient step size",
    lrX: "outer step size on x",
    iters: "Neumann series terms",
    alpha: "Neumann step (needs alpha < 2 / largest Hessian eigenvalue)",
    damping: "solve (H + damping I) v = grad_y F (Tikhonov; > 0 for a singular lower-level Hessian)",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive(), iters: unrolled(0), alpha: positive(), damping: num(0) },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create: (p, o) => createAid(p, o.T, o.innerLr, o.lrX, { method: "neumann", iters: o.iters, alpha: o.alpha, damping: o.damping }, o),
});
