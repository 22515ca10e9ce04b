/**
 * `bilevel bench <task> --solvers a,b,c ...`: every solver x seed through `runBench`, a progress bar
 * over the whole bench on a TTY, then results.json, results.csv, SVG plots and report.html in --out.
 * Bad input (unknown or repeated solver, empty list, --seeds < 1, unwritable --out, bad --target)
 * throws `BilevelInputError` before any run: the caller prints one line and exits 2.
 *
 * Long benches: every finished run is stored in --out/runs at once; SIGINT/SIGTERM write the report
 * of the finished runs and exit 130/143; --resume runs only the missing ones; --out is locked while a
 * bench writes there; --queue URL runs the jobs on `bilevel worker`s (src/node/queue.ts).
 */
import cliProgress from "cli-progress";
import { BilevelInputError } from "../errors.js";
import { runTask } from "../experiment.js";
import { probeWritableDir } from "../node/fsio.js";
import { checkBench, runBench, setFor, summarize, plotMetrics, writeBench, type BenchTarget, type BenchExecutor, type BenchResult } from "../report/index.js";
import type { RunRecord, RunSpec } from "../experiment.js";
import { JsonlLog } from "../node/jsonl.js";
import { openSweep, signalExitCode } from "./longrun.js";

export interface BenchFlags {
  solvers: string;
  steps?: number;
  seeds?: number;
  timeLimit?: number;
  set?: string[];
  target?: string;
  evalEvery?: number;
  out?: string;
  quiet?: boolean;
  /** Run only the (solver, seed) pairs --out does not hold yet. */
  resume?: boolean;
  /** One JSON line per evaluation. */
  log?: string;
  /** redis://host:port/db: run the jobs on `bilevel worker`s instead of here. */
  queue?: string;
}

/** Log lines for one run: its evaluation points with the run's labels. */
export function logRun(log: JsonlLog, spec: RunSpec, record: RunRecord, host?: string): void {
  for (const h of record.history) log.write({ task: spec.task, solver: spec.solver, seed: spec.seed, ...(host ? { host } : {}), ...h, steps: record.steps });
}

function parseTarget(s: string): BenchTarget {
  const i = s.indexOf("=");
  const metric = i > 0 ? s.slice(0, i).trim() : "";
  const raw = i > 0 ? s.slice(i + 1).trim() : "";
  const value = Number(raw);
  if (metric === "" || raw === "" || !Number.isFinite(value)) {
    throw new BilevelInputError(`--target ${s}: expected metric=value with a number, e.g. testAccuracy=0.88`);
  }
  return { metric, value };
}

/** Throw unless the task reports `target.metric` (one evaluation at the starting point of seed 0). */
async function checkTargetMetric(task: string, solver: string, set: Record<string, string>, target: BenchTarget): Promise<void> {
  const { record } = await runTask({ task, solver, set, steps: 0, seed: 0 });
  const known = Object.keys(record.history[0] ?? {}).filter((k) => k !== "step" && k !== "seconds");
  if (!known.includes(target.metric)) {
    throw new BilevelInputError(`--target ${target.metric}: task ${task} does not report '${target.metric}' (it reports: ${known.join(", ")})`);
  }
}

/** Shell-quote one argument for the report's command line. */
const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

const fmt = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e5 ? Number(v.toExponential(3)).toExponential() : String(Number(v.toPrecision(4)));
};

