/**
 * `bilevel tune <task> --solver S --grid key=v1,v2,... [--random N key=lo:hi[:log] ...] [--seeds K]
 *  [--budget-steps N] [--halving] [--metric M] [--set key=value ...] [--queue URL] [--out DIR] [--resume]`
 *
 * Hyperparameter search over the cartesian product of the grids, times N random draws from the
 * ranges (uniform, or log-uniform with `:log`; seeded, so the same flags give the same points). Each
 * point runs on seeds 0..K-1 and is scored by the mean of the task's main metric at the end (the
 * first of distanceToOptimum / testAccuracy / valLoss the task reports, else upper; `--metric`
 * chooses another); a diverged or non-finite run scores worst. With `--halving`, successive halving
 * (eta = 2): all points at budget / 2^(R-1), the better half at twice that, ..., the last at the full
 * budget. Runs go through the same store (--out/runs, lock, --resume) and executors (local or
 * `--queue`) as `bench`. Writes tune.json, tune.csv, one SVG per hyperparameter (metric against its
 * value) and report.html; prints the best point as `--set` flags and as a solverDefaults entry.
 */
import { Command } from "commander";
import os from "node:os";
import path from "node:path";
import { mulberry32 } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { resolveExperiment, runSpecKey, type RunRecord, type RunSpec } from "../experiment.js";
import { writeFileAtomic } from "../node/fsio.js";
import { localExecutor, type BenchExecutor } from "../report/bench.js";
import { renderSvg } from "../report/plots.js";
import { lowerIsBetter, mean, std } from "../report/stats.js";
import { intArg } from "./args.js";
import { openSweep, signalExitCode } from "./longrun.js";

export interface TuneFlags {
  solver: string;
  grid?: string[];
  random?: string[];
  seeds?: number;
  budgetSteps?: number;
  halving?: boolean;
  metric?: string;
  set?: string[];
  evalEvery?: number;
  queue?: string;
  out?: string;
  resume?: boolean;
  log?: string;
  quiet?: boolean;
}

interface Range {
  key: string;
  lo: number;
  hi: number;
  log: boolean;
}

/** `key=v1,v2,...` items -> [key, values]. */
export function parseGrid(items: string[]): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const it of items) {
    const i = it.indexOf("=");
    const key = i > 0 ? it.slice(0, i).trim() : "";
    const vals = i > 0 ? it.slice(i + 1).split(",").map((v) => v.trim()) : [];
    if (key === "" || vals.length === 0 || vals.some((v) => v === "")) throw new BilevelInputError(`--grid ${it}: expected key=v1,v2,... (e.g. lrX=0.01,0.1,1)`);
    if (out.some(([k]) => k === key)) throw new BilevelInputError(`--grid ${it}: '${key}' is given twice`);
    out.push([key, vals]);
  }
  return out;
}

/** `N key=lo:hi[:log] ...` -> the draw count and the ranges. */
export function parseRandom(items: string[]): { n: number; ranges: Range[] } {
  const [first, ...rest] = items;
  const n = Number(first);
  if (!Number.isInteger(n) || n < 1) throw new BilevelInputError(`--random ${items.join(" ")}: expected a positive number of draws first, e.g. --random 8 lrX=1e-3:1:log`);
  if (rest.length === 0) throw new BilevelInputError(`--random ${items.join(" ")}: expected at least one range key=lo:hi[:log] after the count`);
  const ranges = rest.map((it): Range => {
    const m = /^([^=]+)=([^:]+):([^:]+)(:log)?$/.exec(it);
    const lo = m ? Number(m[2]) : NaN;
    const hi = m ? Number(m[3]) : NaN;
    const log = !!m?.[4];
    if (!m || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi) || (log && !(lo > 0))) {
      throw new BilevelInputError(`--random ${it}: expected key=lo:hi or key=lo:hi:log with numbers lo < hi (lo > 0 for log)`);
    }
    return { key: m[1].trim(), lo, hi, log };
  });
  return { n, ranges };
}

/** Every point: the grid's cartesian product, each joined with every random draw. */
export function tunePoints(grid: [string, string[]][], random?: { n: number; ranges: Range[] }): Record<string, string>[] {
  let pts: Record<string, string>[] = [{}];
  for (const [k, vals] of grid) pts = pts.flatMap((p) => vals.map((v) => ({ ...p, [k]: v })));
  if (random) {
    const rand = mulberry32(0x7e57);
    const draws: Record<string, string>[] = [];
    for (let i = 0; i < random.n; i++) {
      const d: Record<string, string> = {};
      for (const r of random.ranges) {
        const u = rand();
        const v = r.log ? Math.exp(Math.log(r.lo) + u * (Math.log(r.hi) - Math.log(r.lo))) : r.lo + u * (r.hi - r.lo);
        d[r.key] = String(Number(v.toPrecision(4)));
      }
      draws.push(d);
    }
    pts = pts.flatMap((p) => draws.map((d) => ({ ...p, ...d })));
  }
  return pts;
}

