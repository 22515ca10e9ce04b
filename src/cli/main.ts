#!/usr/bin/env node
/**
 * The `bilevel` command (CLI contract in shared/DESIGN.md):
 *
 *     bilevel list [--json]
 *     bilevel run <task> --solver <name> [--steps N] [--seed S] [--set key=value ...] [--json FILE]
 *                 [--quiet] [--dtype float32|float64] [--eval-every N] [--time-limit SECONDS]
 *                 [--checkpoint DIR [--checkpoint-every N] [--resume]] [--log FILE.jsonl] [--device wasm|webgpu|cpu]
 *     bilevel bench <task> --solvers a,b,c [--steps N] [--seeds K] [--time-limit S] [--set key=value ...]
 *                 [--target metric=value] [--eval-every N] [--out DIR] [--quiet]
 *                 [--resume] [--log FILE.jsonl] [--queue redis://host:port/db] [--device D]
 *     bilevel worker --queue redis://host:port/db [--concurrency N] [--stall-seconds S]
 *     bilevel tune <task> --solver S --grid key=v1,v2 [--random N key=lo:hi[:log]] [--seeds K]
 *                 [--budget-steps N] [--halving] [--queue URL] [--out DIR] [--resume]
 *     bilevel playground [--port N]
 *     bilevel verify <task> --solver S [--steps K] [--seed S] [--set key=value ...] [--json FILE]  (cli/verify.ts)
 *
 * Exit codes: 0 success, 1 a diverged run or an internal error, 2 bad input, 130 / 143 stopped by
 * SIGINT / SIGTERM (after saving the checkpoint or the finished runs). Every error is one line on
 * stderr (a stack trace only with BILEVEL_DEBUG=1).
 */
import "../node/host.js"; // first: the Node set-up runs before the engine loads
import { nodeEnvProblems } from "../node/host.js";
import { Command, CommanderError, Option } from "commander";
import cliProgress from "cli-progress";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BilevelInputError, BilevelRunError, printable } from "../errors.js";
import { resolveExperiment, runTask, type RunRecord } from "../experiment.js";
import { probeWritable, writeFileAtomic } from "../node/fsio.js";
import { SEED_MAX } from "../options.js";
import { DEVICES, initEngine, type DeviceName, type FloatDtype } from "../engine/index.js";
import { solvers } from "../solvers/registry.js";
import { tasks } from "../tasks/index.js";
import { benchCommand, type BenchFlags } from "./bench.js";
import { intArg, parseSets, positiveNumber } from "./args.js";
import { registerLmCommands } from "./lm.js";
import { startLongRun, type LongRunFlags } from "./longrun.js";
import { registerWorkerCommand } from "./worker.js";
import { registerTuneCommand } from "./tune.js";
import { addQuantizeCommand } from "./quantize.js";
import { addPlaygroundCommand } from "./playground.js";
import { addVerifyCommand } from "./verify.js";

/** Exit code 2: bad input. */
class UsageError extends BilevelInputError {}

/** One terminal line: newlines folded, control characters and other unprintable text escaped. */
const oneLine = (s: string) => printable(s.replace(/\s*\n\s*/g, " ").trim(), 2000);

function fail(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
    const msg = oneLine(err.message);
    process.stderr.write(`bilevel: ${msg.startsWith("error:") ? msg : `error: ${msg}`}\n`);
    return 2;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const input = e instanceof BilevelInputError;
  const runFailure = e instanceof BilevelRunError || e.name === "DivergenceError";
  const msg = oneLine(e.message || e.name);
  process.stderr.write(`bilevel: error: ${input || runFailure ? msg : `internal error: ${msg}`}\n`);
  if (process.env.BILEVEL_DEBUG === "1" && e.stack) process.stderr.write(`${e.stack}\n`);
  return input ? 2 : 1;
}


const fmt = (v: unknown): string => {
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
};

function summary(r: RunRecord): string {
  const lines = [`${r.task} / ${r.solver}  seed ${r.seed}  ${r.stepsTaken}/${r.steps} steps  status ${r.status}`];
  for (const [k, v] of Object.entries(r.final)) lines.push(`  ${k.padEnd(20)} ${fmt(v)}`);
  lines.push(`  ${"ms/step".padEnd(20)} ${fmt(r.msPerStep)}`);
  lines.push(`  ${"wall seconds".padEnd(20)} ${fmt(r.wallSeconds)}`);
  return lines.join("\n") + "\n";
}