export async function benchCommand(
  task: string,
  f: BenchFlags,
  argv: string[],
  parseSets: (items: string[]) => Record<string, string>,
): Promise<number> {
  const solverList = f.solvers
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (solverList.length === 0) throw new BilevelInputError(`--solvers '${f.solvers}': expected a comma-separated list of solver names (see \`bilevel list\`)`);
  const set = parseSets(f.set ?? []);
  const target = f.target !== undefined ? parseTarget(f.target) : undefined;
  // All input before any folder is made or any run spent: the task, solvers and --set values, then the
  // --target metric (read from an evaluation at the starting point, 0 steps), then the output folder.
  checkBench({ task, solvers: solverList, steps: f.steps, seeds: f.seeds, timeLimit: f.timeLimit, set, target });
  if (target) await checkTargetMetric(task, solverList[0], setFor(solverList[0], solverList, set), target);
  const out = f.out ?? `bench-${task}`;
  probeWritableDir(out, "--out");
  const sweep = await openSweep(out, f);
  const { execute, store, done, log, sig } = sweep;
  const showBar = !f.quiet && process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  try {
    const bench = await runBench({
      done,
      signal: sig.signal,
      execute,
      onRun: (spec, record) => {
        store.put(spec, record);
        if (log && execute) logRun(log, spec, record, record.host);
      },
      onEval: log ? (spec, p) => log.write({ task: spec.task, solver: spec.solver, seed: spec.seed, ...p.metrics, steps: p.steps }) : undefined,
      task,
      solvers: solverList,
      steps: f.steps,
      seeds: f.seeds,
      timeLimit: f.timeLimit,
      evalEvery: f.evalEvery,
      set,
      target,
      onProgress: (p) => {
        const payload = { label: `${p.solver} seed ${p.seed}`, run: p.run + 1, runs: p.runs };
        if (showBar && !bar) {
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: `bench ${task} {bar} {percentage}% | run {run}/{runs} {label} | eta {eta_formatted}`,
              hideCursor: false,
              clearOnComplete: true,
              etaBuffer: 200,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.max(1, p.totalSteps), p.totalStep, payload);
        }
        bar?.update(p.totalStep, payload);
      },
    });
    (bar as cliProgress.SingleBar | null)?.stop();
    bar = null;
    const command = ["bilevel", ...argv].map(quote).join(" ");
    if (bench.interrupted) return await reportInterrupted(bench, out, command, sig.received());
    const written = await writeBench(bench, out, { command });
    if (!f.quiet) {
      const main = plotMetrics(bench.runs);
      const lines = [`${bench.task}: ${bench.solvers.length} solvers x ${bench.seeds} seeds in ${fmt(bench.wallSeconds)} s (mean ± std over seeds)`];
      for (const s of summarize(bench)) {
        const parts = main.map((k) => `${k} ${fmt(s.final[k].mean)} ± ${fmt(s.final[k].std)}`);
        const st = Object.entries(s.statuses).map(([k, n]) => `${n} ${k}`).join(", ");
        const q = s.target?.queries ? `, ${fmt(s.target.queries.mean)} ± ${fmt(s.target.queries.std)} queries` : "";
        const tg = s.target ? ` | target ${s.target.reached}/${s.runs}${s.target.reached ? ` at ${fmt(s.target.seconds)} s${q}` : ""}` : "";
        lines.push(`  ${s.solver.padEnd(14)} ${parts.join(" | ")} | ms/step ${fmt(s.msPerStep.mean)} | ${st}${tg}`);
      }
      lines.push(`wrote ${written.files.length} files to ${written.dir} (open ${written.dir.replace(/\/$/, "")}/report.html)`);
      process.stdout.write(lines.join("\n") + "\n");
    }
    return 0;
  } finally {
    (bar as cliProgress.SingleBar | null)?.stop();
    await sweep.close();
  }
}

/** A stopped bench: the report of the finished runs (when there are any), one line, exit 130 / 143. */
async function reportInterrupted(bench: BenchResult, out: string, command: string, signal: NodeJS.Signals | null): Promise<number> {
  const total = bench.solvers.length * bench.seeds;
  const ran = bench.solvers.filter((s) => bench.runs.some((r) => r.solver === s));
  if (bench.runs.length > 0) await writeBench({ ...bench, solvers: ran }, out, { command });
  const what = bench.runs.length > 0 ? `report of them written to ${out}` : "no report written";
  process.stderr.write(`bilevel: ${signal ?? "stopped"}: ${bench.runs.length}/${total} runs finished and stored in ${out}/runs (${what}); continue with --resume\n`);
  return signalExitCode(signal ?? "SIGINT");
}
