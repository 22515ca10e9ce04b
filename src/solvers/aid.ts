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
 *   x <- x - lrX h
 * Assumes a strongly convex lower level (invertible Hessian). Memory is constant in T.
 * Defaults: T = 10, innerLr = 0.1, lrX = 0.1, iters = 10 (CG) / 20 (Neumann), alpha = 0.1 (Neumann),
 * damping = 0 (the plain implicit function theorem). CG `iters` <= 500: the iterations are unrolled
 * into the compiled step (~370 KB of program each; 3000 took 1.1 GB and 32 s to compile).
 */
import { int, num, positive, unrolled } from "../options.js";
import { taxpy, tdispose, tref } from "../engine/index.js";
import { gradientDescent, implicitHypergrad, type LinearSolver } from "../oracles/index.js";
import type { BilevelProblem, SolverInstance, SolverSpec } from "../problem.js";
import { compileStep, fnsOf, innerGD, innerStart, projX, withHypergrad, type XY, xyInstance } from "./common.js";

/** The AID outer step shared by aid-cg, aid-neumann and stocbio (which is AID-Neumann on minibatches). */
export function createAid(p: BilevelProblem, T: number, innerLr: number, lrX: number, solver: LinearSolver): SolverInstance {
  const fns = fnsOf(p);
  const gd = innerGD(p, T, innerLr);
  const step = compileStep<XY>(({ x, y }, k, batch) => {
    k.dispose();
    const y0 = innerStart(p, tref(x), y);
    const b = batch === undefined ? undefined : { upper: tref(batch), lower: tref(batch) };
    const yT = gradientDescent(fns.lower, tref(x), y0, gd, batch);
    const { h, v } = implicitHypergrad(fns, tref(x), tref(yT), solver, b);
    tdispose(v);
    return { x: projX(p, taxpy(-lrX, h, x)), y: yT };
  });
  return withHypergrad(xyInstance(step), (x, y) => {
    const yT = gradientDescent(fns.lower, tref(x), innerStart(p, tref(x), y), gd);
    const { h, v } = implicitHypergrad(fns, x, yT, solver);
    tdispose(v);
    return h;
  });
}

/** Cap of aid-cg's CG iterations (unrolled into the compiled step, ~370 KB of program each: ~180 MB). */
export const AID_CG_ITERS_MAX = 500;
const AID_CG_WHY = "CG iterations are unrolled into the compiled step, ~370 KB each";

export const aidCgDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, iters: 10, damping: 0 };
export const aidCg: SolverSpec<typeof aidCgDefaults> = {
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
  create: (p, o) => createAid(p, o.T, o.innerLr, o.lrX, { method: "cg", iters: o.iters, damping: o.damping }),
};

export const aidNeumannDefaults = { T: 10, innerLr: 0.1, lrX: 0.1, iters: 20, alpha: 0.1, damping: 0 };
export const aidNeumann: SolverSpec<typeof aidNeumannDefaults> = {
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
  create: (p, o) => createAid(p, o.T, o.innerLr, o.lrX, { method: "neumann", iters: o.iters, alpha: o.alpha, damping: o.damping }),
};