interface RunFlags extends LongRunFlags {
  solver: string;
  steps?: number;
  seed?: number;
  set?: string[];
  json?: string;
  quiet?: boolean;
  dtype?: FloatDtype;
  evalEvery?: number;
  timeLimit?: number;
  device?: DeviceName;
}

async function runCommand(taskName: string, f: RunFlags): Promise<number> {
  const set = parseSets(f.set ?? []);
  resolveExperiment({ task: taskName, solver: f.solver, steps: f.steps, set }); // bad names and values before any probe or work
  if (f.json !== undefined) probeWritable(f.json, "--json");
  if (f.device !== undefined) await initEngine({ device: f.device });
  const showBar = !f.quiet && process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let upper = "";
  const long = startLongRun(f, { task: taskName, solver: f.solver, seed: f.seed ?? 0 });
  try {
    const { record } = await runTask({
      task: taskName,
      solver: f.solver,
      steps: f.steps,
      seed: f.seed,
      set,
      dtype: f.dtype,
      evalEvery: f.evalEvery,
      timeLimit: f.timeLimit,
      checkpoint: long.checkpoint,
      signal: long.signal,
      onProgress: (p) => {
        long.onProgress(p);
        upper = fmt(p.metrics.upper);
        if (showBar && !bar) {
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: `${taskName}/${f.solver} {bar} {value}/{total} | eta {eta_formatted} | upper {upper}`,
              hideCursor: false,
              clearOnComplete: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.steps, p.step, { upper });
        }
        bar?.update(p.step, { upper });
      },
      onStep: (k) => bar?.update(k, { upper }),
    });
    (bar as cliProgress.SingleBar | null)?.stop();
    bar = null;
    if (f.json !== undefined) writeFileAtomic(f.json, JSON.stringify(record, null, 2) + "\n", "--json");
    if (!f.quiet) process.stdout.write(summary(record));
    if (record.status === "diverged") {
      process.stderr.write(`bilevel: error: ${oneLine(record.error ?? "the run diverged")}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    const stop = long.interrupted(e);
    if (!stop) throw e;
    (bar as cliProgress.SingleBar | null)?.stop();
    process.stderr.write(`bilevel: ${stop.message}\n`);
    return stop.code;
  } finally {
    (bar as cliProgress.SingleBar | null)?.stop();
    long.close();
  }
}

function listCommand(f: { json?: boolean }): number {
  const data = {
    solvers: solvers.map((s) => ({
      name: s.name,
      reference: s.reference,
      summary: s.summary,
      capabilities: s.capabilities,
      defaults: s.defaults,
      help: s.help,
    })),
    tasks: tasks.map((t) => ({ name: t.name, description: t.description, defaults: t.defaults, steps: t.steps, help: t.help })),
  };
  if (f.json) {
    process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    return 0;
  }
  const opts = (o: object) =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v === "" ? '""' : v}`)
      .join(" ") || "-";
  const out: string[] = ["Solvers:"];
  for (const s of data.solvers) out.push(`  ${s.name.padEnd(14)} ${s.summary}`, `  ${"".padEnd(14)} ${s.reference}`, `  ${"".padEnd(14)} defaults: ${opts(s.defaults)}`);
  out.push("", "Tasks:");
  for (const t of data.tasks) out.push(`  ${t.name.padEnd(16)} ${t.description}`, `  ${"".padEnd(16)} options: ${opts(t.defaults)}; steps ${t.steps}`);
  process.stdout.write(out.join("\n") + "\n");
  return 0;
}

function version(): string {
  try {
    const here = path.dirname(fileURLToPath(import.meta.url));
    for (const up of ["../../..", "../.."]) {
      const p = path.join(here, up, "package.json");
      if (fs.existsSync(p)) return (JSON.parse(fs.readFileSync(p, "utf8")) as { version: string }).version;
    }
  } catch {
    /* fall through */
  }
  return "unknown";
}

const deviceOption = () =>
  new Option("--device <device>", "compute device (default: BILEVEL_DEVICE, else wasm; webgpu under Node needs the npm package webgpu)").choices([...DEVICES]);

/** Run the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command("bilevel")
    .description("Gradient-based bilevel optimization: run solvers on tasks.")
    .version(version())
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);

  program
    .command("list")
    .description("list solvers and tasks")
    .option("--json", "print JSON")
    .action((f: { json?: boolean }) => {
      code = listCommand(f);
    });

  program
    .command("run")
    .description("run one solver on one task")
    .argument("<task>", "task name (see `bilevel list`)")
    .requiredOption("--solver <name>", "solver name (see `bilevel list`)")
    .option("--steps <N>", "outer steps (default: the task's)", intArg("steps", 0))
    .option("--seed <S>", "seed (default 0)", intArg("seed", 0, SEED_MAX))
    .option("--set <key=value...>", "solver or task option (repeatable; solver.key / task.key when both have key)")
    .option("--json <FILE>", "write the JSON result record to FILE")
    .option("--quiet", "no progress bar, no summary")
    .addOption(new Option("--dtype <dtype>", "float dtype").choices(["float32", "float64"]))
    .option("--eval-every <N>", "evaluate every N steps", intArg("eval-every", 1))
    .option("--time-limit <SECONDS>", "stop after this much solver time", positiveNumber("time-limit"))
    .option("--checkpoint <DIR>", "save the run in DIR (atomically) every --checkpoint-every steps and on SIGINT/SIGTERM")
    .option("--checkpoint-every <N>", "checkpoint every N steps (default: at every evaluation)", intArg("checkpoint-every", 1))
    .option("--resume", "continue the run checkpointed in --checkpoint DIR (same settings; bitwise the same final record)")
    .option("--log <FILE.jsonl>", "append one JSON object per evaluation to FILE, flushed (tail -f)")
    .addOption(deviceOption())
    .action(async (task: string, f: RunFlags) => {
      code = await runCommand(task, f);
    });

  program
    .command("bench")
    .description("run several solvers x seeds on one task; write results.json, results.csv, SVG plots and report.html")
    .argument("<task>", "task name (see `bilevel list`)")
    .requiredOption("--solvers <a,b,c>", "comma-separated solver names")
    .option("--steps <N>", "outer steps per run (default: each solver's tuned steps for the task)", intArg("steps", 0))
    .option("--seeds <K>", "seeds 0..K-1 per solver (default 3)", intArg("seeds", 1))
    .option("--time-limit <SECONDS>", "stop each run after this much solver time", positiveNumber("time-limit"))
    .option("--set <key=value...>", "option for every solver / the task; <solver>.key for one solver")
    .option("--target <metric=value>", "report the time to reach it, e.g. testAccuracy=0.88 or distanceToOptimum=1e-3")
    .option("--eval-every <N>", "evaluate every N steps", intArg("eval-every", 1))
    .option("--out <DIR>", "output directory (default bench-<task>)")
    .option("--quiet", "no progress bar, no summary")
    .option("--resume", "run only the (solver, seed) pairs --out does not hold yet (finished runs are kept in --out/runs)")
    .option("--log <FILE.jsonl>", "one JSON object per evaluation, flushed (tail -f)")
    .option("--queue <redis://host:port/db>", "enqueue the runs on Redis and collect them from `bilevel worker`s")
    .addOption(deviceOption())
    .action(async (task: string, f: BenchFlags & { device?: DeviceName }) => {
      const { device, ...flags } = f;
      if (device !== undefined) await initEngine({ device });
      code = await benchCommand(task, flags, argv, parseSets);
    });

  registerLmCommands(program, (c) => (code = c));
  registerWorkerCommand(program, (c) => (code = c));
  registerTuneCommand(program, (c) => (code = c), argv, parseSets);
  addQuantizeCommand(program, (c) => (code = c));
  addPlaygroundCommand(program, (c) => (code = c));
  addVerifyCommand(program, (c) => (code = c), parseSets);

  // An invalid BILEVEL_THREADS / BILEVEL_JIT / BILEVEL_DEVICE: one line, exit 2, for every command.
  const envProblems = nodeEnvProblems();
  if (envProblems.length > 0) return fail(new UsageError(envProblems.join("; ")));
  if (argv.length === 0) return fail(new UsageError("missing command: try `bilevel list`, `bilevel run <task> --solver <name>` or `bilevel --help`"));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    return fail(err);
  }
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = fail(err);
  },
);
