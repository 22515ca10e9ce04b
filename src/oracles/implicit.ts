/**
 * Implicit differentiation inside the user's own code (jaxopt's `custom_root`, TorchOpt's
 * `implicit.custom_root`): `implicitArgmin(lower, options)` and `implicitRoot(optimality, solve, options)`
 * return a function `x => y*(x)` that solves the inner problem in its forward pass and whose derivative
 * (a custom VJP, `jax.customVjp` of the shipped engine) is the implicit-function-theorem product
 *
 *     y*(x): optimality(x, y*) = 0,   x_bar = -(d_x optimality)^T u,   (d_y optimality)^T u = y_bar,
 *
 * with u from a fixed-iteration linear solver (CG, Neumann, fixed point: ./linsolve.ts). For an argmin,
 * optimality = grad_y lower and d_y optimality = grad^2_yy lower (symmetric, solved by plain CG);
 * for a general root the "cg" method is CG on the normal equations. The functions work under the
 * user's `jax.grad`, `jax.vjp`, `jax.jit` and nested reverse-mode `grad` (an outer gradient
 * differentiates the backward pass), not under forward mode (`jvp`) or `vmap`. Everything that varies
 * must be part of `x` (a pytree): `lower`, `optimality`, `solve` and `init` must not capture traced values.
 * All functions consume their array arguments (the jax-js ownership rule).
 */
