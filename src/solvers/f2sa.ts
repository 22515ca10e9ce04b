/**
 * F2SA — Fully First-order Stochastic Approximation.
 * Kwon, Kwon, Wright, Nowak (2023), "A Fully First-Order Method for Stochastic Bilevel Optimization",
 * ICML 2023. Reference implementation: benchopt's benchmark_bilevel F2SA solver.
 *
 * Penalty (Lagrangian) reformulation min_x max-style: with multiplier lambda, y tracks
 * argmin_y F(x, y) + lambda f(x, y) and z tracks argmin_y f(x, y); then
 *   grad_x F(x, y) + lambda (grad_x f(x, y) - grad_x f(x, z))  ->  dF(x, y*(x))/dx  as lambda -> inf
 * (bias O(1/lambda)), using gradients only — no Hessian- or Jacobian-vector products. Per outer step k,
 * all oracles on the step's minibatch B (from `problem.sample`; absent for deterministic problems):
 *   lambda_k = min(lambdaMax, lambda0 + deltaLambda k)                    (benchmark_bilevel: linear growth)
 *   a_k = (k+1)^-decay                                                   (benchmark_bilevel: exponent 1/2)
 *   repeat T times:
 *     z <- z - lrZ a_k grad_y f(x, z; B)
 *     y <- y - (lrY a_k / lambda_k) (grad_y F(x, y; B) + lambda_k grad_y f(x, y; B))
 *   x <- x - lrX a_k (grad_x F(x, y; B) + lambda_k (grad_x f(x, y; B) - grad_x f(x, z; B)))
 * The y step is written alpha_k = lrY a_k / lambda_k so that alpha_k lambda_k stays below 1 / L_f as the
 * paper requires (benchmark_bilevel multiplies the y gradient by lambda without this scaling).
 * z and y start at the initial y.
 *
 * Assumes a strongly convex lower level (singleton); first order only; stochastic. Memory: two lower
 * variables, constant in T.
 *
 * Defaults (benchmark_bilevel f2sa.py): lrZ = lrY = lrX = 0.1 (step_size 0.1, outer_ratio 1), decay = 0.5,
 * lambda0 = 1, deltaLambda = 0.1, T = 10 (n_inner_steps); lambdaMax = 1e4 caps the growth (ours: the
 * reference grows lambda without bound).
 */
import { num, positive, unrolled } from "../options.js";
import { np, scalar, taxpy, tmap, tref, tsub, type Arr, type Tree } from "../engine/index.js";
import { gradX, gradY } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, iterateXY, projX, projY } from "./common.js";

export const f2saDefaults = { T: 10, lrZ: 0.1, lrY: 0.1, lrX: 0.1, decay: 0.5, lambda0: 1, deltaLambda: 0.1, lambdaMax: 1e4 };

type F2saState = { x: Tree; y: Tree; z: Tree };

export const f2sa: SolverSpec<typeof f2saDefaults> = {
  name: "f2sa",
  reference: "Kwon, Kwon, Wright, Nowak (2023). A Fully First-Order Method for Stochastic Bilevel Optimization. ICML.",
  summary: "Fully first-order: y on F + lambda f, z on f, x on grad_x F + lambda (grad_x f(y) - grad_x f(z)), lambda growing.",
  defaults: f2saDefaults,
  help: {
    T: "inner steps on y and z per outer step",
    lrZ: "step size on z (times (k+1)^-decay)",
    lrY: "step size on y, applied to (grad F)/lambda + grad f (times (k+1)^-decay)",
    lrX: "step size on x (times (k+1)^-decay)",
    decay: "step sizes decay as (k+1)^-decay",
    lambda0: "initial multiplier lambda",
    deltaLambda: "lambda grows by this much per outer step",
    lambdaMax: "cap on lambda",
  },
  spec: { T: unrolled(), lrZ: positive(), lrY: positive(), lrX: positive(), decay: num(0), lambda0: positive(), deltaLambda: num(0), lambdaMax: positive() },
  capabilities: { secondOrder: false, nonSingleton: false, constraints: false, stochastic: true },
  create(p, o) {
    const fns = fnsOf(p);
    const step = compileStep<F2saState>(({ x, y, z }, k, batch) => {
      const lam: Arr = np.minimum(k.ref.mul(o.deltaLambda).add(o.lambda0), o.lambdaMax);
      const a: Arr = o.decay === 0 ? (k.dispose(), scalar(1)) : np.power(k.add(1), -o.decay);
      const b = () => (batch === undefined ? undefined : tref(batch));
      const invLam = np.reciprocal(lam.ref);
      for (let t = 0; t < o.T; t++) {
        const gz = gradY(fns.lower, tref(x), tref(z), b());
        z = projY(p, taxpy(a.ref.mul(-o.lrZ), gz, z));
        const Fy = gradY(fns.upper, tref(x), tref(y), b());
        const fy = gradY(fns.lower, tref(x), tref(y), b());
        y = projY(p, taxpy(a.ref.mul(-o.lrY), taxpy(invLam.ref, Fy, fy), y));
      }
      invLam.dispose();
      const Fx = gradX(fns.upper, tref(x), tref(y), b());
      const fxy = gradX(fns.lower, tref(x), tref(y), b());
      const fxz = gradX(fns.lower, tref(x), tref(z), batch);
      const dx = taxpy(lam, tsub(fxy, fxz), Fx);
      return { x: projX(p, taxpy(a.mul(-o.lrX), dx, x)), y, z };
    });
    return {
      init: (x, y) => ({ x, z: tmap((u) => u.ref.add(0), y), y }),
      step: (s, k, b) => step(s as F2saState, k, b),
      iterate: iterateXY,
      dispose: () => step.dispose(),
    };
  },
};
