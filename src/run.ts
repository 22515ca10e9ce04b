/**
 * `solve(problem, solver, options)`: the outer loop shared by every solver — evaluation schedule,
 * progress callback, time limit, a NaN/Inf guard that stops a diverging run with a one-line
 * reason and keeps the last finite iterate, checkpoints and interruption.
 *
 * Checkpoints: a run is a pure function of (problem, solver, options, seed, steps, device, dtype).
 * The minibatch of step k is `problem.sample(seed, k)` and solvers draw their randomness from
 * (seed, k), so the solver state arrays, the step counter, the solver time and the history are all
 * a checkpoint needs; resuming re-runs `init` (which restores a solver's seed-derived closure
 * values) and then replaces the state's leaves with the saved bytes. Where the bytes go is the
 * caller's `CheckpointStore` (a file store for Node is in `src/node/checkpoint.ts`).
 */
import { engineInfo, jax, np, tdispose, tleaves, toNumber, tref, tsqnorm, type Arr, type Tree } from "./engine/index.js";
import { BilevelInputError } from "./errors.js";
import { expectInt, expectPositive, expectSeed, resolveOptions, shown } from "./options.js";
import type { BilevelProblem, Options, SolverSpec } from "./problem.js";
import { getSolver, type SolverName, type SolverOptionsOf } from "./solvers/registry.js";
import { checkIdentity, restoreTree, RunInterrupted, snapshotTree, type CheckpointLeaf, type Skeleton } from "./snapshot.js";

export { RunInterrupted, canonicalJson } from "./snapshot.js";
export type { CheckpointLeaf, Skeleton } from "./snapshot.js";
import { isPreferenceProblem } from "./rl/preference-problem.js";

/**
 * What `solve` reads of a stop request: an `AbortSignal` (`AbortController().signal`) fits. Declared here so
 * the library's types need no DOM or Node declarations.
 */
export interface StopSignal {
  readonly aborted: boolean;
}

export interface SolveOptions<O extends object = Options> {
  /** Outer steps (default 1000). */
  steps?: number;
  /** Seed for the starting point, minibatches and any solver randomness (default 0). */
  seed?: number;
  /** Solver hyperparameters over the solver's defaults (typed by solver when it is given by name). */
  options?: Partial<O>;
  /** Evaluate every this many steps (default: about 20 evaluations per run). */
  evalEvery?: number;
  /** Stop after this many seconds of solver time. */
  timeLimit?: number;
  /** Called after every evaluation. */
  onProgress?: (p: Progress) => void;
  /** Called after every step (cheap; for progress bars). */
  onStep?: (step: number, steps: number) => void;
  /** Save the run every `checkpoint.every` steps and resume from the store's last checkpoint. */
  checkpoint?: CheckpointOptions;
  /**
   * Stop between two steps when aborted: a checkpoint is saved first (with `checkpoint`), then
   * `solve` throws a `RunInterrupted`.
   */
  signal?: StopSignal;
}

/** Everything needed to continue a run where it stopped (`H`: the history's points). */
export interface Checkpoint<H = HistoryPoint> {
  format: 1;
  /** The settings the run was started with; resuming with other settings is refused. */
  identity: Record<string, unknown>;
  /** Outer steps done. */
  step: number;
  /** Solver seconds so far (the time limit counts across resumes). */
  solverSeconds: number;
  history: H[];
  /** More values the loop needs to continue (e.g. a trainer's recent losses). */
  extra?: Record<string, unknown>;
  /** The solver state's tree: objects with their keys in order, `{ $leaf: i }` for leaves[i]. */
  skeleton: Skeleton;
  /** The solver state's arrays. */
  leaves: CheckpointLeaf[];
}

/** Where checkpoints live (a file, a database row, memory). `solve` saves and loads; it never deletes. */
export interface CheckpointStore<H = HistoryPoint> {
  /** Shown in error messages, e.g. the checkpoint folder. */
  name?: string;
  /** The last saved checkpoint, or null when there is none. */
  load(): Checkpoint<H> | null | Promise<Checkpoint<H> | null>;
  /** Replace the saved checkpoint (atomically: a failed save must leave the previous one). */
  save(c: Checkpoint<H>): void | Promise<void>;
}

