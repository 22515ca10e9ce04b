/**
 * LV-HBA — proximal Lagrangian Value function based Hessian-free Bi-level Algorithm.
 * Yao, Yu, Zeng, Zhang (2024), "Constrained Bi-Level Optimization: Proximal Lagrangian Value Function
 * Approach and Hessian-free Algorithm", ICLR 2024. Official code: SUSTech-Optimization/LV-HBA (Toy-example/LLC).
 *
 * With L(x, theta, lam) = f(x, theta) + <lam, g(x, theta)> (constraint g(x, y) <= 0), one step k:
 *   theta_{k+1} = Proj_Y(theta_k - eta (grad_theta L(x_k, theta_k, lam_k) + (theta_k - y_k) / gamma1))
 *   lam_{k+1}   = Proj_M(lam_k + eta (g(x_k, theta_k) - (lam_k - z_k) / gamma2))
 *   d_x = grad_x F(x_k, y_k) / c_k + grad_x f(x_k, y_k) - grad_x L(x_k, theta_{k+1}, lam_{k+1})
 *   d_y = grad_y F(x_k, y_k) / c_k + grad_y f(x_k, y_k) - (y_k - theta_{k+1}) / gamma1
 *   (x, y)_{k+1} = Proj_C((x_k, y_k) - alpha (d_x, d_y)), z_{k+1} = Proj_M(z_k + beta (lam_{k+1} - z_k) / gamma2)
 * c_k = c0 (k+1)^p (host, float64). M = [0, lambdaMax] (multipliers = nonnegative, the paper) or
 * [-lambdaMax, lambdaMax] (signed, the official toy). Proj_C: projectX/projectY, then `projIters` sweeps
 * (x, y) <- (x, y) - ||w||^2 / ||J'w||^2 J'w, J = dg/d(x, y), w = max(g, 0) (projection = halfspace, onto
 * g <= 0) or w = g (equality: onto g = 0 every step, the official toy). No `constraint`: L = f.
 * eta is the option lrProx; x's part goes through `optimizer`. Defaults (official LLC toy): alpha = 0.008,
 * beta = 0.02, eta = 0.01, gamma1 = gamma2 = 10, lambdaMax = 1000, c0 = 0.025, p = 0.3, lambda0 = z0 = 1,
 * theta_0 = y_0; multipliers and projection as the paper. The official run, tuned task values and measured differences: docs/solvers/lvhba.md.
 * Assumptions: first order; non-singleton lower level; coupled constraints (convex in the analysis).
 */
import { jax, taxpy, tdispose, tref, tscale, tsqnorm, type Arr, type Tree } from "../engine/index.js";
import { grads } from "../oracles/index.js";
import type { BilevelProblem } from "../problem.js";
import { BilevelInputError, bind, choice, compileStep, defineSolver, np, num, objectives, positive, projectY, scalar, tree, unrolled, xOptimizer, yOptimizer, type OptState } from "../kit/index.js";

export const lvhbaDefaults = {
  alpha: 0.008,
  beta: 0.02,
  lrProx: 0.01,
  gamma1: 10,
  gamma2: 10,
  c0: 0.025,
  p: 0.3,
  lambdaMax: 1000,
  lambda0: 1,
  z0: 1,
  projIters: 1,
  multipliers: "nonnegative",
  projection: "halfspace",
};

type LvState = { x: Tree; y: Tree; theta: Tree; lam?: Arr; z?: Arr; invc?: Arr } & OptState;

/**
 * Proj_C for C = {(x, y) in X x Y : g(x, y) <= 0}: projectX/projectY, then `sweeps` surrogate
 * half-space projections for the violated part of g (or, with `equality`, for all of g: onto g = 0).
 * Consumes x and y.
 */
export function projectFeasible(p: BilevelProblem, x: Tree, y: Tree, sweeps: number, equality = false): { x: Tree; y: Tree } {
  x = p.projectX ? p.projectX(x) : x;
  y = p.projectY ? p.projectY(y) : y;
  if (!p.constraint) return { x, y };
  const g = p.constraint.bind(p);
  for (let s = 0; s < sweeps; s++) {
    const w = equality ? g(tref(x), tref(y)) : np.maximum(g(tref(x), tref(y)), 0);
    const wc = jax.lax.stopGradient(w.ref);
    const [jx, jy] = grads((xx, yy) => wc.ref.mul(g(xx, yy)).sum(), tref(x), tref(y));
    wc.dispose();
    const den = tsqnorm(tref(jx)).add(tsqnorm(tref(jy))).add(1e-30);
    const t = w.ref.mul(w).sum().div(den).neg();
    x = taxpy(t.ref, jx, x);
    y = taxpy(t, jy, y);
    if (p.projectX) x = p.projectX(x);
    if (p.projectY) y = p.projectY(y);
  }
  return { x, y };
}

