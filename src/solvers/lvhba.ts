/**
 * LV-HBA — proximal Lagrangian Value function based Hessian-free Bi-level Algorithm.
 * Yao, Yu, Zeng, Zhang (2024), "Constrained Bi-Level Optimization: Proximal Lagrangian Value Function
 * Approach and Hessian-free Algorithm", ICLR 2024. Official code: SUSTech-Optimization/LV-HBA
 * (Toy-example/LLC/LV-HBA.py for the coupled-constraint toy; Hyperparameter optimization/Linear SVM).
 *
 * Problem: min F(x, y) over (x, y) in C = {(x, y) in X x Y : g(x, y) <= 0} with y in
 * argmin_{theta in Y} {f(x, theta) : g(x, theta) <= 0}. With the Lagrangian L(x, theta, lam) =
 * f(x, theta) + <lam, g(x, theta)> (lam >= 0, one entry per constraint entry), the proximal Lagrangian
 * value function is
 *   v(x, y, z) = min_theta max_{lam >= 0} L(x, theta, lam) + 1/(2 gamma1) ||theta - y||^2 - 1/(2 gamma2) ||lam - z||^2
 * and the method is a single-loop, first-order (Hessian-free) descent on the penalized value-function
 * reformulation  min_{(x, y) in C, z}  F(x, y) / c_k + f(x, y) - v(x, y, z).  One step k = 0, 1, ...:
 *   c_k = c0 (k + 1)^p
 *   theta_{k+1} = Proj_Y(theta_k - eta (grad_theta L(x_k, theta_k, lam_k) + (theta_k - y_k) / gamma1))
 *   lam_{k+1}   = Proj_[0, lambdaMax](lam_k + eta (g(x_k, theta_k) - (lam_k - z_k) / gamma2))
 *   d_x = grad_x F(x_k, y_k) / c_k + grad_x f(x_k, y_k) - grad_x L(x_k, theta_{k+1}, lam_{k+1})
 *   d_y = grad_y F(x_k, y_k) / c_k + grad_y f(x_k, y_k) - (y_k - theta_{k+1}) / gamma1
 *   (x_{k+1}, y_{k+1}) = Proj_C((x_k, y_k) - alpha (d_x, d_y))
 *   z_{k+1}     = Proj_[0, lambdaMax](z_k + beta (lam_{k+1} - z_k) / gamma2)
 * Proj_C: the problem's projectX / projectY, then `projIters` sweeps of the surrogate half-space
 * projection for g(x, y) <= 0: with w = max(g(x, y), 0) and J = dg/d(x, y),
 *   (x, y) <- Proj_{XxY}((x, y) - ||w||^2 / ||J'w||^2 J'w)
 * (the projection onto {u : <J'w, u - (x, y)> <= -||w||^2}, a half-space that contains C when g is
 * convex; exact in one sweep for a single affine constraint, Fejer-monotone otherwise). The official
 * code solves this projection exactly (a closed form for its affine toy, cvxpy for the SVM).
 * Without a `constraint`, lam and z are dropped and L = f.
 *
 * Defaults (official Toy-example/LLC/LV-HBA.py, the toy-constrained problem): alpha = 0.008,
 * beta = 0.02, eta = 0.01, gamma1 = gamma2 = 10, lambdaMax = 1000 (its u), c_k = 0.025 (k + 1)^0.3
 * (c0 = 0.025, p = 0.3), lambda0 = 1 (its initial lam; z_0 = lambda0 too), theta_0 = y_0 (the SVM
 * code's copy of the model). Deviations: the official toy clips lam and z to [-u, u] and starts z at
 * -1; inequality multipliers are kept in [0, lambdaMax] here as in the paper.
 * Tuned values (src/tasks/index.ts): toy-lls runs the defaults (3500 steps). On toy-constrained
 * (n = 100) the defaults oscillate: the (theta, lambda) gradient descent-ascent couples lambda to
 * sqrt(2n) entries of theta; gamma2 = 0.1 (lambda held near z), eta = alpha = 0.02, c_k = (k+1)^0.49
 * reach the optimum in 3000 steps. The penalty leaves an O(1/c_k) bias, so toy-sc's 1e-3 needs c_k
 * to grow linearly: c_k = 0.3 (k+1) (p = 1, outside the paper's p < 1/2), alpha = 0.18, eta = 0.1,
 * gamma1 = 100, 6000 steps.
 *
 * Assumptions: first order (no Hessians); handles a non-singleton lower level and coupled constraints
 * g(x, y) <= 0 (convex in the paper's analysis); deterministic; memory constant (theta, lam, z).
 */
