/**
 * FO — first-order bilevel optimization (first-order MAML, "FO-BLO"): the hypergradient with every
 * second-order term dropped. Finn, Abbeel, Levine (2017), "Model-Agnostic Meta-Learning", ICML (Sec. 5.2);
 * Nichol, Achiam, Schulman (2018), arXiv:1803.02999; FO-BLO in Likhosherstov et al. (2020), UFO-BLO,
 * arXiv:2006.03631 (official code xingyousong/ufom, exact_prob = 0).
 *
 * Per outer step k:
 *   y_0 = innerInit(x_k) (MAML-style restart)  or  y_k (warm start)
 *   y_{t+1} = y_t - innerLr grad_y f(x_k, y_t),  t < T   (the problem's `innerSteps` override T, innerLr)
 *   h = grad_x F(x_k, y_T) + [d innerInit(x_k) / dx]^T grad_y F(x_k, y_T)   (the second term with innerInit)
 *   x_{k+1} = proj_X(x_k - lrX h),   y_{k+1} = y_T
 * i.e. the unrolled hypergradient with dy_T/dy_0 replaced by I and the mixed terms dropped. Biased in
 * general: toy-ufo stops at theta = 3.311 (exact 1.633); toy-sc at x = xh (distance 1 on the default).
 * It follows the official toy's FO-BLO branch step for step (test/parity-ufo.test.ts).
 * Assumptions: first order only; memory constant in T; minibatches used when the problem has `sample`.
 * Defaults: T = 10 (the UFO-BLO toy's r and the official Omniglot inner_iters), innerLr = lrX = 0.1
 * (library conventions; the official outer step meta_step x inner rate is specific to its networks).
 */
import { compileStep, defineSolver, innerGD, innerStart, jax, objectives, positive, projectX, stepInstance, tree, unrolled, xOptimizer, type Arr, type BilevelProblem, type BoundObjective, type OptState, type Tree, type XY } from "../kit/index.js";

export const foDefaults = { T: 10, innerLr: 0.1, lrX: 0.1 };

/**
 * The first-order hypergradient at (x, y_T): grad_x F(x, y_T), plus, when the problem has `innerInit`,
 * the vector-Jacobian product of innerInit at x with grad_y F(x, y_T). Borrows its arguments.
 */
export function firstOrderGrad(p: BilevelProblem, F: BoundObjective, x: Tree, yT: Tree, batch?: Tree): Tree {
  const [Fx, Fy] = F.grads(x, yT, batch);
  if (!p.innerInit) return Fx;
  const cot = tree.stop(Fy);
  const back = jax.grad((xx: Tree): Arr => tree.vdot(p.innerInit!(xx), cot))(tree.ref(x)) as Tree;
  return tree.add(Fx, back);
}

export const fo = defineSolver({
  name: "fo",
  reference:
    "Finn, Abbeel, Levine (2017). Model-Agnostic Meta-Learning (first-order approximation). ICML; Nichol, Achiam, Schulman (2018). On First-Order Meta-Learning Algorithms. arXiv:1803.02999.",
  summary: "First-order hypergradient (FOMAML / FO-BLO): grad_x F at y_T plus grad_y F mapped back through innerInit; no second-order terms.",
  defaults: foDefaults,
  help: {
    T: "inner gradient steps per outer step (a problem's innerSteps override it)",
    innerLr: "inner gradient step size (a problem's innerSteps override it)",
    lrX: "outer step size on x",
  },
  spec: { T: unrolled(), innerLr: positive(), lrX: positive() },
  capabilities: { secondOrder: false, nonSingleton: false, constraints: false, stochastic: true },
  innerOptimizer: true,
  create(p, o) {
    const { F, f } = objectives(p);
    const gd = innerGD(p, o.T, o.innerLr, o);
    const opt = xOptimizer(o);
    const step = compileStep<XY & OptState>((s, _k, batch) => {
      const yT = f.descend(s.x, innerStart(p, s.x, s.y), gd, batch);
      const [x, st] = opt.update(s.x, firstOrderGrad(p, F, s.x, yT, batch), s, o.lrX);
      return { x: projectX(p, x), y: yT, ...st };
    });
    return stepInstance(step, (x, y) => ({ x, y, ...opt.init(x) }));
  },
});
