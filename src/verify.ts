/**
 * `verifyHypergradient`: is a solver's hypergradient right on this problem? Runs `steps` outer steps of
 * the solver (default 0), then compares its hypergradient estimate at the current iterate (the
 * solver's `hypergrad` hook: what its next step would use) with a float64 reference:
 *
 * - "closed-form": the task's exact dF/dx (`problem.exactHypergradient`), or else
 * - "finite-differences": central differences of Phi(x) = F(x, y*(x)) along directions u,
 *   (Phi(x + eps u) - Phi(x - eps u)) / (2 eps), with the lower level solved to high accuracy (Newton
 *   steps with conjugate gradient on the Hessian, warm-started, halving a step that raises f). All
 *   coordinate directions when x is small (the full gradient), else `directions` random unit
 *   directions and the estimate's own direction.
 *
 * Reports the relative error ||h - h_ref|| / ||h_ref|| and the cosine (of the vectors of directional
 * derivatives when directions are sampled) and the seconds each side took. Runs in float64.
 */
import {
  array,
  initEngine,
  jax,
  mulberry32,
  gaussian,
  tdispose,
  tleaves,
  tref,
  tsqnorm,
  taxpy,
  treeToFloat64,
  type Arr,
  type Tree,
} from "./engine/index.js";
import { BilevelInputError } from "./errors.js";
import { resolveExperiment } from "./experiment.js";
import { conjugateGradient, gradY, hvpYY } from "./oracles/index.js";
import type { BilevelProblem } from "./problem.js";

export interface VerifyOptions {
  task: string;
  solver: string;
  /** Outer steps before the check (default 0). */
  steps?: number;
  seed?: number;
  /** `--set`-style solver / task options (strings, parsed like `bilevel run`). */
  set?: Record<string, string>;
  /** Random directions for finite differences when x has more than 16 entries (default 3). */
  directions?: number;
  /** Force finite differences even when the task has a closed form (default: closed form if any). */
  reference?: "auto" | "finite-differences";
}

export interface VerifyResult {
  task: string;
  solver: string;
  /** Outer steps taken before the check. */
  step: number;
  relError: number;
  cosine: number;
  reference: "closed-form" | "finite-differences";
  /** Total wall time. */
  seconds: number;
  /** Seconds for the solver's estimate (including compilation) and for the reference. */
  estimateSeconds: number;
  referenceSeconds: number;
  /** Entries of x, and the directions compared (x's size when the full gradient is compared). */
  size: number;
  directions: number;
}

const FULL_BELOW = 16;
const now = () => performance.now() / 1000;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

/** A tree shaped like `template` (not consumed) holding the flat values `v`. */
function treeFromFlat(template: Tree, v: Float64Array): Tree {
  let o = 0;
  return jax.tree.map((l: Arr) => {
    const a = array(v.slice(o, o + l.size), [...l.shape]);
    o += l.size;
    return a;
  }, template as never) as Tree;
}

/** Relative error and cosine of `est` against `ref`. */
export function compareVectors(est: ArrayLike<number>, ref: ArrayLike<number>): { relError: number; cosine: number } {
  const diff = Float64Array.from(est, (v, i) => v - ref[i]);
  const nr = norm(ref);
  const ne = norm(est);
  return { relError: norm(diff) / Math.max(nr, 1e-300), cosine: dot(est, ref) / Math.max(nr * ne, 1e-300) };
}

/**
 * The lower level solved to high accuracy at x from y (both consumed): Newton steps y <- y - t d with
 * d = CG(grad^2_yy f, grad_y f) and t halved while f increases, until ||grad_y f|| stops improving or
 * falls below 1e-12 (1 + ||grad at start||). Returns y and a `dispose` for its compiled steps.
 */
function lowerSolver(problem: BilevelProblem, ySize: number) {
  const cgIters = Math.min(2 * ySize, 200);
  const f = (x: Tree, y: Tree) => problem.lower(x, y);
  const direction = jax.jit((x: Tree, y: Tree) => {
    const g = gradY(f, tref(x), tref(y));
    const gn = tsqnorm(tref(g));
    const d = conjugateGradient((v) => hvpYY(f, tref(x), tref(y), v), g, cgIters);
    tdispose([x, y]);
    return [d, gn];
  });
  const value = jax.jit((x: Tree, y: Tree) => problem.lower(x, y));
  const read = async (a: Arr) => Number((await a.data())[0]);
  const solve = async (x: Tree, y: Tree): Promise<Tree> => {
    let fy = await read(value(tref(x) as never, tref(y) as never) as Arr);
    let g0 = -1;
    let best = Infinity;
    for (let it = 0; it < 50; it++) {
      const [d, gn2] = direction(tref(x) as never, tref(y) as never) as unknown as [Tree, Arr];
      const gn = Math.sqrt(await read(gn2));
      if (g0 < 0) g0 = gn;
      if (gn <= 1e-12 * (1 + g0) || (it > 3 && gn >= best * 0.5)) {
        tdispose(d);
        break;
      }
      best = Math.min(best, gn);
      let t = 1;
      let accepted = false;
      for (let h = 0; h < 30 && !accepted; h++, t /= 2) {
        const yNew = taxpy(-t, tref(d), tref(y));
        const fNew = await read(value(tref(x) as never, tref(yNew) as never) as Arr);
        if (fNew <= fy + 1e-12 * Math.abs(fy) || h === 29) {
          tdispose(y);
          y = yNew;
          fy = fNew;
          accepted = true;
        } else tdispose(yNew);
      }
      tdispose(d);
    }
    tdispose(x);
    return y;
  };
  return { solve, dispose: () => (direction.dispose(), value.dispose()) };
}