import { num, positive, unrolled } from "../options.js";
import { jax, np, taxpy, tdispose, tref, tscale, tsqnorm, tsub, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { gradX, gradY, grads, type Objective } from "../oracles/index.js";
import type { BilevelProblem, SolverSpec } from "../problem.js";
import { compileStep, fnsOf, projX, projY } from "./common.js";

export const lvhbaDefaults = {
  alpha: 0.008,
  beta: 0.02,
  eta: 0.01,
  gamma1: 10,
  gamma2: 10,
  c0: 0.025,
  p: 0.3,
  lambdaMax: 1000,
  lambda0: 1,
  projIters: 1,
};

type LvState = { x: Tree; y: Tree; theta: Tree; lam?: Arr; z?: Arr };

/**
 * Proj_C for C = {(x, y) in X x Y : g(x, y) <= 0}: projectX/projectY, then `sweeps` surrogate
 * half-space projections for the violated part of g. Consumes x and y.
 */
export function projectFeasible(p: BilevelProblem, x: Tree, y: Tree, sweeps: number): { x: Tree; y: Tree } {
  x = projX(p, x);
  y = projY(p, y);
  if (!p.constraint) return { x, y };
  const g = p.constraint.bind(p);
  for (let s = 0; s < sweeps; s++) {
    const w = np.maximum(g(tref(x), tref(y)), 0);
    const wc = jax.lax.stopGradient(w.ref);
    const [jx, jy] = grads((xx, yy) => wc.ref.mul(g(xx, yy)).sum(), tref(x), tref(y));
    wc.dispose();
    const den = tsqnorm(tref(jx)).add(tsqnorm(tref(jy))).add(1e-30);
    const t = w.ref.mul(w).sum().div(den).neg();
    x = projX(p, taxpy(t.ref, jx, x));
    y = projY(p, taxpy(t, jy, y));
  }
  return { x, y };
}

export const lvhba: SolverSpec<typeof lvhbaDefaults> = {
  name: "lvhba",
  reference:
    "Yao, Yu, Zeng, Zhang (2024). Constrained Bi-Level Optimization: Proximal Lagrangian Value Function Approach and Hessian-free Algorithm. ICLR.",
  summary: "Hessian-free single loop on F/c_k + f - v (proximal Lagrangian value function), with coupled constraints g(x, y) <= 0.",
  defaults: lvhbaDefaults,
  help: {
    alpha: "step size of the main (x, y) step",
    beta: "step size of the z step",
    eta: "step size of the proximal (theta, lambda) step",
    gamma1: "proximal parameter on theta - y",
    gamma2: "proximal parameter on lambda - z",
    c0: "penalty schedule c_k = c0 (k+1)^p (F enters as F / c_k)",
    p: "penalty schedule exponent (paper: 0 < p < 1/2)",
    lambdaMax: "multipliers lambda and z are kept in [0, lambdaMax]",
    lambda0: "initial lambda and z",
    projIters: "surrogate half-space projection sweeps onto g(x, y) <= 0 per step",
  },
  spec: { alpha: positive(), beta: positive(), eta: positive(), gamma1: positive(), gamma2: positive(), c0: positive(), p: num(0), lambdaMax: positive(), lambda0: num(0, "lambdaMax"), projIters: unrolled(0) },
  capabilities: { secondOrder: false, nonSingleton: true, constraints: true, stochastic: false },
  create(p, o) {
    for (const key of ["alpha", "beta", "eta", "gamma1", "gamma2", "c0", "lambdaMax"] as const) {
      if (!(o[key] > 0)) throw new BilevelInputError(`lvhba.${key}: expected a positive number, got ${o[key]}`);
    }
    if (!(o.p >= 0)) throw new BilevelInputError(`lvhba.p: expected a non-negative number, got ${o.p}`);
    if (!(o.lambda0 >= 0 && o.lambda0 <= o.lambdaMax)) throw new BilevelInputError(`lvhba.lambda0: expected a number in [0, lambdaMax], got ${o.lambda0}`);
    if (!Number.isInteger(o.projIters) || o.projIters < 0) throw new BilevelInputError(`lvhba.projIters: expected a non-negative integer, got ${o.projIters}`);
    const fns = fnsOf(p);
    const g = p.constraint ? p.constraint.bind(p) : null;
    /** L(x, theta) = f(x, theta) + <lam, g(x, theta)>; lam borrowed. */
    const lagrangian =
      (lam: Arr | undefined): Objective =>
      (xx, tt) =>
        g && lam ? fns.lower(tref(xx), tref(tt)).add(lam.ref.mul(g(xx, tt)).sum()) : fns.lower(xx, tt);
    const clip = (a: Arr) => np.clip(a, 0, o.lambdaMax);

    const step = compileStep<LvState>(({ x, y, theta, lam, z }, k) => {
      const invc = np.power(k.add(1), -o.p).mul(1 / o.c0);
      // Proximal step on (theta, lambda) at (x_k, theta_k, lambda_k, z_k).
      const gTheta = g && lam ? g(tref(x), tref(theta)) : null;
      const Lt = gradY(lagrangian(lam), tref(x), tref(theta));
      const dTheta = taxpy(1 / o.gamma1, tsub(tref(theta), tref(y)), Lt);
      const thetaN = projY(p, taxpy(-o.eta, dTheta, theta));
      let lamN: Arr | undefined;
      if (gTheta && lam && z) {
        const dLam = gTheta.sub(lam.ref.sub(z.ref).mul(1 / o.gamma2));
        lamN = clip(lam.add(dLam.mul(o.eta)));
      } else lam?.dispose();
      // Main step on (x, y) and the z step.
      const [Fx, Fy] = grads(fns.upper, tref(x), tref(y));
      const [fx, fy] = grads(fns.lower, tref(x), tref(y));
      const Lx = gradX(lagrangian(lamN), tref(x), tref(thetaN));
      const dx = tsub(taxpy(invc.ref, Fx, fx), Lx);
      const dy = taxpy(-1 / o.gamma1, tsub(tref(y), tref(thetaN)), taxpy(invc, Fy, fy));
      const next = projectFeasible(p, taxpy(-o.alpha, dx, x), taxpy(-o.alpha, dy, y), o.projIters);
      const out: LvState = { x: next.x, y: next.y, theta: thetaN };
      if (lamN && z) {
        out.z = clip(z.ref.add(lamN.ref.sub(z).mul(o.beta / o.gamma2)));
        out.lam = lamN;
      } else z?.dispose();
      return out;
    });
    return {
      init: (x, y) => {
        const s: LvState = { x, y: tref(y), theta: tscale(1, y) };
        if (g) {
          const g0 = g(tref(x), tref(s.y));
          const shape = g0.shape;
          g0.dispose();
          s.lam = np.full(shape, o.lambda0, { dtype: leafDtype(x) });
          s.z = np.full(shape, o.lambda0, { dtype: leafDtype(x) });
        }
        return s;
      },
      step: (s, k, b) => {
        if (b !== undefined) tdispose(b);
        return step(s as LvState, k);
      },
      iterate: (s) => {
        const st = s as LvState;
        return { x: tref(st.x), y: tref(st.y) };
      },
      dispose: () => step.dispose(),
    };
  },
};

/** The dtype of a tree's first leaf (for the multipliers). */
function leafDtype(t: Tree) {
  return (jax.tree.leaves(t)[0] as Arr).dtype;
}
