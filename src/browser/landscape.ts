/**
 * The upper objective along the lower level's solution, F(x, y(x)), on a grid over a 1-D or 2-D x,
 * for the playground's contour view. y(x) is the lower level solved by gradient descent, batched over
 * the grid with vmap: the problem's own inner schedule (`innerInit` + `innerSteps`, e.g. toy-ufo)
 * when it has one, else 400 steps of size 0.1 from the problem's starting y (the toys' lower levels
 * have Hessian eigenvalues in [1, 10], so the error contracts by at least 0.9 per step). For a
 * non-singleton lower level (toy-lls) this is the solution gradient descent reaches, the one ITD and
 * AID follow; constrained problems get no view.
 */
import { jax, np, tleaves, tmap, toFloat64, tref, treeToFloat64, tsub, tscale, type Arr, type Tree } from "../engine/index.js";
import type { BilevelProblem } from "../problem.js";
import type { Landscape } from "./protocol.js";

/** Points per axis. */
const GRID = { 1: 161, 2: 41 } as const;

export async function landscape(p: BilevelProblem, seed: number): Promise<Landscape | null> {
  if (p.constraint) return null; // gradient descent would ignore the constraint: no honest y(x) here
  const start = p.init(seed);
  const x0 = await treeToFloat64(tref(start.x));
  const xLeaves = tleaves(start.x);
  if (xLeaves.length !== 1 || x0.length > 2) {
    jax.tree.dispose(start);
    return null;
  }
  const dim = x0.length as 1 | 2;
  const xs = p.solution ? await treeToFloat64(tref(p.solution.x)) : null;
  // A square window around the start and the optimum, with a margin.
  const lo = Math.min(...x0, ...(xs ?? x0));
  const hi = Math.max(...x0, ...(xs ?? x0));
  const span = Math.max(hi - lo, 1);
  const n = GRID[dim];
  const axis = Array.from({ length: n }, (_, i) => lo - 0.4 * span + (i * 1.8 * span) / (n - 1));
  const pts: number[] = [];
  if (dim === 1) for (const a of axis) pts.push(a);
  else for (const b of axis) for (const a of axis) pts.push(a, b);
  const G = pts.length / dim;
  const X = np.array(Float32Array.from(pts)).reshape([G, dim]).astype(xLeaves[0].dtype);

  const y0 = start.y;
  jax.tree.dispose(start.x);
  let Y: Tree;
  if (p.innerInit) {
    Y = jax.vmap((x: Arr) => p.innerInit!(x) as never)(X.ref) as Tree;
    jax.tree.dispose(y0);
  } else {
    Y = tmap((l) => np.broadcastTo(l, [G, ...l.shape]), y0);
  }
  const steps = p.innerSteps?.steps ?? 400;
  const lr = p.innerSteps?.lr ?? 0.1;
  const gradY = jax.vmap(jax.grad((y: Tree, x: Arr) => p.lower(x, y)));
  const step = jax.jit((y: Tree, x: Arr) => tsub(y, tscale(lr, gradY(tref(y), x) as Tree)));
  for (let k = 0; k < steps; k++) Y = step(Y as never, X.ref as never) as Tree;
  step.dispose();
  const F = jax.vmap((x: Arr, y: Tree) => p.upper(x, y))(X, Y as never) as Arr;
  const values = Array.from(await toFloat64(F));
  return {
    dim,
    axis,
    values,
    optimum: xs ? Array.from(xs) : null,
    note: p.innerInit ? `y(x): the task's ${steps} inner steps of size ${lr}` : `y(x): ${steps} gradient steps of size ${lr} on the lower level`,
  };
}
