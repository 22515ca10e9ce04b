/**
 * sl-BAMM — single-loop Bi-level Averaged Method of Multipliers.
 * Liu, Liu, Yao, Zeng, Zhang (2023), "Averaged Method of Multipliers for Bi-Level Optimization without
 * Lower-Level Strong Convexity", ICML 2023. Official code: vis-opt-group/sl-BAMM
 * (merely_convex/strategy3.py, mode BAMM_CG with --BDA --thelr; strongly_convex/strongly_convex.py,
 * mode Darts_W_CG_mp), re-implemented in BOAT (callous-youth/BOAT, boat_torch/gm_ol/dm.py, "DM").
 *
 * Averaged objective phi_k = mu_k F + (1 - mu_k) f. One outer step k (k = 0, 1, ...), every quantity
 * evaluated at (x_k, y_k, v_k) as in the official code (the three updates are independent):
 *   mu_k  = mu0 / (k + 1)^(1/p)                                 (averaging weight of F; mu0 = 0: plain f)
 *   r_k   = grad^2_yy phi_k(x_k, y_k) v_k - grad_y F(x_k, y_k)   (residual of the multiplier system)
 *   eta_k = ||r_k||^2 / (<r_k, grad^2_yy phi_k r_k> + 1e-12)     (adaptive: exact line search on
 *           1/2 v'Hv - v'grad_y F along r_k; official code and BOAT's default branch)
 *           or, with adaptiveEta = false, eta_k = eta0 (k + 1)^(-tau/2) lrY   (BOAT's fixed schedule)
 *   v_{k+1} = v_k - eta_k r_k                                   (multiplier step, v_0 = 0)
 *   y_{k+1} = Proj_Y(y_k - lrY grad_y phi_k(x_k, y_k))           (lower step on the averaged objective)
 *   s_x   = lrX (k + 1)^(-3 tau / 2) mu_k^xPower                  (upper step size; strategy s3: xPower = 3)
 *   x_{k+1} = Proj_X(x_k - s_x (grad_x F(x_k, y_k) - grad^2_xy phi_k(x_k, y_k) v_k))
 * The official code differentiates the averaged objective in the multiplier and cross terms (its
 * `w_mapped` / `loss_full` is the gradient of phi_k, not of f); with mu0 = 0 these are f's, i.e. the
 * textbook upper step grad_x F - grad^2_xy f v. The x step uses v_k (the multiplier before this step's
 * update), as in the official code, where the three updates run in parallel.
 *
 * Defaults (official merely-convex script strategy3.py with --thelr, "strategy s3"): mu0 = 0.9, p = 10,
 * tau = 1/40, lrY = 0.1 (its y_lr), lrX = 0.1 (the script's x step is (k+1)^(-1.5 tau) mu_k^3 y_lr, so
 * lrX = y_lr), xPower = 3; adaptiveEta = true; eta0 = 1 (strategy3's fixed eta is (k+1)^(-tau/2) y_lr).
 * BOAT's DM defaults differ (p = 100, tau = 0.01, strategy s1: xPower = 7).
 * The strongly convex script runs without averaging (mu0 = 0) and with s_x independent of mu_k
 * (xPower = 0); the toy-sc task uses that setting (src/tasks/index.ts; with the default mu0 = 0.9,
 * p = 10, mu_k is still ~0.5 after 1000 steps and y tracks argmin of the average, not y*(x)). toy-lls
 * uses the defaults unchanged but 2500 steps: s_x ~ mu_k^3 makes the x step small.
 *
 * Assumptions: first order in F, second order in phi (Hessian- and Jacobian-vector products); handles
 * a non-singleton (merely convex) lower level through the averaging; deterministic; memory constant
 * (one extra y-shaped variable v); no coupled constraints (projections onto X and Y are applied).
 */
