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
 * benchmark_bilevel runs constant steps (exponents 0). v starts at 0.
 *
 * Assumes a strongly convex lower level (singleton), second order (Hessian- and cross-products by
 * forward-over-reverse autodiff), stochastic. Memory: three copies of the variables, no inner loop.
 *
 * Defaults: lrInner = lrX = 0.1 (benchmark_bilevel step_size with outer_ratio 1), innerDecay = 0.4,
 * outerDecay = 0.6 (paper, Theorem 1's rates).
 */
import { num, positive } from "../options.js";
import { np, taxpy, tref, tsub, tzerosLike, type Arr, type Tree } from "../engine/index.js";
import { bref, gradY, grads, hvpYY, jvpXY } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, iterateXY, projX, projY } from "./common.js";

export const sobaDefaults = { lrInner: 0.1, lrX: 0.1, innerDecay: 0.4, outerDecay: 0.6 };

type SobaState = { x: Tree; y: Tree; v: Tree };

/** -lr / (k+1)^decay as a scalar array (k borrowed). */
export const decayedStep = (k: Arr, lr: number, decay: number): Arr =>
  decay === 0 ? np.full([], -lr, { dtype: k.dtype }) : np.power(k.ref.add(1), -decay).mul(-lr);

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
    const step = compileStep<SobaState>(({ x, y, v }, k, batch) => {
      const rho = decayedStep(k, o.lrInner, o.innerDecay);
      const gam = decayedStep(k, o.lrX, o.outerDecay);
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
      step: (s, k, b) => step(s as SobaState, k, b),
      iterate: iterateXY,
      dispose: () => step.dispose(),
    };
  },
};
