#!/usr/bin/env node
/**
 * The `bilevel` command (CLI contract in shared/DESIGN.md):
 *
 *     bilevel list [--json]
 *     bilevel run <task> --solver <name> [--steps N] [--seed S] [--set key=value ...] [--json FILE]
 *                 [--quiet] [--dtype float32|float64] [--eval-every N] [--time-limit SECONDS]
 *     bilevel bench <task> --solvers a,b,c [--steps N] [--seeds K] [--time-limit S] [--set key=value ...]
 *                 [--target metric=value] [--eval-every N] [--out DIR] [--quiet]
 *     bilevel verify <task> --solver S [--steps K] [--seed S] [--set key=value ...] [--json FILE]  (cli/verify.ts)
 *
 * Exit codes: 0 success, 1 a diverged run or an internal error, 2 bad input. Every error is one line on
 * stderr (a stack trace only with BILEVEL_DEBUG=1).
 */
import { Command, CommanderError, Option } from "commander";
import cliProgress from "cli-progress";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BilevelInputError } from "../errors.js";
import { runTask, type RunRecord } from "../experiment.js";
import type { FloatDtype } from "../engine/index.js";
import { solvers } from "../solvers/registry.js";
import { tasks } from "../tasks/index.js";
import { benchCommand, type BenchFlags } from "./bench.js";
import { intArg, positiveNumber } from "./args.js";
import { registerLmCommands } from "./lm.js";
import { addQuantizeCommand } from "./quantize.js";
import { addVerifyCommand } from "./verify.js";

/** Exit code 2: bad input. */
class UsageError extends BilevelInputError {}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ").trim();

function fail(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
    const msg = oneLine(err.message);
    process.stderr.write(`bilevel: ${msg.startsWith("error:") ? msg : `error: ${msg}`}\n`);
    return 2;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const input = e instanceof BilevelInputError;
  const msg = oneLine(e.message || e.name);
  process.stderr.write(`bilevel: error: ${input ? msg : `internal error: ${msg}`}\n`);
  if (process.env.BILEVEL_DEBUG === "1" && e.stack) process.stderr.write(`${e.stack}\n`);
  return input ? 2 : 1;
}


/** Parse `key=value` strings; later keys win. */
function parseSets(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items) {
    const i = it.indexOf("=");
    if (i <= 0) throw new UsageError(`--set ${it}: expected key=value`);
    out[it.slice(0, i).trim()] = it.slice(i + 1);
  }
  return out;
}

/** Fail early (before a long run) when FILE cannot be written. */
function checkWritable(file: string): void {
  const abs = path.resolve(file);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  try {
    if (st) {
      if (st.isDirectory()) throw new Error("is a directory");
      fs.accessSync(abs, fs.constants.W_OK);
    } else {
      const dir = path.dirname(abs);
      if (!fs.existsSync(dir)) throw new Error(`directory ${dir} does not exist`);
      if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
      fs.accessSync(dir, fs.constants.W_OK);
    }
  } catch (e) {
    const why = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
    throw new UsageError(`--json ${file}: cannot write there (${why})`);
  }
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

interface RunFlags {
  solver: string;
  steps?: number;
  seed?: number;
  set?: string[];
  json?: string;
  quiet?: boolean;
  dtype?: FloatDtype;
  evalEvery?: number;
  timeLimit?: number;
}

async function runCommand(taskName: string, f: RunFlags): Promise<number> {
  const set = parseSets(f.set ?? []);
  if (f.json !== undefined) checkWritable(f.json);
  const showBar = !f.quiet && process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let upper = "";
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
      onProgress: (p) => {
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
    if (f.json !== undefined) fs.writeFileSync(f.json, JSON.stringify(record, null, 2) + "\n");
    if (!f.quiet) process.stdout.write(summary(record));
    if (record.status === "diverged") {
      process.stderr.write(`bilevel: error: ${oneLine(record.error ?? "the run diverged")}\n`);
      return 1;
    }
    return 0;
  } finally {
    (bar as cliProgress.SingleBar | null)?.stop();
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
    .option("--seed <S>", "seed (default 0)", intArg("seed", 0))
    .option("--set <key=value...>", "solver or task option (repeatable; solver.key / task.key when both have key)")
    .option("--json <FILE>", "write the JSON result record to FILE")
    .option("--quiet", "no progress bar, no summary")
    .addOption(new Option("--dtype <dtype>", "float dtype").choices(["float32", "float64"]))
    .option("--eval-every <N>", "evaluate every N steps", intArg("eval-every", 1))
    .option("--time-limit <SECONDS>", "stop after this much solver time", positiveNumber("time-limit"))
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
    .action(async (task: string, f: BenchFlags) => {
      code = await benchCommand(task, f, argv, parseSets);
    });

  registerLmCommands(program, (c) => (code = c));
  addQuantizeCommand(program, (c) => (code = c));
  addVerifyCommand(program, (c) => (code = c), parseSets);

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
