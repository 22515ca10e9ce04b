/**
 * `runBench`: every solver x seed of one task through `runTask`, with the machine facts the report
 * needs. Nothing here prints; the CLI's `bench` command draws the progress bar from `onProgress`.
 *
 * Bad input (unknown task or solver, an empty or duplicated solver list, seeds < 1, a `--set` key no
 * solver or the task knows) throws `BilevelInputError` before any run starts. A run that diverges is
 * kept with its status and error; the bench goes on.
 */
import type { StopSignal } from "../run.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { jax as engine } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { resolveExperiment, runSpec, runSpecKey, type RunRecord, type RunSpec } from "../experiment.js";
import { RunInterrupted, type Progress } from "../run.js";
import { getSolver } from "../solvers/registry.js";

export interface BenchOptions {
  /** Task name. */
  task: string;
  /** Solver names, at least one, no repeats. */
  solvers: string[];
  /** Outer steps per run (default: each solver's tuned steps for the task, else the task's). */
  steps?: number;
  /** Seeds 0..seeds-1 per solver (default 3). */
  seeds?: number;
  /** Stop each run after this many seconds of solver time. */
  timeLimit?: number;
  /** Evaluate every this many steps (default: about 20 evaluations per run). */
  evalEvery?: number;
  /**
   * Options as `--set` strings. `key` goes to every solver (or the task) that has it; `solver.key`,
   * `task.key` as in `runTask`; `<solverName>.key` (e.g. `bome.eta`) only to that solver.
   */
  set?: Record<string, string>;
  /** A target for "time to reach" in the report, e.g. `{ metric: "testAccuracy", value: 0.88 }`. */
  target?: BenchTarget;
  /** Called after every outer step of every run, and once when a run ends (`done: true`). */
  onProgress?: (p: BenchProgress) => void;
  /** Called after every evaluation of a run made here (for `--log`). */
  onEval?: (spec: RunSpec, p: Progress) => void;
  /** Runs finished earlier, by `runSpecKey` (`bench --resume`): they are taken as they are, not run again. */
  done?: Map<string, RunRecord>;
  /** Called the moment a run finishes (the CLI stores it in --out). */
  onRun?: (spec: RunSpec, record: RunRecord) => void;
  /** Stop early: the run in progress is dropped and the result holds the finished runs (`interrupted`). */
  signal?: StopSignal;
  /**
   * Run the missing specs somewhere else (a job queue) instead of one after the other here: yields
   * each finished run, in any order, and returns when all are done or `signal` aborts.
   */
  execute?: BenchExecutor;
}

/** Where a bench's runs execute: in this process (default) or through a queue (`src/node/queue.ts`). */
export type BenchExecutor = (specs: RunSpec[], ctx: { signal?: StopSignal }) => AsyncIterable<{ spec: RunSpec; record: RunRecord }>;

export interface BenchTarget {
  metric: string;
  value: number;
}

export interface BenchProgress {
  solver: string;
  seed: number;
  /** 0-based index of this run and the number of runs. */
  run: number;
  runs: number;
  /** Steps done in this run and the run's step budget. */
  step: number;
  steps: number;
  /** Steps done over the whole bench and the bench's total step budget. */
  totalStep: number;
  totalSteps: number;
  done: boolean;
}

export interface MachineInfo {
  date: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  /** os.loadavg() when the bench started (1, 5, 15 minutes). */
  loadAverage: number[];
  bilevel: string;
  /** The shipped engine: the jax-js version and the patches (patches/jax) applied to it. */
  jax: string;
  enginePatches: string[];
  /** Installed versions of bilevel's dependencies (and of the plotting libraries). */
  packages: Record<string, string>;
}

export interface BenchResult {
  task: string;
  solvers: string[];
  seeds: number;
  /** Steps requested per solver (after defaults). */
  steps: Record<string, number>;
  timeLimit?: number;
  set: Record<string, string>;
  target?: BenchTarget;
  /** Solver-major order: solvers[0] seeds 0..K-1, then solvers[1], ... */
  runs: RunRecord[];
  machine: MachineInfo;
  /** Seconds the whole bench took (runs, evaluations, set-up). */
  wallSeconds: number;
  /** Set when the bench was stopped before every run finished (`runs` holds the finished ones). */
  interrupted?: boolean;
}

