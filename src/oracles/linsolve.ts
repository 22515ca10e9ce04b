/**
 * Linear solvers over pytrees for A v = b with A symmetric positive definite, given only the product
 * `matvec` (e.g. a Hessian-vector product). Fixed iteration counts, so they trace into `jit`.
 */
import { np, tadd, tdispose, taxpy, tref, tscale, tsqnorm, tsub, tvdot, tzerosLike, type Arr, type Tree } from "../engine/index.js";

/** v -> A v; consumes v. */
export type MatVec = (v: Tree) => Tree;

/**
 * Conjugate gradient: `iters` iterations from `x0` (default zero). Consumes b and x0. A tiny floor
 * on the denominators keeps an exactly solved system (zero residual) finite.
 */
export function conjugateGradient(matvec: MatVec, b: Tree, iters: number, x0?: Tree): Tree {
  let x: Tree;
  let r: Tree;
  if (x0 === undefined) {
    x = tzerosLike(tref(b));
    r = b;
  } else {
    x = x0;
    r = tsub(b, matvec(tref(x)));
  }
  let p = tref(r);
  let rs: Arr = tsqnorm(tref(r));
  for (let i = 0; i < iters; i++) {
    const Ap = matvec(tref(p));
    const pAp = tvdot(tref(p), tref(Ap));
    const alpha = rs.ref.div(np.maximum(pAp, 1e-30));
    x = taxpy(alpha.ref, tref(p), x);
    r = taxpy(alpha.neg(), Ap, r);
    const rsNew = tsqnorm(tref(r));
    const beta = rsNew.ref.div(np.maximum(rs, 1e-30));
    rs = rsNew;
    p = taxpy(beta, p, tref(r));
  }
  tdispose(r);
  tdispose(p);
  rs.dispose();
  return x;
}

/**
 * Neumann series: v = alpha * sum_{k=0}^{iters} (I - alpha A)^k b, which converges to A^{-1} b when
 * 0 < alpha < 2 / lambda_max(A). Consumes b.
 */
export function neumann(matvec: MatVec, b: Tree, iters: number, alpha: number): Tree {
  let p = tref(b); // (I - alpha A)^k b
  let acc = b;
  for (let i = 0; i < iters; i++) {
    p = tsub(tref(p), tscale(alpha, matvec(p)));
    acc = tadd(acc, tref(p));
  }
  tdispose(p);
  return tscale(alpha, acc);
}

/**
 * Fixed-point (Richardson / gradient descent on 1/2 v^T A v - b^T v) iteration
 * v <- v - alpha (A v - b), `iters` times from x0 (default zero). Consumes b and x0.
 */
export function fixedPoint(matvec: MatVec, b: Tree, iters: number, alpha: number, x0?: Tree): Tree {
  let v = x0 ?? tzerosLike(tref(b));
  for (let i = 0; i < iters; i++) {
    const res = tsub(matvec(tref(v)), tref(b));
    v = taxpy(-alpha, res, v);
  }
  tdispose(b);
  return v;
}
