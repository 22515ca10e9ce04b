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
 *   rho_k = innerLr / (k+1)^innerPower,  gamma_k = lrX / (k+1)^lrPower   (host, float64; x: `optimizer`)
 * v_0 = 0. benchmark_bilevel stores -v and decays both steps as (k+1)^-0.5; with innerPower = lrPower
 * = 0.5 the solver follows it step for step (test/parity-baselines.test.ts, docs/solvers/soba.md).
 * Assumes a strongly convex lower level (singleton), second order (forward-over-reverse products),
 * stochastic. Memory: three copies of the variables, no inner loop.
 * Defaults: innerLr = lrX = 0.1 (benchmark_bilevel step_size, outer_ratio 1), innerPower = 0.4,
 * lrPower = 0.6 (the paper's Theorem 1 rates). Former names: lrInner, innerDecay, outerDecay.
 */
import { compileStep, defineSolver, num, objectives, optim, positive, projectX, projectY, scalar, iterateXY, tree, xOptimizer, yOptimizer, type Arr, type OptState, type Tree } from "../kit/index.js";

export const sobaDefaults = { innerLr: 0.1, lrX: 0.1, innerPower: 0.4, lrPower: 0.6 };

/** The step sizes rho_k, gamma_k, computed on the host in float64 (as scalars, so jit does not retrace). */
type SobaState = { x: Tree; y: Tree; v: Tree; c?: { rho: Arr; gam: Arr } } & OptState;

export const soba = defineSolver({
  name: "soba",
  reference:
    "Dagréou, Ablin, Vaiter, Moreau (2022). A framework for bilevel optimization that enables stochastic and global variance reduction algorithms. NeurIPS.",
  summary: "Single-loop stochastic implicit method: one SGD step each on y, the linear-system variable v, and x.",
  defaults: sobaDefaults,
  help: {
    innerLr: "step size rho_0 on y and v",
    lrX: "step size gamma_0 on x",
    innerPower: "rho_k = innerLr / (k+1)^innerPower",
    lrPower: "gamma_k = lrX / (k+1)^lrPower",
  },
  spec: { innerLr: positive(), lrX: positive(), innerPower: num(0), lrPower: num(0) },
  aliases: { lrInner: "innerLr", innerDecay: "innerPower", outerDecay: "lrPower" },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    const opt = xOptimizer(o);
    const yopt = yOptimizer(o);
    const rho = optim.polynomial(o.innerLr, o.innerPower);
    const gamma = optim.polynomial(o.lrX, o.lrPower);
    const step = compileStep<SobaState>((s, _k, batch) => {
      const { x, y, v } = s;
      const Dy = f.gradY(x, y, batch);
      const Hv = f.hvpYY(x, y, v, batch);
      const cross = f.jvpXY(x, y, v, batch);
      const [Fx, Fy] = F.grads(x, y, batch);
      const Dv = tree.sub(Hv, Fy);
      const Dx = tree.sub(Fx, cross);
      const minusRho = optim.negate(s.c!.rho);
      const [x1, st] = opt.update(x, Dx, s, s.c!.gam);
      const [y1, sty] = yopt.update(y, Dy, s, s.c!.rho);
      return { x: projectX(p, x1), y: projectY(p, y1), v: tree.axpy(minusRho, Dv, v), ...st, ...sty };
    });
    const schedule = (st: SobaState, k: number): SobaState => ({ ...st, c: { rho: scalar(rho.at(k)), gam: scalar(gamma.at(k)) } });
    return {
      init: (x, y) => ({ x, v: tree.zerosLike(y), y, ...opt.init(x), ...yopt.init(y) }),
      step: (st, k, b) => step(schedule(st as SobaState, k), k, b),
      iterate: iterateXY,
      dispose: () => step.dispose(),
    };
  },
});
