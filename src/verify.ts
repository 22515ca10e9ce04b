/**
 * `verifyHypergradient`: is a solver's hypergradient right on this problem? Runs `steps` outer steps of
 * the solver (default 0; from the task's start, or from (x0, y*(x0)) with `startAtSolution`), then
 * compares its hypergradient estimate at the current iterate (the solver's `hypergrad` hook: what its
 * next step would use; computed in `dtype`, default float64) with a float64 reference:
 *
 * - "closed-form": the task's exact dF/dx (`problem.exactHypergradient`), or else
 * - "finite-differences": central differences of Phi(x) = F(x, y*(x)) along directions u,
 *   (Phi(x + eps u) - Phi(x - eps u)) / (2 eps), with y*(x) solved to high accuracy and y*(x +- eps u)
 *   taken one exact Newton step from it (enough for a central difference: the O(eps^2) terms cancel),
 *   applied through the adjoint a = [grad^2_yy f]^{-1} grad_y F so one linear solve serves every u:
 *   dPhi(u) ~ [F(x + eps u, y*) - F(x - eps u, y*) - <a, grad_y f(x + eps u, y*) - grad_y f(x - eps u, y*)>] / (2 eps).
 *   All coordinate directions when x is small (the full gradient), else `directions` random unit
 *   directions and the estimate's own direction. Gradients, residuals and values are float64 near
 *   the solution; the linear systems are solved by iterative refinement (float64 residuals, conjugate
 *   gradient on a float32 copy of the lower level, preconditioned by L-BFGS pairs of the earlier
 *   solves), so float64 accuracy costs few float64 passes. None of the solvers' or oracles' code is used.
 * Reports the relative error ||h - h_ref|| / ||h_ref|| and the cosine (of the vectors of directional
 * derivatives when directions are sampled) and the seconds each side took.
 */
import {
  initEngine,
  jax,
  mulberry32,
  gaussian,
  np,
  setFloatDtype,
  tdispose,
  tleaves,
  tref,
  treeToFloat64,
  type Arr,
  type FloatDtype,
  type Tree,
} from "./engine/index.js";
import { BilevelInputError } from "./errors.js";
import { resolveExperiment } from "./experiment.js";
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
  /** Dtype the solver runs in (default float64); the reference is float64 either way. */
  dtype?: FloatDtype;
  /**
   * Start the solver at (x0, y*(x0)), the lower level solved to high accuracy, instead of the task's
   * (x0, y0) (default false): checks the hypergradient computation given a converged inner solve.
   */
  startAtSolution?: boolean;
  /** Finite-difference step (default 1e-3 max(1, max_i |x_i|)); two steps agreeing measure the reference's accuracy. */
  eps?: number;
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
  /** Dtype the solver ran in. */
  dtype: FloatDtype;
  /** ||grad_y f(x, y*)|| of the reference's lower solution (finite differences only). */
  lowerResidual?: number;
}

const FULL_BELOW = 16;
const now = () => performance.now() / 1000;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
/** a + t b as a new vector. */
const axpy = (t: number, b: ArrayLike<number>, a: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + t * b[i]);

