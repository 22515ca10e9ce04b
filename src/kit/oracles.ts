/**
 * Borrowing oracles for solver step bodies: the derivative oracles of src/oracles bound to one
 * objective, taking their own references, so a step uses x, y and intermediate values as often as
 * the update needs and never counts references. Inside a kit step (`compileStep`) or a `scope`, the
 * arrays they make are freed for you.
 */
import { taxpy, tdispose, tref, type Arr, type Tree } from "../engine/index.js";
import * as O from "../oracles/index.js";
import type { Direction, GDOptions, LinearSolver, MatVec, Objective } from "../oracles/index.js";
import type { BilevelProblem } from "../problem.js";

const b = (batch?: Tree) => (batch === undefined ? undefined : tref(batch));
const r = <T extends Tree>(t: T): T => tref(t);

/** The derivatives of one objective phi(x, y, batch?) (F or f), all borrowing. */
export interface BoundObjective {
  /** phi itself (consuming its arguments), for building new objectives. */
  fn: Objective;
  value(x: Tree, y: Tree, batch?: Tree): Arr;
  gradX(x: Tree, y: Tree, batch?: Tree): Tree;
  gradY(x: Tree, y: Tree, batch?: Tree): Tree;
  /** [grad_x phi, grad_y phi] from one backward pass. */
  grads(x: Tree, y: Tree, batch?: Tree): [Tree, Tree];
  /** [phi, grad_x phi, grad_y phi]. */
  valueAndGrads(x: Tree, y: Tree, batch?: Tree): [Arr, Tree, Tree];
  /** grad^2_yy phi · v */
  hvpYY(x: Tree, y: Tree, v: Tree, batch?: Tree): Tree;
  /** grad^2_xy phi · v (x-shaped) */
  jvpXY(x: Tree, y: Tree, v: Tree, batch?: Tree): Tree;
  /** grad^2_yx phi · u (y-shaped) */
  jvpYX(x: Tree, y: Tree, u: Tree, batch?: Tree): Tree;
  /** `steps` gradient steps y <- project(y - lr grad_y phi) from y (differentiable: unrolls when traced). */
  descend(x: Tree, y: Tree, gd: GDOptions, batch?: Tree): Tree;
}

/** Bind the borrowing oracles to an objective. */
export function bind(fn: Objective): BoundObjective {
  return {
    fn,
    value: (x, y, batch) => fn(r(x), r(y), b(batch)),
    gradX: (x, y, batch) => O.gradX(fn, r(x), r(y), b(batch)),
    gradY: (x, y, batch) => O.gradY(fn, r(x), r(y), b(batch)),
    grads: (x, y, batch) => O.grads(fn, r(x), r(y), b(batch)),
    valueAndGrads: (x, y, batch) => O.valueAndGrads(fn, r(x), r(y), b(batch)),
    hvpYY: (x, y, v, batch) => O.hvpYY(fn, r(x), r(y), r(v), b(batch)),
    jvpXY: (x, y, v, batch) => O.jvpXY(fn, r(x), r(y), r(v), b(batch)),
    jvpYX: (x, y, u, batch) => O.jvpYX(fn, r(x), r(y), r(u), b(batch)),
    descend: (x, y, gd, batch) => O.gradientDescent(fn, r(x), r(y), gd, b(batch)),
  };
}

/** The problem's upper (`F`) and lower (`f`) objectives with borrowing oracles. */
export function objectives(p: BilevelProblem): { F: BoundObjective; f: BoundObjective } {
  return { F: bind((x, y, batch) => p.upper(x, y, batch)), f: bind((x, y, batch) => p.lower(x, y, batch)) };
}

/** Solve A v = rhs with `solver` (cg, neumann, fixed-point; damping adds damping I), A given by `matvec` (borrowed). */
export function linearSolve(matvec: (v: Tree) => Tree, rhs: Tree, solver: LinearSolver, v0?: Tree): Tree {
  const damping = solver.damping ?? 0;
  const A: MatVec = (u) => {
    const Au = matvec(u); // the caller's product borrows u; the internal solvers hand u over, so release it here
    const out = damping > 0 ? taxpy(damping, tref(u), Au) : Au;
    tdispose(u);
    return out;
  };
  if (solver.method === "cg") return O.conjugateGradient(A, r(rhs), solver.iters, v0 === undefined ? undefined : r(v0));
  if (solver.method === "neumann") return O.neumann(A, r(rhs), solver.iters, solver.alpha);
  return O.fixedPoint(A, r(rhs), solver.iters, solver.alpha, v0 === undefined ? undefined : r(v0));
}

/** AID at (x, y): solve grad^2_yy f v = grad_y F, h = grad_x F - grad^2_xy f v. Returns h and v. */
export function implicitHypergrad(
  F: BoundObjective,
  f: BoundObjective,
  x: Tree,
  y: Tree,
  solver: LinearSolver,
  batch?: { upper?: Tree; lower?: Tree },
  v0?: Tree,
): { h: Tree; v: Tree } {
  return O.implicitHypergrad({ upper: F.fn, lower: f.fn }, r(x), r(y), solver, batch && { upper: b(batch.upper), lower: b(batch.lower) }, v0 === undefined ? undefined : r(v0));
}

/** ITD / RHG: the gradient in x of F(x, y_T(x)) through `gd.steps` unrolled steps from y. Returns h, y_T and F. */
export function unrolledHypergrad(
  F: BoundObjective,
  f: BoundObjective,
  x: Tree,
  y: Tree,
  opts: GDOptions & { truncate?: number; start?: (x: Tree) => Tree; direction?: Direction },
  batch?: { upper?: Tree; lower?: Tree },
): { h: Tree; yT: Tree; value: Arr } {
  return O.unrolledHypergrad({ upper: F.fn, lower: f.fn }, r(x), r(y), opts, batch && { upper: b(batch.upper), lower: b(batch.lower) });
}

/** BOME's gap q = f(x, y) - f(x, y_T) (y_T held constant) with its gradients and y_T. */
export function valueGap(f: BoundObjective, x: Tree, y: Tree, gd: GDOptions, batch?: Tree): { q: Arr; gx: Tree; gy: Tree; yT: Tree } {
  return O.valueGap(f.fn, r(x), r(y), gd, b(batch));
}