/** The repository / package root (holds package.json and node_modules). */
function packageRoot(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = path.join(dir, "package.json");
    if (fs.existsSync(p)) {
      try {
        if ((JSON.parse(fs.readFileSync(p, "utf8")) as { name?: string }).name === "bilevel") return dir;
      } catch {
        /* keep looking */
      }
    }
    dir = path.dirname(dir);
  }
  return null;
}

function readVersion(file: string): string | null {
  try {
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** Node, OS, CPU, load, and the versions of bilevel, jax-js and every dependency as installed. */
export function machineInfo(): MachineInfo {
  const root = packageRoot();
  const packages: Record<string, string> = {};
  let bilevel = "unknown";
  if (root) {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
      version?: string;
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    bilevel = pkg.version ?? "unknown";
    // Dependencies and the optional packages (data sets, plotting) where installed.
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).sort()) {
      // Installed next to bilevel (a checkout) or beside it (bilevel installed as a dependency).
      const candidates = [path.join(root, "node_modules", dep, "package.json"), path.join(root, "..", dep, "package.json")];
      packages[dep] = candidates.map(readVersion).find((v) => v !== null) ?? "not found";
    }
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    bilevel,
    jax: engine.ENGINE.version,
    enginePatches: [...engine.ENGINE.patches],
    packages,
  };
}

/** The `--set` strings meant for `solver`: `<solver>.key` stripped, other solvers' prefixed keys dropped. */
export function setFor(solver: string, all: string[], set: Record<string, string>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>; // `__proto__` stays a key (an unknown option)
  for (const [k, v] of Object.entries(set)) {
    const own = `${solver}.`;
    if (k.startsWith(own)) {
      out[k.slice(own.length)] = v;
      continue;
    }
    if (all.some((s) => s !== solver && k.startsWith(`${s}.`))) continue;
    out[k] = v;
  }
  return out;
}

/** Check the whole bench's input; returns the step budget of each solver. Throws `BilevelInputError`. */
export function checkBench(opts: BenchOptions): Record<string, number> {
  if (!Array.isArray(opts.solvers) || opts.solvers.length === 0) {
    throw new BilevelInputError("solvers: expected a non-empty comma-separated list of solver names (see `bilevel list`)");
  }
  const seen = new Set<string>();
  for (const s of opts.solvers) {
    if (typeof s !== "string" || s.trim() === "") throw new BilevelInputError(`solvers: empty name in the list '${opts.solvers.join(",")}'`);
    getSolver(s); // one-line error naming the unknown solver
    if (seen.has(s)) throw new BilevelInputError(`solvers: '${s}' is listed twice`);
    seen.add(s);
  }
  const seeds = opts.seeds ?? 3;
  if (!Number.isInteger(seeds) || seeds < 1) throw new BilevelInputError(`seeds: expected a positive integer, got ${seeds}`);
  if (opts.timeLimit !== undefined && !(Number.isFinite(opts.timeLimit) && opts.timeLimit > 0)) {
    throw new BilevelInputError(`timeLimit: expected a positive number of seconds, got ${opts.timeLimit}`);
  }
  if (opts.target !== undefined && !(typeof opts.target.metric === "string" && opts.target.metric !== "" && Number.isFinite(opts.target.value))) {
    throw new BilevelInputError(`target: expected metric=value with a finite value, got ${JSON.stringify(opts.target)}`);
  }
  const steps: Record<string, number> = {};
  for (const s of opts.solvers) {
    const ex = resolveExperiment({ task: opts.task, solver: s, steps: opts.steps, set: setFor(s, opts.solvers, opts.set ?? {}) });
    steps[s] = ex.steps;
  }
  return steps;
}

/**
 * The default executor: the specs one after the other in this process. `onStart(spec)` may return a
 * per-step callback (progress bars); `onEval` sees every evaluation. An aborted `signal` drops the
 * run in progress and ends the iteration.
 */
