/**
 * Lower-level gradient descent, plain and differentiable (reverse-mode unrolling, ITD/RHG), and
 * BOME's value-function gap. Consumes its array arguments.
 */
import { jax, tadd, taxpy, tdispose, tref, tscale, tstop, tsub, type Arr, type Tree } from "../engine/index.js";
import type { Optimizer } from "../optim/transform.js";
import { bdispose, bref, gradY, valueAndGrads, type Objective } from "./grads.js";

export interface GDOptions {
  /** Number of steps. */
  steps: number;
  /** Step size. */
  lr: number;
  /** Projection applied after each step (e.g. the problem's projectY). Consumes its argument. */
  project?: (y: Tree) => Tree;
  /**
   * The update rule (src/optim): absent or `sgd` for plain steps y - lr grad; otherwise its state starts
   * fresh at y for each descent (`innerOptimizer` of the solvers).
   */
  optimizer?: Optimizer;
}

/**
 * `steps` gradient steps on y -> fn(x, y) from y. Differentiable in x and y (the loop unrolls at
 * trace time), so wrapping it in a gradient in x gives reverse-mode unrolling.
 */
export function gradientDescent(fn: Objective, x: Tree, y: Tree, opts: GDOptions, batch?: Tree): Tree {
  const [yT, state] = descend(fn, x, y, opts, batch);
  tdispose(state);
  return yT;
}

/** The optimizer of `opts` when it keeps a state (not plain sgd). */
const stateful = (opts: GDOptions): Optimizer | undefined => (opts.optimizer && opts.optimizer.name !== "sgd" ? opts.optimizer : undefined);

/** `gradientDescent` that also returns the optimizer's state (`state` continues an earlier one; consumed). */
function descend(fn: Objective, x: Tree, y: Tree, opts: GDOptions, batch?: Tree, state?: Tree): [Tree, Tree] {
  const opt = stateful(opts);
  let s: Tree = opt ? (state ?? ((opt.init(y) ?? []) as Tree)) : [];
  for (let t = 0; t < opts.steps; t++) {
    const g = gradY(fn, tref(x), tref(y), bref(batch));
    if (opt) {
      const r = opt.update(y, g, s as never, opts.lr);
      tdispose([y, g, s]);
      [y, s] = [r.params, (r.state ?? []) as Tree];
    } else y = taxpy(-opts.lr, g, y);
    if (opts.project) y = opts.project(y);
  }
  tdispose(x);
  bdispose(batch);
  return [y, s];
}

/**
 * Truncated unrolling: the first `steps - truncate` steps run with gradients stopped, the last
 * `truncate` are differentiable (truncate >= steps, or 0, means full unrolling).
 */
export function unrolledDescent(fn: Objective, x: Tree, y: Tree, opts: GDOptions & { truncate?: number }, batch?: Tree): Tree {
  const k = opts.truncate && opts.truncate > 0 ? Math.min(opts.truncate, opts.steps) : opts.steps;
  const head = opts.steps - k;
  let state: Tree | undefined;
  if (head > 0) {
    const [yh, sh] = descend(fn, tstop(tref(x)), y, { ...opts, steps: head }, bref(batch));
    [y, state] = [tstop(yh), stateful(opts) ? tstop(sh) : (tdispose(sh), undefined)];
  }
  const [yT, sT] = descend(fn, x, y, { ...opts, steps: k }, batch, state);
  tdispose(sT);
  return yT;
}

/**
 * BOME's value-function gap q(x, y) = f(x, y) - f(x, y_T), where y_T = `steps` of gradient descent on
 * f(x, .) from y, treated as a constant. Returns the gap q, its gradient
 * [grad_x f(x,y) - grad_x f(x,y_T), grad_y f(x,y)], and y_T.
 */
export function valueGap(f: Objective, x: Tree, y: Tree, opts: GDOptions, batch?: Tree): { q: Arr; gx: Tree; gy: Tree; yT: Tree } {
  const yT = tstop(gradientDescent(f, tstop(tref(x)), tstop(tref(y)), opts, bref(batch)));
  const [fxy, gx1, gy] = valueAndGrads(f, tref(x), y, bref(batch));
  const [fT, gx2] = jax.valueAndGrad((xx: Tree) => f(xx, tref(yT), batch))(x) as unknown as [Arr, Tree];
  return { q: fxy.sub(fT), gx: tsub(gx1, gx2), gy, yT };
}

/** A descent direction at inner step t (0-based), step size included: d(x, y_t, t). Consumes x, y, batch. */
export type Direction = (x: Tree, y: Tree, t: number, batch?: Tree) => Tree;

/**
 * `steps` steps y_{t+1} = project(y_t - d(x, y_t, t)) with a caller-given direction. Like
 * `gradientDescent`, differentiable in x and y (the loop unrolls at trace time), so a gradient in x
 * of F(x, y_T(x)) is reverse-mode differentiation through the whole trajectory.
 */
export function directedDescent(
  direction: Direction,
  x: Tree,
  y: Tree,
  opts: { steps: number; project?: (y: Tree) => Tree },
  batch?: Tree,
): Tree {
  for (let t = 0; t < opts.steps; t++) {
    const d = direction(tref(x), tref(y), t, bref(batch));
    y = tsub(y, d);
    if (opts.project) y = opts.project(y);
  }
  tdispose(x);
  bdispose(batch);
  return y;
}

/**
 * BDA's aggregated direction (Liu et al. 2020): d_t = alpha_t s_u grad_y F(x, y_t) + (1 - alpha_t) s_l grad_y f(x, y_t),
 * with alpha_t = alphas[t] (upper objective `F`, lower objective `f`).
 */
export function aggregatedDirection(F: Objective, f: Objective, alphas: number[], su: number, sl: number): Direction {
  return (x, y, t, batch) => {
    const a = alphas[t];
    if (a === 0) return tscale(sl, gradY(f, x, y, batch));
    const gF = gradY(F, tref(x), tref(y), bref(batch));
    const gf = gradY(f, x, y, batch);
    return tadd(tscale(a * su, gF), tscale((1 - a) * sl, gf));
  };
}
