/**
 * SOBA — StOchastic Bilevel Algorithm.
 * Dagréou, Ablin, Vaiter, Moreau (2022), "A framework for bilevel optimization that enables stochastic
 * and global variance reduction algorithms", NeurIPS 2022. Reference implementation: the SOBA solver of
 * benchopt's benchmark_bilevel (same authors).
 *
 * Single loop: y, the linear-system variable v (v ~ [grad^2_yy f]^-1 grad_y F) and x move together,
 * each by one stochastic step per outer iteration, all oracles on the step's minibatch B_k (from
 * `problem.sample`; absent for deterministic problems):
 *   D_y = grad_y f(x, y; B)
 *   D_v = grad^2_yy f(x, y; B) v - grad_y F(x, y; B)
 *   D_x = grad_x F(x, y; B) - grad^2_xy f(x, y; B) v
 *   y <- y - rho_k D_y,   v <- v - rho_k D_v,   x <- x - gamma_k D_x     (all from the same iterate)
 *   rho_k = lrInner / (k+1)^innerDecay,  gamma_k = lrX / (k+1)^outerDecay
 * The paper's analysis uses rho_k ~ k^-2/5 and gamma_k ~ k^-3/5 (innerDecay 0.4, outerDecay 0.6);
 * benchmark_bilevel's soba.py decays both as (k+1)^-0.5 and stores -v (docs/solvers/soba.md). v_0 = 0.
 *
 * Assumes a strongly convex lower level (singleton), second order (Hessian- and cross-products by
 * forward-over-reverse autodiff), stochastic. Memory: three copies of the variables, no inner loop.
 *
 * Defaults: lrInner = lrX = 0.1 (benchmark_bilevel step_size with outer_ratio 1), innerDecay = 0.4,
 * outerDecay = 0.6 (paper, Theorem 1's rates).
 */
import { scalar, taxpy, tref, tsub, tzerosLike, type Arr, type Tree } from "../engine/index.js";
import { bref, gradY, grads, hvpYY, jvpXY } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, iterateXY, projX, projY } from "./common.js";

export const sobaDefaults = { lrInner: 0.1, lrX: 0.1, innerDecay: 0.4, outerDecay: 0.6 };

/** The step sizes rho_k, gamma_k, computed on the host in float64 (as scalars, so jit does not retrace). */
type SobaState = { x: Tree; y: Tree; v: Tree; c?: { rho: Arr; gam: Arr } };

export const soba: SolverSpec<typeof sobaDefaults> = {
  name: "soba",
  reference:
    "Dagréou, Ablin, Vaiter, Moreau (2022). A framework for bilevel optimization that enables stochastic and global variance reduction algorithms. NeurIPS.",
  summary: "Single-loop stochastic implicit method: one SGD step each on y, the linear-system variable v, and x.",
  defaults: sobaDefaults,
  help: {
    lrInner: "step size rho_0 on y and v",
    lrX: "step size gamma_0 on x",
    innerDecay: "rho_k = lrInner / (k+1)^innerDecay",
    outerDecay: "gamma_k = lrX / (k+1)^outerDecay",
  },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  create(p, o) {
    const fns = fnsOf(p);
    const step = compileStep<SobaState>(({ x, y, v, c }, k, batch) => {
      const rho = c!.rho.neg();
      const gam = c!.gam.neg();
      k.dispose();
      const Dy = gradY(fns.lower, tref(x), tref(y), bref(batch));
      const Hv = hvpYY(fns.lower, tref(x), tref(y), tref(v), bref(batch));
      const cross = jvpXY(fns.lower, tref(x), tref(y), tref(v), bref(batch));
      const [Fx, Fy] = grads(fns.upper, tref(x), tref(y), batch);
      const Dv = tsub(Hv, Fy);
      const Dx = tsub(Fx, cross);
      return {
        x: projX(p, taxpy(gam, Dx, x)),
        y: projY(p, taxpy(rho.ref, Dy, y)),
        v: taxpy(rho, Dv, v),
      };
    });
    return {
      init: (x, y) => ({ x, v: tzerosLike(tref(y)), y }),
      step: (s, k, b) => {
        const c = { rho: scalar(o.lrInner / Math.pow(k + 1, o.innerDecay)), gam: scalar(o.lrX / Math.pow(k + 1, o.outerDecay)) };
        return step({ ...(s as SobaState), c }, k, b);
      },
      iterate: iterateXY,
      dispose: () => step.dispose(),
    };
  },
};
