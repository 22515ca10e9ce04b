/**
 * `runTask`: one experiment = a named task, a named solver, options from `--set key=value` strings, a
 * seed and a step budget -> a `SolveResult` and the JSON record of the CLI contract (shared/DESIGN.md).
 * The CLI's `run` and the benchmarks' `bench` both go through here; nothing here prints.
 */
import type { StopSignal } from "./run.js";
import { engineInfo, initEngine, tdispose, type FloatDtype, type Tree } from "./engine/index.js";
import { BilevelInputError } from "./errors.js";
import { noteAlias, expectInt, expectPositive, expectSeed, parseOptionValue, resolveOptions, shown } from "./options.js";
import type { BilevelProblem, OptionValue, Options, SolverSpec, TaskSpec } from "./problem.js";
import { solve, type CheckpointOptions, type HistoryPoint, type Progress, type SolveResult } from "./run.js";
import { getSolver } from "./solvers/registry.js";
import { getTask } from "./tasks/index.js";

export interface RunTaskOptions {
  /** Task name (see `tasks`). */
  task: string;
  /** Solver name (see `solvers`). */
  solver: string;
  /** Outer steps; default: the task's tuned `steps` for this solver, else the task's `steps`. */
  steps?: number;
  /** Seed for the task instance, the starting point and minibatches (default 0). */
  seed?: number;
  /**
   * Hyperparameters as strings, parsed to the type of their default: `{ eta: "0.1", n: "100" }`.
   * A bare key goes to the solver or the task, whichever has it; a key both have needs a prefix,
   * `solver.key` or `task.key`.
   */
  set?: Record<string, string>;
  /** Float dtype of problem data and iterates (default: the engine's current dtype, float32 at start). */
  dtype?: FloatDtype;
  /** Evaluate every this many steps (default: about 20 evaluations per run). */
  evalEvery?: number;
  /** Stop after this many seconds of solver time. */
  timeLimit?: number;
  /** Keep the final iterate in `result.x`, `result.y` (the caller then owns it); default false. */
  keepIterate?: boolean;
  /** Called after every evaluation. */
  onProgress?: (p: Progress) => void;
  /** Called after every outer step. */
  onStep?: (step: number, steps: number) => void;
  /** Checkpoint and resume (the task name and options are added to the checked settings). */
  checkpoint?: Omit<CheckpointOptions, "identity">;
  /** Stop between steps when aborted (`solve` then throws `RunInterrupted` after saving the checkpoint). */
  signal?: StopSignal;
}

/** The JSON object `bilevel run --json FILE` writes (the CLI contract in shared/DESIGN.md). */
export interface RunRecord {
  task: string;
  solver: string;
  seed: number;
  /** Outer steps requested. */
  steps: number;
  /** Outer steps taken (fewer than `steps` after a time limit or divergence). */
  stepsTaken: number;
  /**
   * Effective hyperparameters, solver's and task's, flat. A key that the solver and the task share is
   * written `solver.key` / `task.key`; every key here can be passed back with `--set key=value`.
   */
  options: Options;
  wallSeconds: number;
  msPerStep: number;
  status: SolveResult["status"];
  /** The one-line reason of a diverged run. */
  error?: string;
  /** `upper` and `lower` at the final iterate plus every metric the task's `evaluate` reports. */
  final: Record<string, number>;
  /** Evaluation points: step, solver seconds so far, upper, lower and task metrics. */
  history: HistoryPoint[];
  /** Facts about the problem instance (`problem.info`). */
  info: Record<string, unknown>;
  /** Device, dtype, wasm threads and jax-js version the run used. */
  engine: ReturnType<typeof engineInfo>;
  /** The machine that ran it, for runs made by a queue worker. */
  host?: string;
}

/** What `runTask` returns. `result.x`, `result.y` are present only with `keepIterate: true`. */
export interface TaskRun {
  record: RunRecord;
  result: Omit<SolveResult, "x" | "y"> & { x?: Tree; y?: Tree };
  /**
   * The problem instance the run used. Usable for further evaluation only with `keepIterate: true`
   * (then call `problem.dispose?.()` when done); otherwise its captured data is already freed.
   */
  problem: BilevelProblem;
}