export const lvhba = defineSolver({
  name: "lvhba",
  reference:
    "Yao, Yu, Zeng, Zhang (2024). Constrained Bi-Level Optimization: Proximal Lagrangian Value Function Approach and Hessian-free Algorithm. ICLR.",
  summary: "Hessian-free single loop on F/c_k + f - v (proximal Lagrangian value function), with coupled constraints g(x, y) <= 0.",
  defaults: lvhbaDefaults,
  help: {
    alpha: "step size of the main (x, y) step",
    beta: "step size of the z step",
    lrProx: "step size of the proximal (theta, lambda) step (the paper's eta)",
    gamma1: "proximal parameter on theta - y",
    gamma2: "proximal parameter on lambda - z",
    c0: "penalty schedule c_k = c0 (k+1)^p (F enters as F / c_k)",
    p: "penalty schedule exponent (paper: 0 < p < 1/2)",
    lambdaMax: "multipliers lambda and z are kept in [0, lambdaMax] (signed: [-lambdaMax, lambdaMax])",
    lambda0: "initial lambda",
    z0: "initial z",
    projIters: "surrogate half-space projection sweeps onto g(x, y) <= 0 per step",
    multipliers: "nonnegative (lambda, z in [0, lambdaMax], the paper) or signed ([-lambdaMax, lambdaMax], the official toy)",
    projection: "halfspace (project onto g <= 0 when violated, the paper) or equality (onto g = 0 at every step, the official toy)",
  },
  spec: { alpha: positive(), beta: positive(), lrProx: positive(), gamma1: positive(), gamma2: positive(), c0: positive(), p: num(0), lambdaMax: positive(), lambda0: num(), projIters: unrolled(0), z0: num(), multipliers: choice("nonnegative", "signed"), projection: choice("halfspace", "equality") },
  aliases: { eta: "lrProx" },
  capabilities: { secondOrder: false, nonSingleton: true, constraints: true, stochastic: false },
  innerOptimizer: true,
  create(p, o) {
    const lo = o.multipliers === "signed" ? -o.lambdaMax : 0;
    for (const key of ["lambda0", "z0"] as const) {
      if (!(o[key] >= lo && o[key] <= o.lambdaMax)) throw new BilevelInputError(`solver lvhba.${key}: expected a number in [${lo === 0 ? "0" : "-lambdaMax"}, lambdaMax], got ${o[key]}`);
    }
    const { F, f } = objectives(p);
    const g = p.constraint ? p.constraint.bind(p) : null;
    /** L(x, theta) = f(x, theta) + <lam, g(x, theta)>, with its borrowing oracles. */
    const lagrangian = (lam: Arr | undefined) => bind((xx, tt) => (g && lam ? f.fn(tref(xx), tref(tt)).add(lam.ref.mul(g(xx, tt)).sum()) : f.fn(xx, tt)));
    const clip = (a: Arr) => np.clip(a, lo, o.lambdaMax);
    const equality = o.projection === "equality";
    const opt = xOptimizer(o);
    const yopt = yOptimizer(o);
    const step = compileStep<LvState>((s) => {
      const { x, y, theta, lam, z } = s;
      const invc = s.invc!;
      // Proximal step on (theta, lambda) at (x_k, theta_k, lambda_k, z_k).
      const dTheta = tree.axpy(1 / o.gamma1, tree.sub(theta, y), lagrangian(lam).gradY(x, theta));
      const thetaN = projectY(p, tree.axpy(-o.lrProx, dTheta, theta));
      const lamN = g && lam && z ? clip(lam.ref.add(g(tree.ref(x), tree.ref(theta)).sub(lam.ref.sub(z.ref).mul(1 / o.gamma2)).mul(o.lrProx))) : undefined;
      // Main step on (x, y) and the z step.
      const [Fx, Fy] = F.grads(x, y);
      const [fx, fy] = f.grads(x, y);
      const dx = tree.sub(tree.axpy(invc, Fx, fx), lagrangian(lamN).gradX(x, thetaN));
      const dy = tree.axpy(-1 / o.gamma1, tree.sub(y, thetaN), tree.axpy(invc, Fy, fy));
      const [x1, st] = opt.update(x, dx, s, o.alpha);
      const [y1, sty] = yopt.update(y, dy, s, o.alpha);
      const next = projectFeasible(p, x1, y1, o.projIters, equality);
      const out: LvState = { x: next.x, y: next.y, theta: thetaN, ...st, ...sty };
      if (lamN && z) {
        out.z = clip(z.ref.add(lamN.ref.sub(z.ref).mul(o.beta / o.gamma2)));
        out.lam = lamN;
      }
      return out;
    });
    return {
      init: (x, y) => {
        const s: LvState = { x, y: tref(y), ...opt.init(x), ...yopt.init(y), theta: tscale(1, y) };
        if (g) {
          const g0 = g(tref(x), tref(s.y));
          const shape = g0.shape;
          g0.dispose();
          s.lam = np.full(shape, o.lambda0, { dtype: leafDtype(x) });
          s.z = np.full(shape, o.z0, { dtype: leafDtype(x) });
        }
        return s;
      },
      step: (s, k, b) => {
        if (b !== undefined) tdispose(b);
        return step({ ...(s as LvState), invc: scalar(1 / (o.c0 * Math.pow(k + 1, o.p))) }, k);
      },
      iterate: (s) => {
        const st = s as LvState;
        return { x: tref(st.x), y: tref(st.y) };
      },
      dispose: () => step.dispose(),
    };
  },
});

/** The dtype of a tree's first leaf (for the multipliers). */
function leafDtype(t: Tree) {
  return (jax.tree.leaves(t)[0] as Arr).dtype;
}