export function localExecutor(hooks: { onStart?: (spec: RunSpec) => ((step: number) => void) | void; onEval?: (spec: RunSpec, p: Progress) => void } = {}): BenchExecutor {
  return async function* (specs, ctx) {
    for (const spec of specs) {
      if (ctx.signal?.aborted) return;
      const onStep = hooks.onStart?.(spec) ?? undefined;
      let record: RunRecord;
      try {
        ({ record } = await runSpec(spec, {
          signal: ctx.signal,
          onProgress: hooks.onEval && ((p) => hooks.onEval!(spec, p)),
          onStep: onStep ? (k) => onStep(k) : undefined,
        }));
      } catch (e) {
        if (e instanceof RunInterrupted) return;
        throw e;
      }
      yield { spec, record };
    }
  };
}

/** The bench's runs as specs, solver-major: solvers[0] seeds 0..K-1, then solvers[1], ... */
export function benchSpecs(opts: BenchOptions): RunSpec[] {
  const seeds = opts.seeds ?? 3;
  const specs: RunSpec[] = [];
  for (const solver of opts.solvers) {
    for (let seed = 0; seed < seeds; seed++) {
      specs.push({
        task: opts.task,
        solver,
        seed,
        set: setFor(solver, opts.solvers, opts.set ?? {}),
        ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
        ...(opts.evalEvery !== undefined ? { evalEvery: opts.evalEvery } : {}),
        ...(opts.timeLimit !== undefined ? { timeLimit: opts.timeLimit } : {}),
      });
    }
  }
  return specs;
}

/**
 * Run every solver x seed (seeds 0..K-1) of `task`: the ones `done` does not hold, here one after
 * the other or through `execute`. Each run appears exactly once in `runs`, in solver-major order.
 */
export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const steps = checkBench(opts);
  const seeds = opts.seeds ?? 3;
  const machine = machineInfo();
  const t0 = performance.now();
  const specs = benchSpecs(opts);
  const keys = specs.map(runSpecKey);
  const finished = new Map<string, RunRecord>();
  for (const k of keys) {
    const r = opts.done?.get(k);
    if (r) finished.set(k, r);
  }
  const nRuns = specs.length;
  const totalSteps = specs.reduce((a, s) => a + steps[s.solver], 0);
  let before = specs.reduce((a, s, i) => a + (finished.has(keys[i]) ? steps[s.solver] : 0), 0);
  let checkedTarget = false;
  const accept = (spec: RunSpec, record: RunRecord) => {
    const k = runSpecKey(spec);
    if (finished.has(k) || !keys.includes(k)) return; // a duplicate delivery or a stranger: never twice
    const t = opts.target;
    if (t && !checkedTarget) {
      checkedTarget = true;
      if (!record.history.some((h) => t.metric in h)) {
        const known = Object.keys(record.history[0] ?? {}).filter((x) => x !== "step" && x !== "seconds");
        throw new BilevelInputError(`--target ${t.metric}: task ${record.task} does not report '${t.metric}' (it reports: ${known.join(", ")})`);
      }
    }
    finished.set(k, record);
    opts.onRun?.(spec, record);
  };
  const missing = specs.filter((_, i) => !finished.has(keys[i]));
  const execute =
    opts.execute ??
    localExecutor({
      onEval: opts.onEval,
      onStart: (spec) => {
        const base = { solver: spec.solver, seed: spec.seed, run: keys.indexOf(runSpecKey(spec)), runs: nRuns, steps: steps[spec.solver], totalSteps };
        opts.onProgress?.({ ...base, step: 0, totalStep: before, done: false });
        return (k) => opts.onProgress?.({ ...base, step: k, totalStep: before + k, done: false });
      },
    });
  for await (const { spec, record } of execute(missing, { signal: opts.signal })) {
    accept(spec, record);
    before += steps[spec.solver];
    opts.onProgress?.({ solver: spec.solver, seed: spec.seed, run: keys.indexOf(runSpecKey(spec)), runs: nRuns, step: record.stepsTaken, steps: steps[spec.solver], totalStep: before, totalSteps, done: true });
  }
  const interrupted = finished.size < nRuns;
  const runs = keys.map((k) => finished.get(k)).filter((r): r is RunRecord => r !== undefined);
  return {
    task: runs[0]?.task ?? opts.task,
    solvers: [...opts.solvers],
    seeds,
    steps,
    ...(opts.timeLimit !== undefined ? { timeLimit: opts.timeLimit } : {}),
    set: { ...(opts.set ?? {}) },
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    runs,
    machine,
    wallSeconds: (performance.now() - t0) / 1000,
    ...(interrupted ? { interrupted: true } : {}),
  };
}
