/**
 * sl-BAMM — single-loop Bi-level Averaged Method of Multipliers.
 * Liu, Liu, Yao, Zeng, Zhang (2023), "Averaged Method of Multipliers for Bi-Level Optimization without
 * Lower-Level Strong Convexity", ICML 2023. Official code: vis-opt-group/sl-BAMM (merely_convex/
 * strategy3.py, BAMM_CG --BDA --thelr); BOAT (callous-youth/BOAT, boat_torch/gm_ol/dm.py) re-implements it.
 *
 * phi_k = w_k F + (1 - w_k) f with w_k = mu_k = mu0 / (k+1)^(1/p) (phiWeight = schedule, the paper) or a
 * constant muFixed (phiWeight = fixed, the official code). Step k, everything at (x_k, y_k, v_k):
 *   r_k = grad^2_yy phi_k v_k - grad_y F, eta_k = N(r_k)^2 / (<r_k, grad^2_yy phi_k r_k> + 1e-12)
 *         (N = ||r|| with etaNorm = joint; the sum of per-leaf norms with per-tensor, the official code);
 *         adaptiveEta = false: eta_k = eta0 (k+1)^(-tau/2) lrY
 *   v_{k+1} = v_k - eta_k r_k,  y_{k+1} = Proj_Y(y_k - lrY grad_y phi_k)          (v_0 = 0)
 *   x_{k+1} = Proj_X(x_k - s_k (grad_x F - grad^2_xy phi_k v_k)), s_k = lrX (k+1)^(-1.5 tau) mu_k^xPower
 * Schedules are computed on the host in float64. Defaults (strategy3.py --thelr, "strategy s3"):
 * mu0 = 0.9, p = 10, tau = 1/40, lrY = lrX = 0.1, xPower = 3, adaptiveEta, with the paper's phi weight
 * and joint norm (differences and their measured effect: docs/solvers/bamm.md). toy-sc runs the
 * official strongly convex setting (mu0 = 0, xPower = 0).
 * Assumptions: second order in phi (Hessian- and Jacobian-vector products); non-singleton (merely
 * convex) lower level through the averaging; deterministic; no coupled constraints.
 */
import { jax, tdispose, tref } from "../engine/index.js";
import { grads, type Objective } from "../oracles/index.js";
import { BilevelInputError, bind, choice, compileStep, defineSolver, fraction, iterateXY, np, num, objectives, optim, positive, projectX, projectY, scalar, tree, xOptimizer, yOptimizer, type Arr, type OptState, type Tree } from "../kit/index.js";

export const bammDefaults = {
  mu0: 0.9,
  p: 10,
  tau: 1 / 40,
  lrY: 0.1,
  lrX: 0.1,
  xPower: 3,
  adaptiveEta: true,
  eta0: 1,
  phiWeight: "schedule",
  muFixed: 0.1,
  etaNorm: "joint",
};

/** The step-k scalars, computed on the host in float64: weight of F in phi, x step, fixed multiplier step. */
type BammScalars = { w: Arr; sx: Arr; eta: Arr };
type BammState = { x: Tree; y: Tree; v: Tree; c?: BammScalars } & OptState;

/** (weight of F in phi_k, s_k, fixed eta_k) at step k (0-based), in float64. */
export function bammSchedule(o: typeof bammDefaults, k: number): { w: number; sx: number; eta: number } {
  const k1 = k + 1;
  const mu = o.mu0 / Math.pow(k1, 1 / o.p);
  const w = o.phiWeight === "fixed" ? o.muFixed : mu;
  let sx = Math.pow(k1, -1.5 * o.tau) * o.lrX;
  if (o.mu0 > 0 && o.xPower > 0) sx *= Math.pow(mu, o.xPower);
  return { w, sx, eta: Math.pow(k1, -0.5 * o.tau) * o.eta0 * o.lrY };
}

/** phi = mu F + (1 - mu) f, with mu a scalar array borrowed from the caller (not consumed). */
function averaged(F: Objective, f: Objective, mu: Arr): Objective {
  return (x, y, b) => {
    const up = F(tref(x), tref(y), b === undefined ? undefined : tref(b));
    return mu.ref.mul(up).add(mu.ref.neg().add(1).mul(f(x, y, b)));
  };
}

export const bamm = defineSolver({
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
    phiWeight: "weight of F in phi: schedule (mu_k, the paper) or fixed (muFixed at every step, the official code)",
    muFixed: "the constant weight of F in phi when phiWeight = fixed (official --alpha default 0.1)",
    etaNorm: "norm in eta_k's numerator: joint (||r||, the paper) or per-tensor (sum of the leaves' norms, the official code)",
  },
  spec: { mu0: fraction(), p: positive(), tau: num(0), lrY: positive(), lrX: positive(), xPower: num(0), eta0: positive(), phiWeight: choice("schedule", "fixed"), muFixed: fraction(), etaNorm: choice("joint", "per-tensor") },
  capabilities: { secondOrder: true, nonSingleton: true, constraints: false, stochastic: false },
  innerOptimizer: true,
  create(p, o) {
    if (o.mu0 === 0 && o.xPower > 0) {
      throw new BilevelInputError(`solver bamm.xPower: with mu0 = 0 the x step lrX (k+1)^(-1.5 tau) mu_k^xPower would be 0; set xPower = 0`);
    }
    const { F, f } = objectives(p);
    const averages = o.phiWeight === "fixed" ? o.muFixed > 0 : o.mu0 > 0;
    const opt = xOptimizer(o);
    const yopt = yOptimizer(o);
    /** N(r)^2: ||r||^2, or (sum of the leaves' norms)^2. */
    const numerator = (r: Tree): Arr => {
      if (o.etaNorm === "joint") return tree.sqnorm(r);
      const n = tree.leaves(r).map((l) => np.sqrt(l.ref.mul(l.ref).sum())).reduce((a, b) => a.add(b));
      return n.ref.mul(n);
    };
    const step = compileStep<BammState>((s) => {
      const { x, y, v } = s;
      const { w: mu, sx, eta: etaFixed } = s.c!;
      const phi = bind(averages ? averaged(F.fn, f.fn, mu) : f.fn);
      const [Fx, Fy] = F.grads(x, y);
      // One forward-over-reverse pass along v gives grad phi (primal) and [grad^2_xy phi v, grad^2_yy phi v].
      const [[, phiY], [cross, Hv]] = jvpGrads(phi.fn, x, y, v);
      const r = tree.sub(Hv, Fy);
      const eta = o.adaptiveEta ? numerator(r).div(tree.vdot(r, phi.hvpYY(x, y, r)).add(1e-12)) : etaFixed;
      const [x1, st] = opt.update(x, tree.sub(Fx, cross), s, sx);
      const [y1, sty] = yopt.update(y, phiY, s, o.lrY);
      return { x: projectX(p, x1), y: projectY(p, y1), v: tree.axpy(optim.negate(eta), r, v), ...st, ...sty };
    });
    return {
      init: (x, y) => ({ x, y, v: tree.zerosLike(y), ...opt.init(x), ...yopt.init(y) }),
      step: (s, k, b) => {
        const c = bammSchedule(o, k);
        return step({ ...(s as BammState), c: { w: scalar(c.w), sx: scalar(c.sx), eta: scalar(c.eta) } }, k, b);
      },
      iterate: iterateXY,
      dispose: () => step.dispose(),
    };
  },
});

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