/** One evaluated point at one budget. */
export interface TunePoint {
  set: Record<string, string>;
  steps: number;
  /** Mean and sample std of the metric over the seeds with a finite value; `ok` of them. */
  mean: number;
  std: number;
  ok: number;
  seeds: number;
  finals: number[];
}

const score = (p: TunePoint, lower: boolean) => (p.ok < p.seeds || !Number.isFinite(p.mean) ? Infinity : lower ? p.mean : -p.mean);

export async function tuneCommand(task: string, f: TuneFlags, argv: string[], parseSets: (items: string[]) => Record<string, string>): Promise<number> {
  const grid = parseGrid(f.grid ?? []);
  const random = f.random ? parseRandom(f.random) : undefined;
  if (grid.length === 0 && !random) throw new BilevelInputError("tune: give at least one --grid key=v1,v2,... or --random N key=lo:hi[:log]");
  const base = parseSets(f.set ?? []);
  const points = tunePoints(grid, random);
  const seeds = f.seeds ?? 3;
  // one-line errors for unknown keys and ill-typed values, before any run
  const ex = resolveExperiment({ task, solver: f.solver, steps: f.budgetSteps, set: { ...base, ...points[0] } });
  for (const p of points) resolveExperiment({ task, solver: f.solver, steps: f.budgetSteps, set: { ...base, ...p } });
  const full = ex.steps;
  const rungs = f.halving ? Math.max(1, Math.ceil(Math.log2(points.length)) + 1) : 1;
  const budgets = Array.from({ length: rungs }, (_, r) => Math.max(1, Math.round(full / 2 ** (rungs - 1 - r))));

  const out = f.out ?? `tune-${task}-${ex.solver.name}`;
  const sweep = await openSweep(out, f);
  const { store, log, sig } = sweep;
  const execute: BenchExecutor = sweep.execute ?? localExecutor();
  const done = sweep.done ?? new Map<string, RunRecord>();
  const say = (s: string) => !f.quiet && process.stderr.write(`${s}\n`);
  const specOf = (set: Record<string, string>, steps: number, seed: number): RunSpec => ({
    task,
    solver: ex.solver.name,
    seed,
    set: { ...base, ...set },
    steps,
    ...(f.evalEvery !== undefined ? { evalEvery: f.evalEvery } : {}),
  });
  let metric = f.metric;
  const evaluated: TunePoint[] = [];
  try {
    let alive = points;
    for (let r = 0; r < rungs; r++) {
      const steps = budgets[r];
      const specs = alive.flatMap((p) => Array.from({ length: seeds }, (_, s) => specOf(p, steps, s)));
      const missing = specs.filter((s) => !done.has(runSpecKey(s)));
      say(`tune ${task}/${ex.solver.name}: ${alive.length} points x ${seeds} seeds at ${steps} steps${rungs > 1 ? ` (rung ${r + 1}/${rungs})` : ""}, ${missing.length} runs to do`);
      for await (const { spec, record } of execute(missing, { signal: sig.signal })) {
        const k = runSpecKey(spec);
        if (done.has(k)) continue;
        done.set(k, record);
        store.put(spec, record);
        if (log) for (const h of record.history) log.write({ task, solver: spec.solver, seed: spec.seed, set: spec.set, ...h, steps: record.steps });
        say(`  ${Object.entries(spec.set).map(([a, b]) => `${a}=${b}`).join(" ")} seed ${spec.seed}: ${record.status}`);
      }
      if (specs.some((s) => !done.has(runSpecKey(s)))) {
        const s = sig.received() ?? "SIGINT";
        process.stderr.write(`bilevel: ${s}: stopped; ${done.size} finished runs are stored in ${out}/runs; continue with --resume\n`);
        return signalExitCode(s);
      }
      if (metric === undefined) {
        const first = done.get(runSpecKey(specs[0]))!;
        const keys = Object.keys(first.final);
        metric = ["distanceToOptimum", "testAccuracy", "valLoss"].find((m) => keys.includes(m)) ?? "upper";
      }
      const m = metric;
      const rung: TunePoint[] = alive.map((p) => {
        const finals = Array.from({ length: seeds }, (_, s) => done.get(runSpecKey(specOf(p, steps, s)))!).map((rec) => {
          if (!(m in rec.final)) throw new BilevelInputError(`--metric ${m}: task ${task} does not report it (it reports: ${Object.keys(rec.final).join(", ")})`);
          return rec.status === "diverged" ? NaN : rec.final[m];
        });
        const ok = finals.filter(Number.isFinite);
        return { set: p, steps, mean: mean(ok), std: std(ok), ok: ok.length, seeds, finals };
      });
      evaluated.push(...rung);
      const lower = lowerIsBetter(m);
      rung.sort((a, b) => score(a, lower) - score(b, lower));
      alive = rung.slice(0, Math.max(1, Math.ceil(rung.length / 2))).map((p) => p.set);
    }
    const m = metric!;
    const lower = lowerIsBetter(m);
    const last = evaluated.filter((p) => p.steps === budgets[rungs - 1]).sort((a, b) => score(a, lower) - score(b, lower));
    const best = last[0];
    const written = await writeTune(out, { task, solver: ex.solver.name, metric: m, lowerIsBetter: lower, seeds, budgets, grid, random, best, points: evaluated, command: ["bilevel", ...argv].join(" ") });
    const setForm = Object.entries(best.set).map(([k, v]) => `--set ${k}=${v}`).join(" ");
    const defaults = `{ ${Object.entries(best.set).map(([k, v]) => `${k}: ${Number.isFinite(Number(v)) && v !== "" ? v : JSON.stringify(v)}`).join(", ")} }`;
    const fmt = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v));
    process.stdout.write(
      [
        `best ${ex.solver.name} on ${task} by ${m} (${lower ? "lower" : "higher"} is better), mean ± std over ${seeds} seeds at ${best.steps} steps:`,
        `  ${m} ${fmt(best.mean)} ± ${fmt(best.std)}${best.ok < seeds ? ` (${seeds - best.ok} runs failed)` : ""}`,
        `  ${setForm}`,
        `  solverDefaults: ${ex.solver.name}: ${defaults}`,
        `wrote ${written.length} files to ${out} (open ${path.join(out, "report.html")})`,
      ].join("\n") + "\n",
    );
    return best.ok === 0 ? 1 : 0;
  } finally {
    await sweep.close();
  }
}