export interface CheckpointOptions {
  store: CheckpointStore;
  /** Save every this many steps (default: at every evaluation) and when the run ends. */
  every?: number;
  /** Continue from the store's checkpoint when it has one (default true). */
  resume?: boolean;
  /** More settings that define the run (task name and options), checked on resume. */
  identity?: Record<string, unknown>;
}

export interface Progress {
  step: number;
  steps: number;
  seconds: number;
  metrics: Record<string, number>;
}

/** One evaluation point. `seconds` is solver time so far, evaluation excluded. */
export interface HistoryPoint extends Record<string, number> {
  step: number;
  seconds: number;
  upper: number;
  lower: number;
}

export interface SolveResult<X extends Tree = Tree, Y extends Tree = Tree> {
  solver: string;
  seed: number;
  /** Outer steps actually taken. */
  steps: number;
  /** Effective hyperparameters. */
  options: Options;
  /** How the run ended. */
  status: "completed" | "time-limit" | "diverged";
  /** For status "diverged": the step and the quantity that went non-finite. */
  error?: string;
  wallSeconds: number;
  msPerStep: number;
  final: HistoryPoint;
  history: HistoryPoint[];
  /** The final (or last finite) iterate; the caller owns these arrays. */
  x: X;
  y: Y;
}

/** Error thrown by `solveOrThrow` for a diverging run. */
export class DivergenceError extends Error {
  override name = "DivergenceError";
}

function checkScalar(what: string, a: Arr): Arr {
  if (a.shape.length !== 0 && !(a.shape.length === 1 && a.shape[0] === 1)) {
    const shape = `[${a.shape.join(", ")}]`;
    a.dispose();
    throw new BilevelInputError(`${what}: expected a scalar, got an array of shape ${shape}`);
  }
  return a.reshape([]);
}

/**
 * Check a problem at its starting point before a solver compiles anything: `upper` and `lower` must run
 * on `init(seed)` and return scalars. A shape mismatch between init and the objectives (a raw engine
 * TypeError otherwise, deep inside a compiled gradient) becomes one line naming the function.
 */
function checkProblem(p: BilevelProblem, seed: number): void {
  for (const fn of ["upper", "lower", "init"] as const) {
    if (typeof p[fn] !== "function") throw new BilevelInputError(`problem.${fn}: expected a function, got ${shown(p[fn])}`);
  }
  let start: { x: Tree; y: Tree };
  try {
    start = p.init(seed);
  } catch (e) {
    if (e instanceof BilevelInputError) throw e;
    throw new BilevelInputError(`problem.init(${seed}) failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    for (const fn of ["upper", "lower"] as const) {
      let v: unknown;
      try {
        v = p[fn](tref(start.x), tref(start.y));
      } catch (e) {
        if (e instanceof BilevelInputError) throw e;
        throw new BilevelInputError(`problem.${fn} fails at the starting point (do the shapes of init's x and y match the objective?): ${e instanceof Error ? e.message : String(e)}`);
      }
      if (v === null || typeof v !== "object" || !Array.isArray((v as Arr).shape)) {
        throw new BilevelInputError(`problem.${fn}: expected a scalar array, got ${shown(v)}`);
      }
      checkScalar(`problem.${fn}`, v as Arr).dispose();
    }
  } finally {
    tdispose(start.x);
    tdispose(start.y);
  }
}

/** F, f and task metrics at (x, y); borrows x and y. */
async function evaluateAt(p: BilevelProblem, x: Tree, y: Tree, step: number, seconds: number): Promise<HistoryPoint> {
  const upper = await toNumber(checkScalar("problem.upper", p.upper(tref(x), tref(y))));
  const lower = await toNumber(checkScalar("problem.lower", p.lower(tref(x), tref(y))));
  const metrics = p.evaluate ? await p.evaluate(tref(x), tref(y)) : {};
  return { step, seconds, upper, lower, ...metrics };
}

/** The first non-finite number of a point, named. */
function nonFinite(pt: Record<string, number>): string | null {
  for (const [k, v] of Object.entries(pt)) if (!Number.isFinite(v)) return `${k} = ${v}`;
  return null;
}

/** The outer loop gives the event loop a turn this often (outside the timed step). */
const YIELD_MS = 100;

