/**
 * BVFSM — Bi-level Value-Function-based Sequential Minimization.
 * Liu, Liu, Zeng, Zhang, Zhang (2021), "Value-Function-based Sequential Minimization for Bi-level
 * Optimization", arXiv:2110.04974 (IEEE TPAMI 2023). Official code: lx38324/BVFSM (optimistic.py).
 *
 * Barrier problems on the value-function constraint f(x, y) <= f*_mu(x) = min_z f(x, z) + mu ||z||^2,
 * with mu, theta, sigma = (zReg, yReg, lnReg) r_k -> 0 (r_k: option `schedule`). Per outer step k:
 *   z <- zLoop steps of  z - lrZ grad_z [f(x, z) + mu ||z||^2]                    (warm-started)
 *   s(y) = f(x, z) + mu ||z||^2 - f(x, y),   w(y) = -sigma psi'(s(y))              (the barrier's multiplier)
 *   y <- yLoop steps of  y - lrY / (1 + w) (grad_y F + w grad_y f + 2 theta y)     (warm-started)
 *   x <- x - lrX (grad_x F(x, y) + w (grad_x f(x, y) - grad_x f(x, z)))            (through `optimizer`)
 * r_k: "power2" (k+1)^-1.1 (official), "log" 1/log(1.1 (k+1)), "power1" 1.1^-(k+1), "linear" 1/(1.1 (k+1)),
 * "none" 1. psi = -log, continued linearly below barrierEps. Differences from the official code (barrier
 * on the gap itself, y step divided by 1 + w, plain x step instead of Adam) and the regime on the toys:
 * docs/solvers/bvfsm.md. Assumes a lower level whose regularized value function GD on z approximates (not
 * necessarily a singleton); first order; deterministic.
 * Defaults (official optimistic.py): zLoop = 50, yLoop = 25, lrZ = lrY = lrX = 0.01, zReg = yReg = 0.01,
 * lnReg = 0.001, schedule = "power2"; barrierEps = 1e-6 is ours.
 */
import { choice, compileStep, defineSolver, np, num, objectives, positive, projectX, projectY, stepInstance, tree, unrolled, xOptimizer, type Arr, type OptState, type Tree } from "../kit/index.js";

export const bvfsmDefaults = {
  zLoop: 50,
  yLoop: 25,
  lrZ: 0.01,
  lrY: 0.01,
  lrX: 0.01,
  zReg: 0.01,
  yReg: 0.01,
  lnReg: 0.001,
  schedule: "power2",
  barrierEps: 1e-6,
};

type BvfsmState = { x: Tree; y: Tree; z: Tree } & OptState;

/** The decay factor r_k as a scalar array (k consumed). */
function decayFactor(k: Arr, mode: string): Arr {
  const k1 = k.add(1);
  switch (mode) {
    case "power2":
      return np.exp(np.log(k1).mul(-1.1));
    case "log":
      return np.reciprocal(np.log(k1.mul(1.1)));
    case "power1":
      return np.exp(k1.mul(-Math.log(1.1)));
    case "linear":
      return np.reciprocal(k1.mul(1.1));
    default:
      return k1.mul(0).add(1);
  }
}

/** -psi'(s) = 1/s for s >= eps, 1/eps below (the linearly continued -log). Consumes s. */
const barrierWeight = (s: Arr, eps: number): Arr => np.reciprocal(np.maximum(s, eps));

export const bvfsm = defineSolver({
  name: "bvfsm",
  reference: "Liu, Liu, Zeng, Zhang, Zhang (2021). Value-Function-based Sequential Minimization for Bi-level Optimization. arXiv:2110.04974 (TPAMI 2023).",
  summary: "Regularized value function (z loop) + log barrier on the value gap (y loop), envelope gradient on x; regularization decays to zero.",
  defaults: bvfsmDefaults,
  help: {
    zLoop: "gradient steps on z (regularized lower level) per outer step",
    yLoop: "gradient steps on y (barrier problem) per outer step",
    lrZ: "step size on z",
    lrY: "step size on y (divided by 1 + the barrier weight)",
    lrX: "step size on x",
    zReg: "mu_0: weight of ||z||^2 in the regularized value function",
    yReg: "theta_0: weight of ||y||^2 in the y problem",
    lnReg: "sigma_0: weight of the log barrier",
    schedule: "schedule r_k of mu, theta, sigma: power2 | log | power1 | linear | none",
    barrierEps: "below this gap the log barrier continues linearly (weight lnReg r_k / barrierEps)",
  },
  spec: { zLoop: unrolled(), yLoop: unrolled(), lrZ: positive(), lrY: positive(), lrX: positive(), zReg: num(0), yReg: num(0), lnReg: num(0), schedule: choice("power2", "log", "power1", "linear", "none"), barrierEps: positive() },
  aliases: { decay: "schedule" },
  capabilities: { secondOrder: false, nonSingleton: true, constraints: false, stochastic: false },
  create(p, o) {
    const { F, f } = objectives(p);
    const opt = xOptimizer(o);
    const step = compileStep<BvfsmState>((s, k) => {
      const { x } = s;
      let { y, z } = s;
      const r = decayFactor(k, o.schedule);
      const mu = r.ref.mul(o.zReg);
      const theta = r.ref.mul(o.yReg);
      const sigma = r.mul(o.lnReg);
      const xs = tree.stop(x);
      // z: the regularized lower level
      for (let t = 0; t < o.zLoop; t++) z = projectY(p, tree.axpy(-o.lrZ, tree.add(f.gradY(xs, z), tree.scale(mu.ref.mul(2), z)), z));
      const value = f.value(xs, z).add(mu.mul(tree.sqnorm(z))); // f*_mu(x) estimate
      // y: the barrier problem at fixed x
      for (let t = 0; t < o.yLoop; t++) {
        const w = sigma.ref.mul(barrierWeight(value.ref.sub(f.value(xs, y)), o.barrierEps));
        const Fy = F.gradY(xs, y);
        const fy = f.gradY(xs, y);
        const scale = np.reciprocal(w.ref.add(1)).mul(-o.lrY);
        y = projectY(p, tree.axpy(scale, tree.add(tree.axpy(w, fy, Fy), tree.scale(theta.ref.mul(2), y)), y));
      }
      // x: grad phi = grad_x F + w (grad_x f(x, y) - grad_x f(x, z))
      const w = sigma.mul(barrierWeight(value.sub(f.value(xs, y)), o.barrierEps));
      const dx = tree.axpy(w, tree.axpy(-1, f.gradX(xs, z), f.gradX(x, y)), F.gradX(x, y));
      const [x1, st] = opt.update(x, dx, s, o.lrX);
      return { x: projectX(p, x1), y, z, ...st };
    });
    return stepInstance(step, (x, y) => ({ x, z: tree.map((u) => u.add(0), y), y, ...opt.init(x) }));
  },
});
