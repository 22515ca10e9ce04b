/**
 * Pytree arithmetic over jax-js JsTrees of arrays. Every helper consumes its tree arguments (the
 * jax-js ownership rule); use `tref(t)` to keep a tree alive across a call.
 */
import * as jax from "./jaxjs.js";

type Arr = jax.Array;
/** A pytree of arrays: an array, an array of trees, or an object of trees. */
export type Tree = Arr | Tree[] | { [k: string]: Tree };

/** Map `fn` over the leaves of one or more trees with identical structure (tracers count as leaves). */
export function tmap(fn: (...leaves: Arr[]) => Arr, t: Tree, ...rest: Tree[]): Tree {
  return jax.tree.map(fn as (...a: unknown[]) => Arr, t as never, ...(rest as never[])) as Tree;
}

/** The leaves of a tree in a fixed order (does not change reference counts). */
export function tleaves(t: Tree): Arr[] {
  return jax.tree.leaves(t) as Arr[];
}

/** Take a reference of every leaf (returns the same tree). */
export function tref<T extends Tree>(t: T): T {
  return jax.tree.ref(t) as T;
}
/** Dispose every leaf. */
export function tdispose(t: Tree | null | undefined): void {
  if (t) jax.tree.dispose(t);
}

/** a + b */
export const tadd = <T extends Tree>(a: T, b: T): T => tmap((u, v) => u.add(v), a, b) as T;
/** a - b */
export const tsub = <T extends Tree>(a: T, b: T): T => tmap((u, v) => u.sub(v), a, b) as T;
/** s * a, with s a number or a scalar array (consumed once). */
export function tscale<T extends Tree>(s: number | Arr, a: T): T {
  if (typeof s === "number") return tmap((u) => u.mul(s), a) as T;
  const out = tmap((u) => u.mul(s.ref), a) as T;
  s.dispose();
  return out;
}
/** alpha * x + y */
export function taxpy<T extends Tree>(alpha: number | Arr, x: T, y: T): T {
  return tadd(tscale(alpha, x), y);
}
/** Zeros with the shape and dtype of each leaf. */
export const tzerosLike = <T extends Tree>(a: T): T => tmap((u) => jax.numpy.zerosLike(u), a) as T;
/** Sum over leaves of <a, b>: a scalar array. */
export function tvdot(a: Tree, b: Tree): Arr {
  const la = tleaves(a);
  const lb = tleaves(b);
  if (la.length !== lb.length) throw new Error(`tvdot: trees have ${la.length} and ${lb.length} leaves`);
  let acc: Arr | null = null;
  for (let i = 0; i < la.length; i++) {
    const d = la[i].mul(lb[i]).sum();
    acc = acc ? acc.add(d) : d;
  }
  if (!acc) throw new Error("tvdot: empty tree");
  return acc;
}
/** Squared Euclidean norm over all leaves: a scalar array. */
export function tsqnorm(a: Tree): Arr {
  let acc: Arr | null = null;
  for (const l of tleaves(a)) {
    const d = l.ref.mul(l).sum();
    acc = acc ? acc.add(d) : d;
  }
  if (!acc) throw new Error("tsqnorm: empty tree");
  return acc;
}
/** Euclidean norm over all leaves: a scalar array. */
export const tnorm = (a: Tree): Arr => jax.numpy.sqrt(tsqnorm(a));
/** Stop gradients through every leaf. */
export const tstop = <T extends Tree>(a: T): T => tmap((u) => jax.lax.stopGradient(u), a) as T;
/** Total number of scalar entries. */
export const tsize = (a: Tree): number => tleaves(a).reduce((n, l) => n + l.size, 0);
/** Shapes of the leaves, for error messages and shape checks. */
export const tshapes = (a: Tree): number[][] => tleaves(a).map((l) => [...l.shape]);

/**
 * Borrowing pytree arithmetic, the `tree` namespace of the public API and of solver step bodies: each
 * operation takes its own references, so its arguments stay valid and a value can be used as often as
 * the math needs. Results are fresh arrays; inside a kit step or a `scope` they are freed for you.
 * `a` and `b` are trees of one structure; `s` a number or a scalar array.
 */
export const tree = {
  /** a + b */
  add: <T extends Tree>(a: T, b: T): T => tadd(tref(a), tref(b)),
  /** a - b */
  sub: <T extends Tree>(a: T, b: T): T => tsub(tref(a), tref(b)),
  /** s a */
  scale: <T extends Tree>(s: number | Arr, a: T): T => tscale(typeof s === "number" ? s : s.ref, tref(a)),
  /** alpha x + y */
  axpy: <T extends Tree>(alpha: number | Arr, x: T, y: T): T => taxpy(typeof alpha === "number" ? alpha : alpha.ref, tref(x), tref(y)),
  /** -a */
  neg: <T extends Tree>(a: T): T => tmap((u) => u.neg(), tref(a)) as T,
  /** <a, b> summed over leaves: a scalar array. */
  vdot: (a: Tree, b: Tree): Arr => tvdot(tref(a), tref(b)),
  /** ||a||^2 over all leaves: a scalar array. */
  sqnorm: (a: Tree): Arr => tsqnorm(tref(a)),
  /** ||a|| over all leaves: a scalar array. */
  norm: (a: Tree): Arr => tnorm(tref(a)),
  /** Zeros shaped like a. */
  zerosLike: <T extends Tree>(a: T): T => tzerosLike(tref(a)),
  /** a with gradients stopped. */
  stop: <T extends Tree>(a: T): T => tstop(tref(a)),
  /** `fn` over the leaves of trees of one structure (the leaves are borrowed: `fn` may consume them). */
  map: (fn: (...leaves: Arr[]) => Arr, t: Tree, ...rest: Tree[]): Tree => tmap(fn, tref(t), ...rest.map((r) => tref(r))),
  /** The leaves in a fixed order (no reference taken). */
  leaves: tleaves,
  /** Number of scalar entries. */
  size: (a: Tree): number => tsize(a),
  /** Shapes of the leaves. */
  shapes: (a: Tree): number[][] => tshapes(a),
  /** A new reference to every leaf (for handing a tree to a consuming function). */
  ref: tref,
  /** Release one reference of every leaf. */
  dispose: tdispose,
};
