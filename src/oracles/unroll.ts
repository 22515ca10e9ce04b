/**
 * Lower-level gradient descent, plain and differentiable (reverse-mode unrolling, ITD/RHG), and
 * BOME's value-function gap. Consumes its array arguments.
 */
import { jax, taxpy, tdispose, tref, tstop, tsub, type Arr, type Tree } from "../engine/index.js";
import { bdispose, bref, gradY, valueAndGrads, type Objective } from "./grads.js";

export interface GDOptions {
  /** Number of steps. */
  steps: number;
  /** Step size. */
  lr: number;
  /** Projection applied after each step (e.g. the problem's projectY). Consumes its argument. */
  project?: (y: Tree) => Tree;
}

/**
 * `steps` gradient steps on y -> fn(x, y) from y. Differentiable in x and y (the loop unrolls at
 * trace time), so wrapping it in a gradient in x gives reverse-mode unrolling.
 */
export function gradientDescent(fn: Objective, x: Tree, y: Tree, opts: GDOptions, batch?: Tree): Tree {
  for (let t = 0; t < opts.steps; t++) {
    const g = gradY(fn, tref(x), tref(y), bref(batch));
    y = taxpy(-opts.lr, g, y);
    if (opts.project) y = opts.project(y);
  }
  tdispose(x);
  bdispose(batch);
  return y;
}

/**
 * Truncated unrolling: the first `steps - truncate` steps run with gradients stopped, the last
 * `truncate` are differentiable (truncate >= steps, or 0, means full unrolling).
 */
export function unrolledDescent(fn: Objective, x: Tree, y: Tree, opts: GDOptions & { truncate?: number }, batch?: Tree): Tree {
  const k = opts.truncate && opts.truncate > 0 ? Math.min(opts.truncate, opts.steps) : opts.steps;
  const head = opts.steps - k;
  if (head > 0) {
    y = tstop(gradientDescent(fn, tstop(tref(x)), y, { ...opts, steps: head }, bref(batch)));
  }
  return gradientDescent(fn, x, y, { ...opts, steps: k }, batch);
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
