/**
 * First- and second-order derivative oracles of a bilevel objective `fn(x, y, batch)` (F or f).
 * All consume their array arguments (x, y, v, batch), following the jax-js ownership rule.
 */
import { jax, tref, type Arr, type Tree } from "../engine/index.js";

/** An objective of the upper and lower variables (and an optional minibatch); consumes its arguments. */
export type Objective = (x: Tree, y: Tree, batch?: Tree) => Arr;

const bref = (b: Tree | undefined): Tree | undefined => (b === undefined ? undefined : tref(b));
const bdispose = (b: Tree | undefined) => b !== undefined && jax.tree.dispose(b);

/** Gradient of fn in y. */
export function gradY(fn: Objective, x: Tree, y: Tree, batch?: Tree): Tree {
  return jax.grad((yy: Tree) => fn(x, yy, batch))(y) as Tree;
}

/** Gradient of fn in x. */
export function gradX(fn: Objective, x: Tree, y: Tree, batch?: Tree): Tree {
  return jax.grad((xx: Tree) => fn(xx, y, batch))(x) as Tree;
}

/** Value and both partial gradients: [value, grad_x, grad_y]. */
export function valueAndGrads(fn: Objective, x: Tree, y: Tree, batch?: Tree): [Arr, Tree, Tree] {
  const [v, [gx, gy]] = jax.valueAndGrad((xx: Tree, yy: Tree) => fn(xx, yy, batch), { argnums: [0, 1] })(x, y) as unknown as [
    Arr,
    [Tree, Tree],
  ];
  return [v, gx, gy];
}

/** Both partial gradients: [grad_x, grad_y]. */
export function grads(fn: Objective, x: Tree, y: Tree, batch?: Tree): [Tree, Tree] {
  const [v, gx, gy] = valueAndGrads(fn, x, y, batch);
  v.dispose();
  return [gx, gy];
}

/** Hessian-vector product grad^2_yy fn(x, y) · v (forward-over-reverse). */
export function hvpYY(fn: Objective, x: Tree, y: Tree, v: Tree, batch?: Tree): Tree {
  const [g, hv] = jax.jvp((yy: Tree) => gradY(fn, tref(x), yy, bref(batch)), [y], [v]) as unknown as [Tree, Tree];
  jax.tree.dispose(g);
  jax.tree.dispose(x);
  bdispose(batch);
  return hv;
}

/**
 * Mixed product grad^2_xy fn(x, y) · v, an x-shaped tree: the derivative of grad_x fn(x, y) along
 * y -> y + t v (forward-over-reverse).
 */
export function jvpXY(fn: Objective, x: Tree, y: Tree, v: Tree, batch?: Tree): Tree {
  const [g, out] = jax.jvp((yy: Tree) => gradX(fn, tref(x), yy, bref(batch)), [y], [v]) as unknown as [Tree, Tree];
  jax.tree.dispose(g);
  jax.tree.dispose(x);
  bdispose(batch);
  return out;
}

/**
 * Mixed product grad^2_yx fn(x, y) · u, a y-shaped tree (u is x-shaped): the derivative of
 * grad_y fn(x, y) along x -> x + t u.
 */
export function jvpYX(fn: Objective, x: Tree, y: Tree, u: Tree, batch?: Tree): Tree {
  const [g, out] = jax.jvp((xx: Tree) => gradY(fn, xx, tref(y), bref(batch)), [x], [u]) as unknown as [Tree, Tree];
  jax.tree.dispose(g);
  jax.tree.dispose(y);
  bdispose(batch);
  return out;
}

export { bref, bdispose };
