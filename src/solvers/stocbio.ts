/**
 * StocBiO — stochastic bilevel optimizer.
 * Ji, Yang, Liang (2021), "Bilevel Optimization: Convergence Analysis and Enhanced Design", ICML 2021.
 * Official code: JunjieYang97/stocBiO; defaults from benchopt's benchmark_bilevel StocBiO solver.
 *
 * Double loop with a Neumann-series (stochastic Hessian-inverse-vector) hypergradient. Per outer step k,
 * with the step's minibatch B (from `problem.sample`; absent for deterministic problems):
 *   y   <- T steps of  y - innerLr grad_y f(x_k, y; B)           (warm start from the previous y)
 *   v_Q  = alpha sum_{q=0}^{Q} (I - alpha grad^2_yy f(x_k, y; B))^q grad_y F(x_k, y; B),  Q = iters
 *   h    = grad_x F(x_k, y; B) - grad^2_xy f(x_k, y; B) v_Q,    x <- x_k - lrX h
 * The paper draws independent minibatches for every inner step and Neumann factor; here one minibatch
 * per outer step is shared by these oracles. Full batch, the defaults follow benchmark_bilevel's
 * stocbio.py step for step (test/parity-baselines.test.ts, docs/solvers/stocbio.md).
 * Assumes a strongly convex lower level with alpha < 1 / L; second order (products by autodiff, never a
 * Hessian); stochastic; memory constant in T and Q.
 * Defaults (benchmark_bilevel stocbio.py): innerLr = alpha = lrX = 0.1 (step_size 0.1, outer_ratio 1),
 * T = 10 (n_inner_steps), iters = 10 (n_shia_steps). Former names: Q (iters), eta (alpha).
 */
import { defineSolver, positive, unrolled } from "../kit/index.js";
import { createAid } from "./aid.js";

export const stocbioDefaults = { T: 10, innerLr: 0.1, iters: 10, alpha: 0.1, lrX: 0.1 };

export const stocbio = defineSolver({
  name: "stocbio",
  reference: "Ji, Yang, Liang (2021). Bilevel Optimization: Convergence Analysis and Enhanced Design. ICML.",
  summary: "Stochastic AID: inner SGD, Neumann-series Hessian-inverse-vector product, SGD on x.",
  defaults: stocbioDefaults,
  help: {
    T: "inner SGD steps per outer step (warm-started)",
    innerLr: "inner SGD step size",
    iters: "Neumann series terms (Q)",
    alpha: "Neumann step (needs alpha < 1 / largest Hessian eigenvalue; the paper's eta)",
    lrX: "outer step size on x",
  },
  spec: { T: unrolled(), innerLr: positive(), iters: unrolled(0), alpha: positive(), lrX: positive() },
  aliases: { Q: "iters", eta: "alpha" },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create: (p, o) => createAid(p, o.T, o.innerLr, o.lrX, { method: "neumann", iters: o.iters, alpha: o.alpha }, o),
});