import { jax, taxpy, tdispose, tref, tscale, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { gradY, hvpYY, jvpXY } from "./grads.js";
import { conjugateGradient, fixedPoint, neumann, type MatVec } from "./linsolve.js";

/** The linear solver of the backward pass: `iters` iterations of `method`, solving (A + damping I) u = b. */
export interface ImplicitLinearSolver {
  method: "cg" | "neumann" | "fixed-point";
  /** Iterations (a fixed count, so the backward pass traces into `jit`). */
  iters: number;
  /** Step size of "neumann" / "fixed-point" (default: the inner `lr` for an argmin, 1 for a root). */
  alpha?: number;
  /** Tikhonov damping added to the system matrix (default 0). */
  damping?: number;
}

export interface ImplicitArgminOptions {
  /** Inner starting point y0 = init(x) for the built-in gradient descent (consumes x). */
  init?: (x: Tree) => Tree;
  /** Inner gradient-descent steps (default 100). */
  steps?: number;
  /** Inner step size (required with `init`). */
  lr?: number;
  /** A user inner solver x => y*(x) instead of gradient descent (consumes x). */
  solver?: (x: Tree) => Tree;
  /** Linear solver of the backward pass (default CG, 20 iterations). */
  linear?: ImplicitLinearSolver;
}

export interface ImplicitRootOptions {
  /** Linear solver of the backward pass (default CG on the normal equations, 20 iterations). */
  linear?: ImplicitLinearSolver;
  /** d_y optimality is symmetric (e.g. a gradient): "cg" then runs on it directly. Default false. */
  symmetric?: boolean;
}

/** `optimality(x, y)`: a y-shaped residual that is zero at the solution; consumes x and y. */
export type Optimality = (x: Tree, y: Tree) => Tree;

const isFn = (f: unknown): boolean => typeof f === "function";
const positive = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v > 0;

function checkLinear(where: string, linear: ImplicitLinearSolver | undefined, alphaDefault: number | undefined): Required<ImplicitLinearSolver> {
  const l = linear ?? { method: "cg", iters: 20 };
  if (!["cg", "neumann", "fixed-point"].includes(l.method)) {
    throw new BilevelInputError(`${where}: linear.method: expected one of cg, neumann, fixed-point, got '${String(l.method)}'`);
  }
  if (!Number.isInteger(l.iters) || l.iters < 1) throw new BilevelInputError(`${where}: linear.iters: expected an integer >= 1, got ${String(l.iters)}`);
  const damping = l.damping ?? 0;
  if (typeof damping !== "number" || !Number.isFinite(damping) || damping < 0) {
    throw new BilevelInputError(`${where}: linear.damping: expected a number >= 0, got ${String(l.damping)}`);
  }
  const alpha = l.alpha ?? alphaDefault;
  if (l.method !== "cg" && !positive(alpha)) {
    throw new BilevelInputError(`${where}: linear.alpha: expected a number > 0 for method ${l.method}, got ${String(l.alpha)}`);
  }
  return { method: l.method, iters: l.iters, damping, alpha: alpha ?? 1 };
}

/** Solve A u = b with the chosen method; `matvec` consumes its argument. Consumes b. */
function linearSolve(l: Required<ImplicitLinearSolver>, matvec: MatVec, b: Tree): Tree {
  const A: MatVec = l.damping > 0 ? (u) => taxpy(l.damping, tref(u), matvec(u)) : matvec;
  if (l.method === "cg") return conjugateGradient(A, b, l.iters);
  if (l.method === "neumann") return neumann(A, b, l.iters, l.alpha);
  return fixedPoint(A, b, l.iters, l.alpha);
}

/** u -> (d_v h)^T u for a function h of one tree v at v. Consumes v, u. */
function vjpOf(h: (v: Tree) => Tree, v: Tree, u: Tree): Tree {
  const [out, back] = jax.vjp(h, [v]);
  tdispose(out as Tree);
  const [ct] = back(u as never) as unknown as [Tree];
  back.dispose();
  return ct;
}
/** The VJP of a y-shaped function of y at fixed x: u -> (d_y g)^T u. Consumes x, y, u. */
const vjpY = (g: Optimality, x: Tree, y: Tree, u: Tree): Tree => vjpOf((yy) => g(x, yy), y, u);
/** u -> (d_x g)^T u at fixed y. Consumes x, y, u. */
const vjpX = (g: Optimality, x: Tree, y: Tree, u: Tree): Tree => vjpOf((xx) => g(xx, y), x, u);
/** u -> (d_y g) u, by forward mode (for the normal equations). Consumes x, y, u. */
function jvpY(g: Optimality, x: Tree, y: Tree, u: Tree): Tree {
  const [out, t] = jax.jvp((yy: Tree) => g(x, yy), [y], [u]) as unknown as [Tree, Tree];
  tdispose(out);
  return t;
}

/** The backward products of one implicit function: the transposed system and the x cotangent. */
interface ImplicitRule {
  /** u -> A^T u at (x, y), A = d_y optimality. Consumes x, y, u. */
  matvecT: (x: Tree, y: Tree, u: Tree) => Tree;
  /** u -> A u, given for a non-symmetric A: "cg" then solves the normal equations. Consumes x, y, u. */
  matvec?: (x: Tree, y: Tree, u: Tree) => Tree;
  /** u -> (d_x optimality)^T u. Consumes x, y, u. */
  crossT: (x: Tree, y: Tree, u: Tree) => Tree;
}

/** `x => y*(x)`, differentiated implicitly; `dispose()` frees its compiled backward pass. */
export type ImplicitFunction = ((x: Tree) => Tree) & { dispose(): void };

function implicitFunction(name: string, solve: (x: Tree) => Tree, rule: ImplicitRule, linear: Required<ImplicitLinearSolver>, onDispose?: () => void): ImplicitFunction {
  // The backward pass: u from the linear solve, x_bar = -(d_x optimality)^T u. Compiled once per shape
  // (it is plain differentiable code, so an outer gradient differentiates through it).
  const backward = jax.jit((x: Tree, y: Tree, yBar: Tree): Tree => {
    let u: Tree;
    const { matvec, matvecT } = rule;
    if (matvec && linear.method === "cg") {
      // A^T u = y_bar through its normal equations (A A^T) u = A y_bar (symmetric, PSD).
      const normal: MatVec = (v) => matvec(tref(x), tref(y), matvecT(tref(x), tref(y), v));
      u = linearSolve(linear, normal, matvec(tref(x), tref(y), yBar));
    } else u = linearSolve(linear, (v) => matvecT(tref(x), tref(y), v), yBar);
    return tscale(-1, rule.crossT(x, y, u));
  });
  const fn = jax.customVjp(
    (x: Tree) => solve(x),
    (x: Tree): [Tree, [Tree, Tree]] => {
      // The primal goes through `fn` itself, so an outer derivative of the backward pass sees the
      // same custom rule (nested reverse mode differentiates implicitly at every level).
      const y = fn(tref(x));
      return [y, [x, tref(y)]];
    },
    ([x, y]: [Tree, Tree], yBar: Tree) => [backward(x as never, y as never, yBar as never) as Tree],
    { name },
  ) as ImplicitFunction;
  fn.dispose = () => {
    backward.dispose();
    onDispose?.();
  };
  return fn;
}

/**
 * `x => y*(x)`, a root of `optimality(x, y) = 0` found by `solve(x)`, differentiated implicitly.
 * For a fixed point y = T(x, y) write optimality = y - T(x, y) (then "neumann" with alpha = 1 sums
 * the series of d_y T^T). `solve` and `optimality` consume their arguments.
 */
export function implicitRoot(optimality: Optimality, solve: (x: Tree) => Tree, options: ImplicitRootOptions = {}): ImplicitFunction {
  if (!isFn(optimality)) throw new BilevelInputError("implicitRoot: optimality: expected a function (x, y) => residual");
  if (!isFn(solve)) throw new BilevelInputError("implicitRoot: solve: expected a function x => y");
  const linear = checkLinear("implicitRoot", options.linear, 1);
  const rule: ImplicitRule = {
    matvecT: (x, y, u) => vjpY(optimality, x, y, u),
    crossT: (x, y, u) => vjpX(optimality, x, y, u),
  };
  if (!options.symmetric) rule.matvec = (x, y, u) => jvpY(optimality, x, y, u);
  return implicitFunction("implicitRoot", solve, rule, linear);
}

/**
 * `x => y*(x) = argmin_y lower(x, y)` (lower strongly convex in y near y*), solved by `options.steps`
 * gradient steps of `options.lr` from `options.init(x)` or by `options.solver(x)`, differentiated by
 * the implicit function theorem: x_bar = -grad^2_xy lower · u with grad^2_yy lower · u = y_bar (CG by
 * default). `lower` consumes its arguments.
 */
export function implicitArgmin(lower: (x: Tree, y: Tree) => Arr, options: ImplicitArgminOptions): ImplicitFunction {
  if (!isFn(lower)) throw new BilevelInputError("implicitArgmin: lower: expected a function (x, y) => scalar");
  if (options === null || typeof options !== "object") throw new BilevelInputError("implicitArgmin: options: expected an object with init and lr, or solver");
  let solve: (x: Tree) => Tree;
  let disposeSolve: (() => void) | undefined;
  if (options.solver !== undefined) {
    if (!isFn(options.solver)) throw new BilevelInputError("implicitArgmin: solver: expected a function x => y");
    solve = options.solver;
  } else {
    const { init, lr } = options;
    const steps = options.steps ?? 100;
    if (!isFn(init)) throw new BilevelInputError("implicitArgmin: init: expected a function x => y0 (or give solver)");
    if (!positive(lr)) throw new BilevelInputError(`implicitArgmin: lr: expected a number > 0, got ${String(lr)}`);
    if (!Number.isInteger(steps) || steps < 0) throw new BilevelInputError(`implicitArgmin: steps: expected an integer >= 0, got ${String(steps)}`);
    // Gradient descent in compiled chunks of at most CHUNK steps (eagerly a handful of calls;
    // under the user's jit the chunks are inlined into one program).
    const CHUNK = 10;
    const gd = jax.jit(
      (x: Tree, y: Tree, k: number): Tree => {
        for (let t = 0; t < k; t++) y = taxpy(-lr!, gradY(lower, tref(x), tref(y)), y);
        tdispose(x);
        return y;
      },
      { staticArgnums: [2] },
    );
    solve = (x: Tree) => {
      let y = init!(tref(x));
      for (let t = 0; t < steps; t += CHUNK) y = gd(tref(x) as never, y as never, Math.min(CHUNK, steps - t)) as Tree;
      tdispose(x);
      return y;
    };
    disposeSolve = () => gd.dispose();
  }
  const linear = checkLinear("implicitArgmin", options.linear, options.lr);
  const rule: ImplicitRule = {
    matvecT: (x, y, u) => hvpYY(lower, x, y, u),
    crossT: (x, y, u) => jvpXY(lower, x, y, u),
  };
  return implicitFunction("implicitArgmin", solve, rule, linear, disposeSolve);
}