/** Compare a solver's hypergradient estimate on a task with a float64 reference (see the module doc). */
export async function verifyHypergradient(opts: VerifyOptions): Promise<VerifyResult> {
  const t0 = now();
  const steps = opts.steps ?? 0;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(steps) || steps < 0) throw new BilevelInputError(`steps: expected a non-negative integer, got ${steps}`);
  if (!Number.isInteger(seed) || seed < 0) throw new BilevelInputError(`seed: expected a non-negative integer, got ${seed}`);
  const nDir = opts.directions ?? 3;
  if (!Number.isInteger(nDir) || nDir < 0) throw new BilevelInputError(`directions: expected a non-negative integer, got ${nDir}`);
  const ex = resolveExperiment({ task: opts.task, solver: opts.solver, steps, set: opts.set });
  await initEngine({ dtype: "float64" });
  let problem: BilevelProblem;
  try {
    problem = await ex.task.create(ex.taskOptions, seed);
  } catch (e) {
    if (e instanceof BilevelInputError) throw e;
    throw new BilevelInputError(`task ${ex.task.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (problem.constraint || problem.innerInit || problem.projectY) {
    throw new BilevelInputError(`verify: task ${ex.task.name} has ${problem.constraint ? "a coupled lower-level constraint" : problem.innerInit ? "a fixed inner procedure (meta-learning)" : "a constrained lower level"}; verify needs y*(x) = argmin_y f(x, y) unconstrained`);
  }
  const inst = ex.solver.create(problem, ex.solverOptions);
  try {
    if (!inst.hypergrad) {
      throw new BilevelInputError(`verify: solver ${ex.solver.name} does not estimate a hypergradient (its update is not dF/dx), so there is nothing to compare; verify applies to itd, aid-cg, aid-neumann`);
    }
    const start = problem.init(seed);
    let state = inst.init(start.x, start.y, seed);
    for (let k = 0; k < steps; k++) {
      const batch = problem.sample && ex.solver.capabilities.stochastic ? problem.sample(seed, k) : undefined;
      state = inst.stepAsync ? await inst.stepAsync(state, k, batch) : inst.step(state, k, batch);
    }
    await jax.blockUntilReady(state as never); // the steps run asynchronously: finish them before timing
    const te = now();
    const h = await treeToFloat64(inst.hypergrad(state, steps));
    const estimateSeconds = now() - te;
    const { x, y } = inst.iterate(state);
    tdispose(state);
    const tr = now();
    const xv = await treeToFloat64(tref(x));
    let result: { relError: number; cosine: number; reference: VerifyResult["reference"]; directions: number };
    if (problem.exactHypergradient && opts.reference !== "finite-differences") {
      tdispose([x, y]);
      const ref = problem.exactHypergradient(xv);
      result = { ...compareVectors(h, ref), reference: "closed-form", directions: xv.length };
    } else {
      const ySize = tleaves(y).reduce((n, l) => n + l.size, 0);
      const lower = lowerSolver(problem, ySize);
      try {
        const yStar = await lower.solve(tref(x), y);
        const upper = jax.jit((xx: Tree, yy: Tree) => problem.upper(xx, yy));
        const phi = async (u: Float64Array, eps: number): Promise<number> => {
          const xs = treeFromFlat(x, Float64Array.from(xv, (v, i) => v + eps * u[i]));
          const ys = await lower.solve(tref(xs), tref(yStar));
          return Number((await (upper(xs as never, ys as never) as Arr).data())[0]);
        };
        const dirs: Float64Array[] = [];
        if (xv.length <= FULL_BELOW) {
          for (let i = 0; i < xv.length; i++) dirs.push(Float64Array.from(xv, (_, j) => (i === j ? 1 : 0)));
        } else {
          const nh = norm(h);
          if (nh > 0) dirs.push(Float64Array.from(h, (v) => v / nh));
          const rand = mulberry32(0x7e51f ^ seed);
          for (let r = 0; r < nDir; r++) {
            const g = gaussian(rand, xv.length);
            const ng = norm(g);
            dirs.push(g.map((v) => v / ng));
          }
        }
        let xInf = 0;
        for (const v of xv) xInf = Math.max(xInf, Math.abs(v));
        const eps = 1e-3 * Math.max(1, xInf);
        const dRef: number[] = [];
        const dEst: number[] = [];
        for (const u of dirs) {
          dRef.push(((await phi(u, eps)) - (await phi(u, -eps))) / (2 * eps));
          dEst.push(dot(h, u));
        }
        upper.dispose();
        tdispose([x, yStar]);
        result = { ...compareVectors(dEst, dRef), reference: "finite-differences", directions: dirs.length };
      } finally {
        lower.dispose();
      }
    }
    const referenceSeconds = now() - tr;
    return { task: ex.task.name, solver: ex.solver.name, step: steps, ...result, seconds: now() - t0, estimateSeconds, referenceSeconds, size: xv.length };
  } finally {
    inst.dispose();
  }
}