import { num, positive, fraction } from "../options.js";
import { jax, np, taxpy, tdispose, tref, tsqnorm, tsub, tvdot, tzerosLike, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { grads, hvpYY, type Objective } from "../oracles/index.js";
import type { SolverSpec } from "../problem.js";
import { compileStep, fnsOf, projX, projY } from "./common.js";

export const bammDefaults = { mu0: 0.9, p: 10, tau: 1 / 40, lrY: 0.1, lrX: 0.1, xPower: 3, adaptiveEta: true, eta0: 1 };

type BammState = { x: Tree; y: Tree; v: Tree };

/** phi = mu F + (1 - mu) f, with mu a scalar array borrowed from the caller (not consumed). */
function averaged(F: Objective, f: Objective, mu: Arr): Objective {
  return (x, y, b) => {
    const up = F(tref(x), tref(y), b === undefined ? undefined : tref(b));
    return mu.ref.mul(up).add(mu.ref.neg().add(1).mul(f(x, y, b)));
  };
}

export const bamm: SolverSpec<typeof bammDefaults> = {
  name: "bamm",
  reference:
    "Liu, Liu, Yao, Zeng, Zhang (2023). Averaged Method of Multipliers for Bi-Level Optimization without Lower-Level Strong Convexity. ICML.",
  summary: "Single loop: lower step on mu_k F + (1-mu_k) f, multiplier step with adaptive eta_k, upper step grad_x F - grad_xy phi v.",
  defaults: bammDefaults,
  help: {
    mu0: "initial averaging weight of F in phi_k = mu_k F + (1 - mu_k) f (0 = no averaging)",
    p: "mu_k = mu0 / (k+1)^(1/p)",
    tau: "step-size decay: s_x ~ (k+1)^(-1.5 tau), fixed eta_k ~ (k+1)^(-0.5 tau)",
    lrY: "lower step size on y (the official y_lr)",
    lrX: "upper step size factor: s_x = lrX (k+1)^(-1.5 tau) mu_k^xPower",
    xPower: "exponent of mu_k in s_x (official strategy s3: 3; BOAT s2: 5, s1: 7; 0 = independent of mu_k)",
    adaptiveEta: "multiplier step eta_k = ||r||^2 / <r, H r> (official); false: eta0 (k+1)^(-tau/2) lrY",
    eta0: "fixed multiplier step factor (used when adaptiveEta = false)",
  },
  spec: { mu0: fraction(), p: positive(), tau: num(0), lrY: positive(), lrX: positive(), xPower: num(0), eta0: positive() },
  capabilities: { secondOrder: true, nonSingleton: true, constraints: false, stochastic: false },
  create(p, o) {
    if (!(o.mu0 >= 0 && o.mu0 < 1)) throw new BilevelInputError(`bamm.mu0: expected a number in [0, 1), got ${o.mu0}`);
    if (!(o.p > 0)) throw new BilevelInputError(`bamm.p: expected a positive number, got ${o.p}`);
    if (!(o.tau >= 0)) throw new BilevelInputError(`bamm.tau: expected a non-negative number, got ${o.tau}`);
    if (!(o.xPower >= 0)) throw new BilevelInputError(`bamm.xPower: expected a non-negative number, got ${o.xPower}`);
    if (o.mu0 === 0 && o.xPower > 0) {
      throw new BilevelInputError(`bamm.xPower: with mu0 = 0 the x step lrX (k+1)^(-1.5 tau) mu_k^xPower would be 0; set xPower = 0`);
    }
    const fns = fnsOf(p);
    const step = compileStep<BammState>(({ x, y, v }, k, batch) => {
      if (batch !== undefined) tdispose(batch);
      const k1 = k.add(1);
      const mu: Arr | null = o.mu0 > 0 ? np.power(k1.ref, -1 / o.p).mul(o.mu0) : null;
      const phi: Objective = mu ? averaged(fns.upper, fns.lower, mu) : fns.lower;
      const [Fx, Fy] = grads(fns.upper, tref(x), tref(y));
      // One forward-over-reverse pass along v gives grad phi (primal) and [grad^2_xy phi v, grad^2_yy phi v].
      const [[, phiY], [cross, Hv]] = jvpGrads(phi, x, y, v);
      const r = tsub(Hv, Fy);
      let eta: Arr;
      if (o.adaptiveEta) {
        const Hr = hvpYY(phi, tref(x), tref(y), tref(r));
        eta = tsqnorm(tref(r)).div(tvdot(tref(r), Hr).add(1e-12));
      } else {
        eta = np.power(k1.ref, -0.5 * o.tau).mul(o.eta0 * o.lrY);
      }
      const vNext = taxpy(eta.neg(), r, v);
      let sx = np.power(k1, -1.5 * o.tau).mul(o.lrX);
      if (mu && o.xPower > 0) sx = sx.mul(np.power(mu.ref, o.xPower));
      mu?.dispose();
      const h = tsub(Fx, cross);
      const xNext = projX(p, taxpy(sx.neg(), h, x));
      const yNext = projY(p, taxpy(-o.lrY, phiY, y));
      return { x: xNext, y: yNext, v: vNext };
    });
    return {
      init: (x, y) => ({ x, y: tref(y), v: tzerosLike(y) }),
      step: (s, k, b) => step(s as BammState, k, b),
      iterate: (s) => {
        const st = s as BammState;
        return { x: jax.tree.ref(st.x) as Tree, y: jax.tree.ref(st.y) as Tree };
      },
      dispose: () => step.dispose(),
    };
  },
};

/**
 * grad phi at (x, y) and its derivative along y -> y + t v: returns [[grad_x phi, grad_y phi],
 * [grad^2_xy phi v, grad^2_yy phi v]] (grad_x phi disposed here). Borrows x, y and v.
 */
function jvpGrads(phi: Objective, x: Tree, y: Tree, v: Tree): [[null, Tree], [Tree, Tree]] {
  const g = (yy: Tree) => grads(phi, tref(x), yy) as unknown as Tree;
  const [primal, tangent] = jax.jvp(g, [tref(y)], [tref(v)]) as unknown as [[Tree, Tree], [Tree, Tree]];
  tdispose(primal[0]);
  return [[null, primal[1]], tangent];
}