/**
 * Run `solver` on `problem` for `steps` outer iterations. Never throws for divergence: a NaN/Inf in the
 * iterate or the objectives ends the run with status "diverged", an `error` naming the step and the
 * quantity, and the last finite iterate in `x`, `y`. Throws `BilevelInputError` for bad input (and
 * for a checkpoint made with other settings), `RunInterrupted` when `signal` aborts the run.
 */
export async function solve<X extends Tree, Y extends Tree, N extends SolverName>(
  problem: BilevelProblem<X, Y, any>,
  solver: N,
  opts?: SolveOptions<SolverOptionsOf<N>>,
): Promise<SolveResult<X, Y>>;
export async function solve<X extends Tree, Y extends Tree>(problem: BilevelProblem<X, Y, any>, solver: SolverSpec<any>, opts?: SolveOptions): Promise<SolveResult<X, Y>>;
export async function solve(problem: BilevelProblem<any, any, any>, solver: string | SolverSpec<any>, opts: SolveOptions = {}): Promise<SolveResult> {
  const spec = typeof solver === "string" ? getSolver(solver) : solver;
  if (opts === null || typeof opts !== "object") throw new BilevelInputError(`solve options: expected an object, got ${shown(opts)}`);
  const steps = expectInt("steps", opts.steps ?? 1000, 0);
  const seed = expectSeed("seed", opts.seed ?? 0);
  const evalEvery = expectInt("evalEvery", opts.evalEvery ?? Math.max(1, Math.round(steps / 20)), 1);
  if (opts.timeLimit !== undefined) expectPositive("timeLimit", opts.timeLimit, " of seconds");
  for (const cb of ["onProgress", "onStep"] as const) {
    if (opts[cb] !== undefined && typeof opts[cb] !== "function") throw new BilevelInputError(`${cb}: expected a function, got ${shown(opts[cb])}`);
  }
  const options = resolveOptions(`solver ${spec.name}`, spec.defaults, opts.options, spec.spec, spec.aliases);
  if (isPreferenceProblem(problem) && !spec.capabilities.preference) {
    throw new BilevelInputError(`solver ${spec.name}: problem ${problem.name} is a preference-based reward-design (PARL) problem; use a solver with the preference capability (aparl, pebble)`);
  }
  checkProblem(problem, seed);
  const ck = opts.checkpoint;
  const ckEvery = ck?.every ?? evalEvery;
  if (ck && !(Number.isInteger(ckEvery) && ckEvery >= 1)) throw new BilevelInputError(`checkpoint.every: expected a positive integer, got ${ck.every}`);
  if (ck && spec.capabilities.preference) {
    throw new BilevelInputError(`checkpoint: solver ${spec.name} keeps its preference buffer outside the solver state; checkpoints are not supported for it`);
  }
  const ckWhere = `checkpoint${ck?.store.name ? ` ${ck.store.name}` : ""}`;
  const { device, dtype } = engineInfo();
  const identity: Record<string, unknown> = { ...(ck?.identity ?? {}), problem: problem.name, solver: spec.name, seed, steps, options, evalEvery, device, dtype };
  const saved = ck && ck.resume !== false ? await ck.store.load() : null;
  if (saved) {
    if (saved.format !== 1) throw new BilevelInputError(`${ckWhere}: unknown checkpoint format ${String(saved.format)}`);
    checkIdentity(ckWhere, saved.identity, identity);
  }
  const inst = spec.create(problem, options);

  const start = problem.init(seed);
  let state = inst.init(start.x, start.y, seed);
  let history: HistoryPoint[] = [];
  let solverSeconds = 0;
  const wall0 = performance.now();
  let status: SolveResult["status"] = "completed";
  let error: string | undefined;
  let done = 0;
  if (saved) {
    try {
      state = restoreTree(ckWhere, state, saved);
    } catch (e) {
      inst.dispose();
      throw e;
    }
    history = saved.history.map((h) => ({ ...h }));
    solverSeconds = saved.solverSeconds;
    done = saved.step;
  }
  const saveCheckpoint = async () => {
    if (!ck) return;
    await ck.store.save({ format: 1, identity, step: done, solverSeconds, history, ...(await snapshotTree(state)) });
  };

  const health = jax.jit((t: Tree) => {
    const leaves = tleaves(t);
    const s = leaves.length ? tsqnorm(t) : np.zeros([]);
    return s;
  });

  const record = async (k: number) => {
    const it = inst.iterate(state);
    const pt = await evaluateAt(problem, it.x, it.y, k, solverSeconds);
    tdispose(it.x);
    tdispose(it.y);
    history.push(pt);
    opts.onProgress?.({ step: k, steps, seconds: solverSeconds, metrics: pt });
    return pt;
  };

  let interrupted = false;
  try {
    if (!saved) {
      const first = await record(0);
      const bad0 = nonFinite(first);
      if (bad0) throw new BilevelInputError(`problem: the starting point is not finite (${bad0})`);
    }
    let last = inst.iterate(state);
    let yielded = performance.now();
    for (let k = done; k < steps; k++) {
      if (performance.now() - yielded > YIELD_MS) {
        // Let timers and signal handlers run (a step's awaits resolve as microtasks only).
        await new Promise((r) => setTimeout(r, 0));
        yielded = performance.now();
      }
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (opts.timeLimit !== undefined && solverSeconds >= opts.timeLimit) {
        status = "time-limit";
        break;
      }
      const t0 = performance.now();
      const batch = problem.sample && spec.capabilities.stochastic ? problem.sample(seed, k) : undefined;
      state = inst.stepAsync ? await inst.stepAsync(state, k, batch) : inst.step(state, k, batch);
      const it = inst.iterate(state);
      const sq = await toNumber(health({ x: tref(it.x), y: tref(it.y) }));
      solverSeconds += (performance.now() - t0) / 1000;
      done = k + 1;
      if (!Number.isFinite(sq)) {
        tdispose(it.x);
        tdispose(it.y);
        status = "diverged";
        error = `step ${k + 1}: the iterate (x, y) became non-finite (||(x, y)||^2 = ${sq}); stopped, keeping the last finite iterate`;
        tdispose(state);
        state = inst.init(tref(last.x), tref(last.y), seed);
        done = k;
        break;
      }
      tdispose(last.x);
      tdispose(last.y);
      last = it;
      opts.onStep?.(k + 1, steps);
      if ((k + 1) % evalEvery === 0 || k + 1 === steps) {
        const pt = await record(k + 1);
        const bad = nonFinite(pt);
        if (bad) {
          status = "diverged";
          error = `step ${k + 1}: ${bad} (non-finite); stopped`;
          break;
        }
      }
      if ((k + 1) % ckEvery === 0 && k + 1 < steps) await saveCheckpoint();
    }
    tdispose(last.x);
    tdispose(last.y);
    if (interrupted) {
      await saveCheckpoint();
    } else {
      if (history[history.length - 1].step !== done) await record(done);
      if (status !== "diverged") await saveCheckpoint();
    }
  } catch (e) {
    tdispose(state);
    inst.dispose();
    throw e;
  } finally {
    health.dispose();
  }
  if (interrupted) {
    tdispose(state);
    inst.dispose();
    throw new RunInterrupted(done);
  }
  const final = history[history.length - 1];
  const it = inst.iterate(state);
  tdispose(state);
  inst.dispose();
  return {
    solver: spec.name,
    seed,
    steps: done,
    options,
    status,
    error,
    wallSeconds: (performance.now() - wall0) / 1000,
    msPerStep: done > 0 ? (solverSeconds * 1000) / done : 0,
    final,
    history,
    x: it.x,
    y: it.y,
  };
}

/** Like `solve`, but a diverged run throws a `DivergenceError` with the one-line reason. */
export async function solveOrThrow<X extends Tree, Y extends Tree, N extends SolverName>(
  problem: BilevelProblem<X, Y, any>,
  solver: N,
  opts?: SolveOptions<SolverOptionsOf<N>>,
): Promise<SolveResult<X, Y>>;
export async function solveOrThrow<X extends Tree, Y extends Tree>(problem: BilevelProblem<X, Y, any>, solver: SolverSpec<any>, opts?: SolveOptions): Promise<SolveResult<X, Y>>;
export async function solveOrThrow(problem: BilevelProblem<any, any, any>, solver: string | SolverSpec<any>, opts: SolveOptions = {}): Promise<SolveResult> {
  const r = await solve(problem, solver as SolverSpec<any>, opts);
  if (r.status === "diverged") {
    tdispose(r.x);
    tdispose(r.y);
    throw new DivergenceError(r.error);
  }
  return r;
}
