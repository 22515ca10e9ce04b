/**
 * Template solver (docs/writing-a-solver.md): approximate implicit differentiation with a warm-started
 * linear-system variable, written with the kit. Not registered; the conformance suite runs it. Per step:
 *   y <- T steps of y - innerLr grad_y f(x, y)                                (warm start)
 *   v <- `iters` fixed-point steps v - alpha (grad^2_yy f v - grad_y F) from the previous v
 *   x <- x - lrX (grad_x F - grad^2_xy f v)        (through the `optimizer` option; sgd by default)
 * Assumes a strongly convex lower level and alpha < 2 / L (L the largest eigenvalue of grad^2_yy f).
 * Defaults: generic small steps (T = 10, innerLr = lrX = alpha = 0.1, iters = 5).
 */
import { compileStep, defineSolver, innerGD, linearSolve, objectives, positive, projectX, stepInstance, tree, unrolled, xOptimizer, type OptState, type Tree } from "../kit/index.js";

export const template = defineSolver({
  name: "template",
  reference: "Template of docs/writing-a-solver.md (AID with a warm-started fixed-point linear solve; cf. Ji, Yang, Liang 2021).",
  summary: "Inner GD, warm-started fixed-point solve of H v = grad_y F, x step on grad_x F - grad_xy f v.",
  defaults: { T: 10, innerLr: 0.1, lrX: 0.1, alpha: 0.1, iters: 5 },
  help: {
    T: "inner gradient steps per outer step",
    innerLr: "inner gradient step size",
    lrX: "outer step size on x",
    alpha: "fixed-point step of the linear solve",
    iters: "fixed-point steps per outer step (warm-started)",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive(), alpha: positive(), iters: unrolled() },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    const gd = innerGD(p, o.T, o.innerLr, o);
    const opt = xOptimizer(o);
    type State = { x: Tree; y: Tree; v: Tree } & OptState;
    const step = compileStep<State>((s, _k, batch) => {
      const y = f.descend(s.x, s.y, gd, batch);
      const [Fx, Fy] = F.grads(s.x, y, batch);
      const v = linearSolve((u) => f.hvpYY(s.x, y, u, batch), Fy, { method: "fixed-point", iters: o.iters, alpha: o.alpha }, s.v);
      const [x, st] = opt.update(s.x, tree.sub(Fx, f.jvpXY(s.x, y, v, batch)), s, o.lrX);
      return { x: projectX(p, x), y, v, ...st };
    });
    return stepInstance(step, (x, y) => ({ x, y, v: tree.zerosLike(y), ...opt.init(x) }));
  },
});
