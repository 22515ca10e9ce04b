/**
 * SOBA — StOchastic Bilevel Algorithm.
 * Dagréou, Ablin, Vaiter, Moreau (2022), "A framework for bilevel optimization that enables stochastic
 * and global variance reduction algorithms", NeurIPS 2022. Reference implementation: benchopt's
 * benchmark_bilevel, solvers/soba.py (same authors).
 *
 * Single loop: y, the linear-system variable v (v ~ [grad^2_yy f]^-1 grad_y F) and x move together,
 * one stochastic step each per outer iteration, all oracles on the step's minibatch (`problem.sample`):
 *   D_y = grad_y f,   D_v = grad^2_yy f v - grad_y F,   D_x = grad_x F - grad^2_xy f v
 *   y <- y - rho_k D_y,   v <- v - rho_k D_v,   x <- x - gamma_k D_x     (all from the same iterate)
 *   rho_k = lrInner / (k+1)^innerDecay,  gamma_k = lrX / (k+1)^outerDecay   (host, float64)
 * v_0 = 0. benchmark_bilevel stores -v and decays both steps as (k+1)^-0.5; with innerDecay = outerDecay
 * = 0.5 the solver follows it step for step (test/parity-baselines.test.ts, docs/solvers/soba.md).
 * Assumes a strongly convex lower level (singleton), second order (forward-over-reverse products),
 * stochastic. Memory: three copies of the variables, no inner loop.
 * Defaults: lrInner = lrX = 0.1 (benchmark_bilevel step_size, outer_ratio 1), innerDecay = 0.4,
 * outerDecay = 0.6 (the paper's Theorem 1 rates).
 */
import { scalar, taxpy, tref, tsub, tzerosLike, type Arr, type Tree, np } from "../engine/index.js";
import { num, positive } from "../options.js";
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
  spec: { lrInner: positive(), lrX: positive(), innerDecay: num(0), outerDecay: num(0) },
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
