/**
 * Hypergradient oracles: estimates of dF/dx = grad_x F(x, y*(x)) + J^T grad_y F (J the Jacobian of y*(x)) at a given
 * (x, y), with y standing in for y*(x). All consume their array arguments.
 */
import { jax, taxpy, tdispose, tref, tsub, tvdot, tzerosLike, type Arr, type Tree } from "../engine/index.js";
import { bref, grads, hvpYY, jvpXY, type Objective } from "./grads.js";
import { conjugateGradient, fixedPoint, neumann } from "./linsolve.js";
import { directedDescent, unrolledDescent, type Direction, type GDOptions } from "./unroll.js";

export interface BilevelFns {
  upper: Objective;
  lower: Objective;
}

/**
 * How to solve the lower-level Hessian system. `damping` (default 0) solves (H + damping I) v = b
 * instead: the Tikhonov fix for a singular Hessian (a non-singleton lower level), where the
 * undamped system has no solution when b has a component in H's null space.
 */
export type LinearSolver = (
  | { method: "cg"; iters: number }
  | { method: "neumann"; iters: number; alpha: number }
  | { method: "fixed-point"; iters: number; alpha: number }
) & { damping?: number };

/**
 * Implicit-differentiation hypergradient (AID): solve grad^2_yy f · v = grad_y F, then
 * h = grad_x F - grad^2_xy f · v. Returns h and v (v can warm-start the next solve).
 */
export function implicitHypergrad(
  p: BilevelFns,
  x: Tree,
  y: Tree,
  solver: LinearSolver,
  batch?: { upper?: Tree; lower?: Tree },
  v0?: Tree,
): { h: Tree; v: Tree } {
  const [Fx, Fy] = grads(p.upper, tref(x), tref(y), bref(batch?.upper));
  const damping = solver.damping ?? 0;
  const matvec = (u: Tree) =>
    damping > 0 ? taxpy(damping, tref(u), hvpYY(p.lower, tref(x), tref(y), u, bref(batch?.lower))) : hvpYY(p.lower, tref(x), tref(y), u, bref(batch?.lower));
  let v: Tree;
  if (solver.method === "cg") v = conjugateGradient(matvec, Fy, solver.iters, v0);
  else if (solver.method === "neumann") {
    if (v0) tdispose(v0);
    v = neumann(matvec, Fy, solver.iters, solver.alpha);
  } else v = fixedPoint(matvec, Fy, solver.iters, solver.alpha, v0);
  const cross = jvpXY(p.lower, x, y, tref(v), batch?.lower);
  if (batch?.upper) tdispose(batch.upper);
  return { h: tsub(Fx, cross), v };
}

/**
 * Reverse-mode unrolled hypergradient (ITD / RHG): the gradient in x of F(x, y_T(x)), where y_T(x) is
 * `steps` gradient steps on f(x, .) from y, or from `start(x)` when given (only the last `truncate`
 * differentiated, 0 = all).
 * Returns the hypergradient and y_T.
 */
export function unrolledHypergrad(
  p: BilevelFns,
  x: Tree,
  y: Tree,
  opts: GDOptions & { truncate?: number; start?: (x: Tree) => Tree; direction?: Direction },
  batch?: { upper?: Tree; lower?: Tree },
): { h: Tree; yT: Tree; value: Arr } {
  // opts.start (meta-learning): the unroll starts at start(x) inside the differentiated function, so the
  // hypergradient includes the path through the initialization; y then only gives the shape.
  // opts.direction: unroll y <- y - direction(x, y, t) instead of gradient steps on f (e.g. BDA's
  // aggregated direction; `lr` and `truncate` are then unused).
  // y_T is read out as the gradient in a zero probe e of L(x, e) = F(x, y_T(x)) + <e, y_T(x)>: at
  // e = 0 this leaves grad_x unchanged and returns y_T exactly. (jax-js 0.1.25 loses `hasAux`
  // outputs of nested gradients under jit, so the auxiliary output route is not used.)
  const loss = (xx: Tree, e: Tree): Arr => {
    const y0 = opts.start ? opts.start(tref(xx)) : tref(y);
    const yt = opts.direction
      ? directedDescent(opts.direction, tref(xx), y0, opts, bref(batch?.lower))
      : unrolledDescent(p.lower, tref(xx), y0, opts, bref(batch?.lower));
    return p.upper(xx, tref(yt), bref(batch?.upper)).add(tvdot(e, yt));
  };
  const [value, [h, yT]] = jax.valueAndGrad(loss, { argnums: [0, 1] })(x, tzerosLike(tref(y))) as unknown as [Arr, [Tree, Tree]];
  tdispose(y);
  if (batch?.upper) tdispose(batch.upper);
  if (batch?.lower) tdispose(batch.lower);
  return { h, yT, value };
}