/** The effective solver and task options of an experiment, from `--set` strings. */
export interface ResolvedExperiment {
  task: TaskSpec<Options>;
  solver: SolverSpec<Options>;
  solverOptions: Options;
  taskOptions: Options;
  /** Steps from the user, else the task's tuned steps for this solver, else the task's steps. */
  steps: number;
}

const hasKey = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Split `--set` strings between solver and task, parse each to its default's type, and lay them over
 * the task's tuned solver defaults. Throws `BilevelInputError` (one line) for unknown names and keys,
 * ill-typed values, and bad step counts.
 */
export function resolveExperiment(opts: Pick<RunTaskOptions, "task" | "solver" | "steps" | "set">): ResolvedExperiment {
  const task = getTask(opts.task);
  const solver = getSolver(opts.solver);
  const tuned: Options & { steps?: number } = { ...(task.solverDefaults?.[solver.name] ?? {}) };
  const tunedSteps = tuned.steps;
  delete tuned.steps;
  const solverSet: Options = {};
  const taskSet: Options = {};
  const known = () =>
    `solver ${solver.name}: ${Object.keys(solver.defaults).join(", ") || "none"}; task ${task.name}: ${Object.keys(task.defaults).join(", ") || "none"}`;
  const set = opts.set ?? {};
  if (set === null || typeof set !== "object" || Array.isArray(set)) throw new BilevelInputError(`set: expected an object of key: "value" strings, got ${shown(set)}`);
  for (const [rawKey, raw] of Object.entries(set)) {
    let key = rawKey;
    let side: "solver" | "task" | null = null;
    if (key.startsWith("solver.")) [side, key] = ["solver", key.slice(7)];
    else if (key.startsWith("task.")) [side, key] = ["task", key.slice(5)];
    if (!hasKey(solver.defaults, key) && solver.aliases && hasKey(solver.aliases, key)) {
      noteAlias(`solver ${solver.name}`, key, solver.aliases[key]);
      key = solver.aliases[key];
    }
    const inSolver = hasKey(solver.defaults, key);
    const inTask = hasKey(task.defaults, key);
    if (side === null) {
      if (inSolver && inTask) {
        throw new BilevelInputError(`--set ${rawKey}: both solver ${solver.name} and task ${task.name} have '${key}'; write solver.${key} or task.${key}`);
      }
      side = inSolver ? "solver" : inTask ? "task" : null;
    } else if ((side === "solver" && !inSolver) || (side === "task" && !inTask)) {
      side = null;
    }
    if (side === null) throw new BilevelInputError(`--set ${rawKey}: unknown option (known: ${known()})`);
    const def: OptionValue = side === "solver" ? solver.defaults[key] : task.defaults[key];
    (side === "solver" ? solverSet : taskSet)[key] = parseOptionValue(rawKey, raw, def);
  }
  const solverOptions = resolveOptions(`solver ${solver.name}`, solver.defaults, { ...tuned, ...solverSet }, solver.spec, solver.aliases);
  const taskOptions = resolveOptions(`task ${task.name}`, task.defaults, taskSet, task.spec);
  const steps = expectInt("steps", opts.steps ?? tunedSteps ?? task.steps, 0);
  return { task, solver, solverOptions, taskOptions, steps };
}

/** Solver and task options in one flat map; shared keys get `solver.` / `task.` prefixes. */
export function flatOptions(solverOptions: Options, taskOptions: Options): Options {
  const out: Options = {};
  for (const [k, v] of Object.entries(solverOptions)) out[hasKey(taskOptions, k) ? `solver.${k}` : k] = v;
  for (const [k, v] of Object.entries(taskOptions)) out[hasKey(solverOptions, k) ? `task.${k}` : k] = v;
  return out;
}

/**
 * Run one experiment: build the task instance, solve it, and return the result with its JSON record.
 * Never throws for a diverging run (status "diverged", `error` set); throws `BilevelInputError` for bad
 * input before any work is done.
 */