interface TuneReport {
  task: string;
  solver: string;
  metric: string;
  lowerIsBetter: boolean;
  seeds: number;
  budgets: number[];
  grid: [string, string[]][];
  random?: { n: number; ranges: Range[] };
  best: TunePoint;
  points: TunePoint[];
  command: string;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** tune.json, tune.csv, <key>.svg per hyperparameter, report.html; all written atomically. */
async function writeTune(out: string, rep: TuneReport): Promise<string[]> {
  const keys = [...rep.grid.map(([k]) => k), ...(rep.random?.ranges.map((r) => r.key) ?? [])].filter((k, i, a) => a.indexOf(k) === i);
  const files: string[] = [];
  const put = (name: string, text: string) => {
    const f = path.join(out, name);
    writeFileAtomic(f, text);
    files.push(f);
  };
  put("tune.json", JSON.stringify({ ...rep, machine: { host: os.hostname(), cpus: os.cpus().length, loadAverage: os.loadavg() } }, null, 2) + "\n");
  const header = [...keys, "steps", `${rep.metric}_mean`, `${rep.metric}_std`, "ok", "seeds"];
  const rows = rep.points.map((p) => [...keys.map((k) => p.set[k] ?? ""), p.steps, p.mean, p.std, p.ok, p.seeds].join(","));
  put("tune.csv", [header.join(","), ...rows].join("\n") + "\n");
  const svgs: { key: string; svg: string }[] = [];
  for (const key of keys) {
    const numeric = rep.points.every((p) => Number.isFinite(Number(p.set[key])));
    const vals = rep.points.map((p) => Number(p.set[key]));
    const logX = numeric && vals.every((v) => v > 0) && Math.max(...vals) / Math.min(...vals) > 20;
    const values = rep.points.filter((p) => Number.isFinite(p.mean)).map((p) => ({ x: numeric ? Number(p.set[key]) : p.set[key], mean: p.mean, lo: p.mean - p.std, hi: p.mean + p.std, steps: String(p.steps) }));
    const x = { field: "x", type: numeric ? "quantitative" : "nominal", title: key, ...(logX ? { scale: { type: "log" } } : {}) };
    const spec = {
      width: 380,
      height: 220,
      title: { text: `${rep.task} / ${rep.solver}: ${rep.metric} vs ${key}`, subtitle: `mean ± std over ${rep.seeds} seeds; color = steps` },
      data: { values },
      layer: [
        { mark: { type: "rule" }, encoding: { x, y: { field: "lo", type: "quantitative", title: rep.metric, scale: { zero: false } }, y2: { field: "hi" }, color: { field: "steps", type: "nominal" } } },
        { mark: { type: "point", filled: true, size: 50 }, encoding: { x, y: { field: "mean", type: "quantitative", title: rep.metric }, color: { field: "steps", type: "nominal", title: "steps" } } },
      ],
      config: { font: "sans-serif", background: "white" },
    };
    const svg = await renderSvg(spec as never);
    put(`${key.replace(/[^\w.-]/g, "_")}.svg`, svg.endsWith("\n") ? svg : svg + "\n");
    svgs.push({ key, svg });
  }
  const fmt = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : "—");
  const sorted = [...rep.points].sort((a, b) => b.steps - a.steps || score(a, rep.lowerIsBetter) - score(b, rep.lowerIsBetter));
  const tr = sorted
    .map((p) => `<tr${p === rep.best ? ' class="best"' : ""}>${keys.map((k) => `<td>${esc(p.set[k] ?? "")}</td>`).join("")}<td>${p.steps}</td><td>${fmt(p.mean)} ± ${fmt(p.std)}</td><td>${p.ok}/${p.seeds}</td></tr>`)
    .join("\n");
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>tune ${esc(rep.task)} / ${esc(rep.solver)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}tr.best{background:#e6f4e6;font-weight:bold}code{background:#f4f4f4;padding:.1em .3em}</style></head><body>
<h1>tune ${esc(rep.task)} / ${esc(rep.solver)}</h1>
<p><code>${esc(rep.command)}</code></p>
<p>Best by ${esc(rep.metric)} (${rep.lowerIsBetter ? "lower" : "higher"} is better), mean ± std over ${rep.seeds} seeds at ${rep.best.steps} steps: <b>${fmt(rep.best.mean)} ± ${fmt(rep.best.std)}</b> with <code>${esc(Object.entries(rep.best.set).map(([k, v]) => `--set ${k}=${v}`).join(" "))}</code>.</p>
<p>Budgets (steps per run): ${rep.budgets.join(", ")}${rep.budgets.length > 1 ? " (successive halving: the better half of each rung goes on)" : ""}.</p>
<table><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}<th>steps</th><th>${esc(rep.metric)}</th><th>finite</th></tr>
${tr}
</table>
${svgs.map((s) => `<h2>${esc(rep.metric)} vs ${esc(s.key)}</h2>\n${s.svg}`).join("\n")}
</body></html>
`;
  put("report.html", html);
  return files;
}

export function registerTuneCommand(program: Command, setCode: (code: number) => void, argv: string[], parseSets: (items: string[]) => Record<string, string>): void {
  program
    .command("tune")
    .description("grid / random search (optional successive halving) of one solver's hyperparameters on a task; locally or on a --queue")
    .argument("<task>", "task name (see `bilevel list`)")
    .requiredOption("--solver <name>", "solver name")
    .option("--grid <key=v1,v2,...>", "values of one hyperparameter (repeatable: the cartesian product)", (v: string, acc: string[] = []) => [...acc, v])
    .option("--random <N key=lo:hi...>", "N seeded random draws from ranges key=lo:hi (uniform) or key=lo:hi:log (log-uniform)")
    .option("--seeds <K>", "seeds 0..K-1 per point (default 3)", intArg("seeds", 1))
    .option("--budget-steps <N>", "steps per run at the full budget (default: the solver's tuned steps for the task)", intArg("budget-steps", 1))
    .option("--halving", "successive halving: all points at a small budget, the better half at twice that, ... up to the full budget")
    .option("--metric <name>", "score by this final metric (default: the task's main metric)")
    .option("--set <key=value...>", "fixed option for every point")
    .option("--eval-every <N>", "evaluate every N steps", intArg("eval-every", 1))
    .option("--queue <redis://host:port/db>", "run the points on `bilevel worker`s")
    .option("--out <DIR>", "output directory (default tune-<task>-<solver>)")
    .option("--resume", "reuse the runs stored in --out/runs")
    .option("--log <FILE.jsonl>", "one JSON object per evaluation of every finished run")
    .option("--quiet", "no progress lines")
    .action(async (task: string, f: TuneFlags) => {
      setCode(await tuneCommand(task, f, argv, parseSets));
    });
}