/** A tree shaped like `template` (not consumed) holding the flat values `v` in `dtype`. */
function treeFromFlat(template: Tree, v: ArrayLike<number>, dtype: FloatDtype): Tree {
  let o = 0;
  return jax.tree.map((l: Arr) => {
    const part = dtype === "float64" ? Float64Array.from({ length: l.size }, (_, i) => v[o + i]) : Float32Array.from({ length: l.size }, (_, i) => v[o + i]);
    o += l.size;
    return np.array(part).reshape([...l.shape]);
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
 * One copy of the problem in one dtype, seen through flat host vectors (Float64Array in, Float64Array
 * out): lower/upper values, their gradients and the lower Hessian-vector product, each compiled once.
 */
class FlatProblem {
  private readonly gradLowerJ;
  private readonly hvpJ;
  private readonly lowerJ;
  private readonly upperJ;
  private readonly upperGradsJ;
  constructor(
    readonly problem: BilevelProblem,
    readonly dtype: FloatDtype,
    private readonly xT: Tree,
    private readonly yT: Tree,
  ) {
    const f = (x: Tree, y: Tree) => problem.lower(x, y);
    const gy = (x: Tree, y: Tree) => jax.grad((yy: Tree) => f(x, yy))(y) as Tree;
    this.gradLowerJ = jax.jit((x: Tree, y: Tree) => gy(x, y));
    this.hvpJ = jax.jit((x: Tree, y: Tree, v: Tree) => {
      const [g, hv] = jax.jvp((yy: Tree) => gy(tref(x), yy), [y], [v]) as unknown as [Tree, Tree];
      tdispose([g, x]);
      return hv;
    });
    this.lowerJ = jax.jit((x: Tree, y: Tree) => problem.lower(x, y));
    this.upperJ = jax.jit((x: Tree, y: Tree) => problem.upper(x, y));
    this.upperGradsJ = jax.jit((x: Tree, y: Tree) => jax.grad((xx: Tree, yy: Tree) => problem.upper(xx, yy), { argnums: [0, 1] })(x, y) as unknown as [Tree, Tree]);
  }
  private x(v: ArrayLike<number>) {
    return treeFromFlat(this.xT, v, this.dtype) as never;
  }
  private y(v: ArrayLike<number>) {
    return treeFromFlat(this.yT, v, this.dtype) as never;
  }
  gradLower(x: ArrayLike<number>, y: ArrayLike<number>): Promise<Float64Array> {
    return treeToFloat64(this.gradLowerJ(this.x(x), this.y(y)) as Tree);
  }
  hvp(x: ArrayLike<number>, y: ArrayLike<number>, v: ArrayLike<number>): Promise<Float64Array> {
    return treeToFloat64(this.hvpJ(this.x(x), this.y(y), this.y(v)) as Tree);
  }
  async lower(x: ArrayLike<number>, y: ArrayLike<number>): Promise<number> {
    return Number((await (this.lowerJ(this.x(x), this.y(y)) as Arr).data())[0]);
  }
  async upper(x: ArrayLike<number>, y: ArrayLike<number>): Promise<number> {
    return Number((await (this.upperJ(this.x(x), this.y(y)) as Arr).data())[0]);
  }
  async upperGrads(x: ArrayLike<number>, y: ArrayLike<number>): Promise<[Float64Array, Float64Array]> {
    const [gx, gy] = this.upperGradsJ(this.x(x), this.y(y)) as unknown as [Tree, Tree];
    return [await treeToFloat64(gx), await treeToFloat64(gy)];
  }
  dispose() {
    for (const j of [this.gradLowerJ, this.hvpJ, this.lowerJ, this.upperJ, this.upperGradsJ]) j.dispose();
    tdispose([this.xT, this.yT]);
  }
}

/**
 * A limited-memory BFGS approximation of H^{-1} from pairs (s, H s): the preconditioner of Morales and
 * Nocedal (2000, "Automatic preconditioning by limited memory quasi-Newton updating", SIAM J. Optim.),
 * built from the search directions of earlier conjugate-gradient solves with (nearly) the same H, as
 * in the sequence of Newton steps and adjoint solves here. It is exact on the span of conjugate pairs
 * and symmetric positive definite for any pairs with s.Hs > 0.
 */
class LbfgsPreconditioner {
  private readonly pairs: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  constructor(private readonly capacity: number) {}
  get size(): number {
    return this.pairs.length;
  }
  add(s: Float64Array, y: Float64Array): void {
    const sy = dot(s, y);
    if (!(sy > 0) || this.capacity === 0) return;
    if (this.pairs.length >= this.capacity) this.pairs.shift();
    this.pairs.push({ s: Float64Array.from(s), y: Float64Array.from(y), rho: 1 / sy });
  }
  /** z ~ H^{-1} r (the two-loop recursion; the identity without pairs). */
  apply(r: Float64Array): Float64Array {
    const q = Float64Array.from(r);
    const m = this.pairs.length;
    if (m === 0) return q;
    const alpha = new Float64Array(m);
    for (let j = m - 1; j >= 0; j--) {
      const { s, y, rho } = this.pairs[j];
      const a = rho * dot(s, q);
      alpha[j] = a;
      for (let i = 0; i < q.length; i++) q[i] -= a * y[i];
    }
    const last = this.pairs[m - 1];
    const gamma = 1 / (last.rho * dot(last.y, last.y));
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
    for (let j = 0; j < m; j++) {
      const { s, y, rho } = this.pairs[j];
      const c = alpha[j] - rho * dot(y, q);
      for (let i = 0; i < q.length; i++) q[i] += c * s[i];
    }
    return q;
  }
}

/**
 * Preconditioned conjugate gradient for H d = b on the host (float64 recurrences), H v by `hvp`, the
 * preconditioner `M` (whose pairs it extends with its own search directions): stops at
 * ||r|| <= rtol ||b|| or after `maxIters` iterations. The caller checks the true residual.
 */
async function cg(hvp: (v: Float64Array) => Promise<Float64Array>, b: Float64Array, rtol: number, maxIters: number, M: LbfgsPreconditioner): Promise<Float64Array> {
  const d = new Float64Array(b.length);
  const r = Float64Array.from(b);
  const fresh: [Float64Array, Float64Array][] = [];
  let z = M.apply(r);
  const p = Float64Array.from(z);
  const bn = norm(b);
  let rz = dot(r, z);
  for (let i = 0; i < maxIters && norm(r) > rtol * bn; i++) {
    const Ap = await hvp(p);
    const pAp = dot(p, Ap);
    if (!(pAp > 0)) break; // numerically singular along p (e.g. a flat direction of the lower level)
    fresh.push([Float64Array.from(p), Ap]);
    const alpha = rz / pAp;
    for (let j = 0; j < d.length; j++) {
      d[j] += alpha * p[j];
      r[j] -= alpha * Ap[j];
    }
    z = M.apply(r);
    const rzNew = dot(r, z);
    const beta = rzNew / rz;
    rz = rzNew;
    for (let j = 0; j < p.length; j++) p[j] = z[j] + beta * p[j];
  }
  for (const [s, y] of fresh) M.add(s, y); // after the solve: the preconditioner stays fixed within one
  return d;
}

/**
 * The reference's float64 lower-level machinery: `solve` (Newton on f(x, .) to high accuracy) and
 * `adjoint` (H^{-1} b at a solution), both iterative refinement with float64 gradients / residuals
 * (`p64`) and conjugate gradient on the float32 copy `p32` (or on `p64` when there is no copy).
 */
class LowerReference {
  private readonly maxIters: number;
  private readonly M: LbfgsPreconditioner;
  constructor(
    private readonly p64: FlatProblem,
    private readonly p32: FlatProblem,
    ySize: number,
  ) {
    this.maxIters = Math.min(2 * ySize, 300);
    // up to 250 pairs (a hyperclean-mnist Newton solve and its adjoint use ~200), at most ~160 MB
    this.M = new LbfgsPreconditioner(Math.min(250, Math.floor(1e7 / Math.max(1, ySize))));
  }
  private inner(x: Float64Array, y: Float64Array, b: Float64Array, rtol: number): Promise<Float64Array> {
    // the float32 copy is an approximate solver only: its rounding (~1e-7 relative per product)
    // limits one solve to ~1e-5, and the float64 residual of the caller corrects the rest
    return cg((v) => this.p32.hvp(x, y, v), b, Math.max(rtol, this.p32.dtype === "float32" ? 1e-5 : 1e-12), this.maxIters, this.M);
  }
  /**
   * y*(x) from y: Newton steps until ||grad_y f|| <= 1e-9 (1 + ||grad at y||) or it stops improving
   * (the float64 floor). Gradients and values come from the float32 copy while ||grad|| > 1e-3 of the
   * start (cheap, and far above float32 rounding), then from the float64 problem.
   */
  async solve(x: Float64Array, y: Float64Array): Promise<{ y: Float64Array; residual: number }> {
    let g = await this.p32.gradLower(x, y);
    const g0 = norm(g);
    const target = 1e-9 * (1 + g0);
    if (this.p32 !== this.p64) {
      ({ y, g } = await this.newton(this.p32, x, y, g, g0, 1e-3 * g0, 1e-3 * g0));
      g = await this.p64.gradLower(x, y);
    }
    return this.newton(this.p64, x, y, g, g0, target, target);
  }
  /** Newton steps on `p` (halved while f rises) from y with gradient g, until ||g|| <= stop or it stalls; rtol floor from `target`. */
  private async newton(p: FlatProblem, x: Float64Array, y: Float64Array, g: Float64Array, g0: number, stop: number, target: number) {
    let gn = norm(g);
    let fy = await p.lower(x, y);
    let best = gn;
    let stalls = 0;
    for (let it = 0; it < 60 && gn > stop; it++) {
      // inexact Newton: a loose solve far away, tighter near the solution, never tighter than the target needs
      const rtol = Math.min(0.1, Math.max(Math.sqrt(gn / Math.max(g0, 1e-300)), (0.5 * target) / gn));
      const d = await this.inner(x, y, g, rtol);
      let accepted = false;
      for (let h = 0, t = 1; h < 30 && !accepted; h++, t /= 2) {
        const yNew = axpy(-t, d, y);
        const fNew = await p.lower(x, yNew);
        if (fNew <= fy + 1e-12 * Math.abs(fy) || h === 29) {
          y = yNew;
          fy = fNew;
          accepted = true;
        }
      }
      g = await p.gradLower(x, y);
      gn = norm(g);
      if (gn < 0.5 * best) {
        best = gn;
        stalls = 0;
      } else if (++stalls >= 3) break; // at the floor of p's precision
    }
    return { y, g, residual: gn };
  }
  /** H^{-1} b with H = grad^2_yy f(x, y), refined until the float64 residual is <= 1e-7 ||b|| or stops improving. */
  async adjoint(x: Float64Array, y: Float64Array, b: Float64Array): Promise<Float64Array> {
    const bn = norm(b);
    let a = new Float64Array(b.length);
    let r = Float64Array.from(b);
    let rn = bn;
    const target = 1e-7 * bn;
    for (let round = 0; round < 8 && rn > target; round++) {
      // each round solves for the correction only as accurately as the target needs
      const aNew = axpy(1, await this.inner(x, y, r, (0.5 * target) / rn), a);
      const Ha = await this.p64.hvp(x, y, aNew);
      const rNew = Float64Array.from(b, (v, i) => v - Ha[i]);
      const rnNew = norm(rNew);
      if (!(rnNew < rn)) break;
      a = aNew;
      r = rNew;
      rn = rnNew;
    }
    return a;
  }
}

/** Build the task's problem in `dtype` (the engine's default dtype is float64 again afterwards). */
async function createIn(dtype: FloatDtype, create: () => Promise<BilevelProblem>, taskName: string): Promise<BilevelProblem> {
  setFloatDtype(dtype);
  try {
    return await create();
  } catch (e) {
    if (e instanceof BilevelInputError) throw e;
    throw new BilevelInputError(`task ${taskName}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    setFloatDtype("float64");
  }
}

/** Compare a solver's hypergradient estimate on a task with a float64 reference (see the module doc). */
export async function verifyHypergradient(opts: VerifyOptions): Promise<VerifyResult> {
  const t0 = now();
  const steps = opts.steps ?? 0;
  const seed = opts.seed ?? 0;
  const dtype = opts.dtype ?? "float64";
  if (!Number.isInteger(steps) || steps < 0) throw new BilevelInputError(`steps: expected a non-negative integer, got ${steps}`);
  if (!Number.isInteger(seed) || seed < 0) throw new BilevelInputError(`seed: expected a non-negative integer, got ${seed}`);
  if (dtype !== "float32" && dtype !== "float64") throw new BilevelInputError(`dtype: expected float32 or float64, got '${String(dtype)}'`);
  if (opts.eps !== undefined && !(opts.eps > 0 && Number.isFinite(opts.eps))) throw new BilevelInputError(`eps: expected a positive number, got ${opts.eps}`);
  const nDir = opts.directions ?? 3;
  if (!Number.isInteger(nDir) || nDir < 0) throw new BilevelInputError(`directions: expected a non-negative integer, got ${nDir}`);
  const ex = resolveExperiment({ task: opts.task, solver: opts.solver, steps, set: opts.set });
  await initEngine({ dtype: "float64" });
  const create = () => ex.task.create(ex.taskOptions, seed);
  const problem = await createIn("float64", create, ex.task.name);
  if (problem.constraint || problem.innerInit || problem.projectY) {
    throw new BilevelInputError(`verify: task ${ex.task.name} has ${problem.constraint ? "a coupled lower-level constraint" : problem.innerInit ? "a fixed inner procedure (meta-learning)" : "a constrained lower level"}; verify needs y*(x) = argmin_y f(x, y) unconstrained`);
  }
  const closedForm = problem.exactHypergradient && opts.reference !== "finite-differences";
  // the float32 copy: the reference's inner linear solver (finite differences), and the solver's problem with dtype float32
  const needs32 = dtype === "float32" || !closedForm || opts.startAtSolution;
  const problem32 = needs32 ? await createIn("float32", create, ex.task.name) : undefined;
  const solverProblem = dtype === "float32" ? problem32! : problem;

  const start = problem.init(seed);
  const p64 = new FlatProblem(problem, "float64", tref(start.x), tref(start.y));
  const p32 = problem32 ? new FlatProblem(problem32, "float32", tref(start.x), tref(start.y)) : p64;
  const ySize = tleaves(start.y).reduce((n, l) => n + l.size, 0);
  const lower = new LowerReference(p64, p32, ySize);
  let lowerSeconds = 0;
  const x0 = await treeToFloat64(tref(start.x));
  let y0 = await treeToFloat64(tref(start.y));
  let solved: { y: Float64Array; residual: number } | undefined;
  if (opts.startAtSolution) {
    const ts = now();
    solved = await lower.solve(x0, y0);
    y0 = solved.y;
    lowerSeconds += now() - ts;
  }
  setFloatDtype(dtype);
  const inst = ex.solver.create(solverProblem, ex.solverOptions);
  try {
    if (!inst.hypergrad) {
      throw new BilevelInputError(`verify: solver ${ex.solver.name} does not estimate a hypergradient (its update is not dF/dx), so there is nothing to compare; verify applies to itd, aid-cg, aid-neumann`);
    }
    let state = inst.init(treeFromFlat(start.x, x0, dtype), treeFromFlat(start.y, y0, dtype), seed);
    for (let k = 0; k < steps; k++) {
      const batch = solverProblem.sample && ex.solver.capabilities.stochastic ? solverProblem.sample(seed, k) : undefined;
      state = inst.stepAsync ? await inst.stepAsync(state, k, batch) : inst.step(state, k, batch);
    }
    await jax.blockUntilReady(state as never); // the steps run asynchronously: finish them before timing
    const te = now();
    const h = await treeToFloat64(inst.hypergrad(state, steps));
    const estimateSeconds = now() - te;
    const it = inst.iterate(state);
    tdispose(state);
    const xv = await treeToFloat64(it.x);
    const yv = await treeToFloat64(it.y);
    setFloatDtype("float64");
    const tr = now();
    let result: { relError: number; cosine: number; reference: VerifyResult["reference"]; directions: number; lowerResidual?: number };
    if (closedForm) {
      const ref = problem.exactHypergradient!(xv);
      result = { ...compareVectors(h, ref), reference: "closed-form", directions: xv.length };
    } else {
      // y*(x) again unless x is still x0 (then the start's float64 solution is it)
      const same = solved !== undefined && xv.every((v, i) => v === x0[i]);
      const { y: yStar, residual } = same ? solved! : await lower.solve(xv, yv);
      const [, Fy] = await p64.upperGrads(xv, yStar);
      const a = await lower.adjoint(xv, yStar, Fy);
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
      const eps = opts.eps ?? 1e-3 * Math.max(1, xInf);
      const dRef: number[] = [];
      const dEst: number[] = [];
      for (const u of dirs) {
        const xp = axpy(eps, u, xv);
        const xm = axpy(-eps, u, xv);
        const [gp, gm] = [await p64.gradLower(xp, yStar), await p64.gradLower(xm, yStar)];
        const dF = (await p64.upper(xp, yStar)) - (await p64.upper(xm, yStar));
        let dg = 0;
        for (let i = 0; i < a.length; i++) dg += a[i] * (gp[i] - gm[i]);
        dRef.push((dF - dg) / (2 * eps));
        dEst.push(dot(h, u));
      }
      result = { ...compareVectors(dEst, dRef), reference: "finite-differences", directions: dirs.length, lowerResidual: residual };
    }
    const referenceSeconds = now() - tr + lowerSeconds;
    return { task: ex.task.name, solver: ex.solver.name, step: steps, ...result, seconds: now() - t0, estimateSeconds, referenceSeconds, size: xv.length, dtype };
  } finally {
    setFloatDtype("float64");
    inst.dispose();
    p64.dispose();
    if (p32 !== p64) p32.dispose();
    tdispose([start.x, start.y]);
  }
}