export async function runTask(opts: RunTaskOptions): Promise<TaskRun> {
  const ex = resolveExperiment(opts);
  const seed = expectSeed("seed", opts.seed ?? 0);
  if (opts.dtype !== undefined && opts.dtype !== "float32" && opts.dtype !== "float64") {
    throw new BilevelInputError(`dtype: expected float32 or float64, got '${String(opts.dtype)}'`);
  }
  if (opts.timeLimit !== undefined) expectPositive("timeLimit", opts.timeLimit, " of seconds");
  if (opts.evalEvery !== undefined) expectInt("evalEvery", opts.evalEvery, 1);
  await initEngine(opts.dtype ? { dtype: opts.dtype } : {});
  let problem: BilevelProblem;
  try {
    problem = await ex.task.create(ex.taskOptions, seed);
  } catch (e) {
    // Builders fail on option values their types allow but their sizes do not (n = -1, n = 2.5) or on
    // missing data: report them as input errors naming the options.
    if (e instanceof BilevelInputError) throw e;
    const shown = Object.entries(ex.taskOptions).map(([k, v]) => `${k}=${v}`).join(", ") || "no options";
    throw new BilevelInputError(`task ${ex.task.name} (${shown}): ${e instanceof Error ? e.message : String(e)}`);
  }
  let result: TaskRun["result"];
  try {
    result = await solve(problem, ex.solver, {
    steps: ex.steps,
    seed,
    options: ex.solverOptions,
    evalEvery: opts.evalEvery,
    timeLimit: opts.timeLimit,
    onProgress: opts.onProgress,
    onStep: opts.onStep,
    signal: opts.signal,
    checkpoint: opts.checkpoint && { ...opts.checkpoint, identity: { task: ex.task.name, taskOptions: ex.taskOptions } },
    });
  } catch (e) {
    problem.dispose?.();
    throw e;
  }
  // the task built it for this run: its captured data goes with the run (a bench makes many), unless
  // the caller keeps the iterate to evaluate further (then `problem` is returned alive; dispose it after)
  if (!opts.keepIterate) {
    problem.dispose?.();
    tdispose(result.x);
    tdispose(result.y);
    delete result.x;
    delete result.y;
  }
  const { step: _step, seconds: _seconds, ...final } = result.final;
  const record: RunRecord = {
    task: ex.task.name,
    solver: ex.solver.name,
    seed,
    steps: ex.steps,
    stepsTaken: result.steps,
    options: flatOptions(result.options, ex.taskOptions),
    wallSeconds: result.wallSeconds,
    msPerStep: result.msPerStep,
    status: result.status,
    ...(result.error !== undefined ? { error: result.error } : {}),
    final,
    history: result.history,
    info: { ...(problem.info ?? {}) },
    engine: engineInfo(),
  };
  return { record, result, problem };
}

/**
 * One run as data: the unit of a bench, of `bench --resume` and of a distributed job. A run is a pure
 * function of these fields (and the device and thread count it runs on): the same spec gives the same
 * record apart from timings.
 */
export interface RunSpec {
  task: string;
  solver: string;
  seed: number;
  /** `--set` strings for this run (solver and task options). */
  set: Record<string, string>;
  steps?: number;
  evalEvery?: number;
  timeLimit?: number;
  dtype?: FloatDtype;
}

/** A canonical string of a spec (sorted keys, no undefined fields): equal specs, equal keys. */
export function runSpecKey(spec: RunSpec): string {
  const sortObj = (o: Record<string, unknown>) => Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  return JSON.stringify(sortObj({ ...spec, set: sortObj(spec.set ?? {}) }));
}

/** Run a spec through `runTask` (options other than the spec's, e.g. progress hooks, in `extra`). */
export function runSpec(spec: RunSpec, extra: Omit<RunTaskOptions, keyof RunSpec> = {}): Promise<TaskRun> {
  return runTask({ ...extra, task: spec.task, solver: spec.solver, seed: spec.seed, set: spec.set, steps: spec.steps, evalEvery: spec.evalEvery, timeLimit: spec.timeLimit, dtype: spec.dtype });
}
