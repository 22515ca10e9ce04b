/**
 * F2SA — Fully First-order Stochastic Approximation.
 * Kwon, Kwon, Wright, Nowak (2023), "A Fully First-Order Method for Stochastic Bilevel Optimization",
 * ICML 2023. Reference implementation: benchopt's benchmark_bilevel F2SA solver.
 *
 * y tracks argmin F + lambda f, z tracks argmin f; grad_x F(x, y) + lambda (grad_x f(x, y) - grad_x f(x, z))
 * -> dF(x, y*(x))/dx as lambda -> inf (bias O(1/lambda)), gradients only. Per outer step k, on minibatch B:
 *   lambda_k = min(lambdaMax, lambda0 + deltaLambda k)                    (benchmark_bilevel: linear growth)
 *   a_k = (k+1)^-lrPower                                                   (benchmark_bilevel: exponent 1/2)
 *   repeat T times:
 *     z <- z - lrZ a_k grad_y f(x, z; B)
 *     y <- y - (lrY a_k / lambda_k) (grad_y F(x, y; B) + lambda_k grad_y f(x, y; B))
 *   x <- x - lrX a_k (grad_x F(x, y; B) + lambda_k (grad_x f(x, y; B) - grad_x f(x, z; B)))
 * (x through `optimizer`). alpha_k = lrY a_k / lambda_k keeps alpha_k lambda_k below 1 / L_f (the paper;
 * benchmark_bilevel has no 1/lambda_k). z, y start at the initial y. Assumes a strongly convex lower
 * level; first order; stochastic.
 * Defaults (benchmark_bilevel f2sa.py): lrZ = lrY = lrX = 0.1 (step_size 0.1, outer_ratio 1), lrPower = 0.5,
 * lambda0 = 1, deltaLambda = 0.1, T = 10 (n_inner_steps); lambdaMax = 1e4 caps the growth (ours: the
 * reference grows lambda without bound).
 */
import { compileStep, defineSolver, np, num, objectives, positive, projectX, projectY, scalar, stepInstance, tree, unrolled, xOptimizer, yOptimizer, type Arr, type OptState, type Tree } from "../kit/index.js";

export const f2saDefaults = { T: 10, lrZ: 0.1, lrY: 0.1, lrX: 0.1, lrPower: 0.5, lambda0: 1, deltaLambda: 0.1, lambdaMax: 1e4 };

type F2saState = { x: Tree; y: Tree; z: Tree } & OptState;

export const f2sa = defineSolver({
  name: "f2sa",
  reference: "Kwon, Kwon, Wright, Nowak (2023). A Fully First-Order Method for Stochastic Bilevel Optimization. ICML.",
  summary: "Fully first-order: y on F + lambda f, z on f, x on grad_x F + lambda (grad_x f(y) - grad_x f(z)), lambda growing.",
  defaults: f2saDefaults,
  help: {
    T: "inner steps on y and z per outer step",
    lrZ: "step size on z (times (k+1)^-lrPower)",
    lrY: "step size on y, applied to (grad F)/lambda + grad f (times (k+1)^-lrPower)",
    lrX: "step size on x (times (k+1)^-lrPower)",
    lrPower: "step sizes decay as (k+1)^-lrPower",
    lambda0: "initial multiplier lambda",
    deltaLambda: "lambda grows by this much per outer step",
    lambdaMax: "cap on lambda",
  },
  spec: { T: unrolled(), lrZ: positive(), lrY: positive(), lrX: positive(), lrPower: num(0), lambda0: positive(), deltaLambda: num(0), lambdaMax: positive() },
  aliases: { decay: "lrPower" },
  capabilities: { secondOrder: false, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    const opt = xOptimizer(o);
    const yopt = yOptimizer(o);
    const zopt = yOptimizer(o, "optZ");
    const step = compileStep<F2saState>((s, k, batch) => {
      const { x } = s;
      let { y, z } = s;
      let sy: OptState = s;
      let sz: OptState = s;
      const lam: Arr = np.minimum(k.ref.mul(o.deltaLambda).add(o.lambda0), o.lambdaMax);
      const a: Arr = o.lrPower === 0 ? scalar(1) : np.power(k.add(1), -o.lrPower); // step-size factor (k+1)^-lrPower
      const invLam = np.reciprocal(lam.ref);
      for (let t = 0; t < o.T; t++) {
        [z, sz] = zopt.update(z, f.gradY(x, z, batch), sz, a.ref.mul(o.lrZ));
        z = projectY(p, z);
        [y, sy] = yopt.update(y, tree.axpy(invLam, F.gradY(x, y, batch), f.gradY(x, y, batch)), sy, a.ref.mul(o.lrY));
        y = projectY(p, y);
      }
      const dx = tree.axpy(lam, tree.sub(f.gradX(x, y, batch), f.gradX(x, z, batch)), F.gradX(x, y, batch));
      const [x1, st] = opt.update(x, dx, s, a.mul(o.lrX));
      return { x: projectX(p, x1), y, z, ...st, ...(sy.optY ? { optY: sy.optY } : {}), ...(sz.optZ ? { optZ: sz.optZ } : {}) };
    });
    return stepInstance(step, (x, y) => ({ x, z: tree.map((u) => u.add(0), y), y, ...opt.init(x), ...yopt.init(y), ...zopt.init(y) }));
  },
});
