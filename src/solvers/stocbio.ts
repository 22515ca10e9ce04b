/**
 * StocBiO — stochastic bilevel optimizer.
 * Ji, Yang, Liang (2021), "Bilevel Optimization: Convergence Analysis and Enhanced Design", ICML 2021.
 * Official code: JunjieYang97/stocBiO; defaults from benchopt's benchmark_bilevel StocBiO solver.
 *
 * Double loop with a Neumann-series (stochastic Hessian-inverse-vector) hypergradient. Per outer step k,
 * with the step's minibatch B (from `problem.sample`; absent for deterministic problems):
 *   y   <- T steps of  y - innerLr grad_y f(x_k, y; B)           (warm start from the previous y)
 *   v_Q  = eta sum_{q=0}^{Q} (I - eta grad^2_yy f(x_k, y; B))^q grad_y F(x_k, y; B)
 *   h    = grad_x F(x_k, y; B) - grad^2_xy f(x_k, y; B) v_Q,    x <- x_k - lrX h
 * The paper draws independent minibatches for every inner step and Neumann factor; here one minibatch
 * per outer step is shared by these oracles. Full batch, the defaults follow benchmark_bilevel's
 * stocbio.py step for step (test/parity-baselines.test.ts, docs/solvers/stocbio.md).
 * Assumes a strongly convex lower level with eta < 1 / L; second order (products by autodiff, never a
 * Hessian); stochastic; memory constant in T and Q.
 * Defaults (benchmark_bilevel stocbio.py): innerLr = eta = lrX = 0.1 (step_size 0.1, outer_ratio 1),
 * T = 10 (n_inner_steps), Q = 10 (n_shia_steps).
 */
import { positive, unrolled } from "../options.js";
import type { SolverSpec } from "../problem.js";
import { createAid } from "./aid.js";

export const stocbioDefaults = { T: 10, innerLr: 0.1, Q: 10, eta: 0.1, lrX: 0.1 };

export const stocbio: SolverSpec<typeof stocbioDefaults> = {
  name: "stocbio",
  reference: "Ji, Yang, Liang (2021). Bilevel Optimization: Convergence Analysis and Enhanced Design. ICML.",
  summary: "Stochastic AID: inner SGD, Neumann-series Hessian-inverse-vector product, SGD on x.",
  defaults: stocbioDefaults,
  help: {
    T: "inner SGD steps per outer step (warm-started)",
    innerLr: "inner SGD step size",
    Q: "Neumann series terms",
    eta: "Neumann step (needs eta < 1 / largest Hessian eigenvalue)",
    lrX: "outer step size on x",
  },
  spec: { T: unrolled(), innerLr: positive(), Q: unrolled(0), eta: positive(), lrX: positive() },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  create: (p, o) => createAid(p, o.T, o.innerLr, o.lrX, { method: "neumann", iters: o.Q, alpha: o.eta }),
};
