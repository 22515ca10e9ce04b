/**
 * The results page of the real tasks (`npm run results`, docs/results.md): from committed bench results
 * (`bilevel bench` output under bench/results/tasks/<task>/) and baselines (bench/results/baselines/
 * <task>.json, bench/baselines.ts) it builds the leaderboard (per task: every solver's final metric with
 * its mean and 95% t-interval over seeds, the best solver, the best baseline) and a static HTML page,
 * one section per task, with a convergence plot against solver seconds. Missing data reads "not run".
 * A solver "beats" the baseline only when both intervals are disjoint and it is on the better side.
 */
import type { RunRecord } from "../experiment.js";
import { ci95 } from "../tasks/stats.js";
import type { BenchResult } from "./bench.js";
import { plotSpec, renderSvg } from "./plots.js";
import { CSS, esc, fmt, fmt2, inlineSvg } from "./write.js";

/** A baseline as bench/baselines.ts writes it. */
export interface BaselineEntry {
  name: string;
  description: string;
  oracle: boolean;
  seeds: number[];
  values: number[];
  mean: number;
  ci: number;
}

/** One file of bench/results/baselines. */
export interface BaselinesFile {
  task: string;
  metric: string;
  higherIsBetter: boolean;
  seeds: number[];
  baselines: BaselineEntry[];
  machine?: Record<string, unknown>;
}

/** A task of the page: which metric ranks, and its direction. */
export interface ResultsTask {
  task: string;
  metric: string;
  higherIsBetter: boolean;
  /** The task's doc, linked from its section (relative to docs/results/). */
  doc?: string;
}

/** Mean and 95% interval half-width. */
export interface Interval {
  mean: number;
  ci: number;
}

/** One leaderboard entry, exactly the schema of bench/results/leaderboard.json. */
export interface LeaderboardEntry {
  task: string;
  metric: string;
  higherIsBetter: boolean;
  best: ({ solver: string } & Interval) | null;
  baseline: ({ name: string } & Interval) | null;
  solvers: ({ solver: string; seeds: number } & Interval)[];
}

/** Runs of several benches of one task merged: a later bench's (solver, seed) replaces an earlier one. */
export function mergeBenches(benches: BenchResult[]): BenchResult | null {
  if (benches.length === 0) return null;
  const byKey = new Map<string, RunRecord>();
  const solvers: string[] = [];
  for (const b of benches) {
    for (const r of b.runs) {
      byKey.set(`${r.solver}\u0000${r.seed}`, r);
      if (!solvers.includes(r.solver)) solvers.push(r.solver);
    }
  }
  const runs = solvers.flatMap((s) => [...byKey.values()].filter((r) => r.solver === s).sort((a, b) => a.seed - b.seed));
  const seeds = Math.max(0, ...solvers.map((s) => runs.filter((r) => r.solver === s).length));
  const last = benches[benches.length - 1];
  return { ...last, solvers, seeds, runs, steps: Object.assign({}, ...benches.map((b) => b.steps)), wallSeconds: benches.reduce((a, b) => a + b.wallSeconds, 0) };
}

/** A run that ended as planned: all its steps, or stopped by the bench's time budget (not diverged). */
export const finished = (r: RunRecord): boolean => r.status === "completed" || r.status === "time-limit";

/** Final values of `metric` per solver: finished runs with a finite value, one per seed. */
export function solverFinals(bench: BenchResult | null, metric: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!bench) return out;
  for (const s of bench.solvers) {
    const v = bench.runs.filter((r) => r.solver === s && finished(r)).map((r) => r.final[metric]).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
    out.set(s, v);
  }
  return out;
}

const better = (hi: boolean, a: number, b: number) => (hi ? a > b : a < b);

/** True when a's interval lies entirely on the better side of b's (disjoint intervals). */
export function beats(a: Interval, b: Interval, higherIsBetter: boolean): boolean {
  return higherIsBetter ? a.mean - a.ci > b.mean + b.ci : a.mean + a.ci < b.mean - b.ci;
}

/** The leaderboard entry of one task (best = best mean over solvers with at least one finite final value). */
export function leaderboardEntry(t: ResultsTask, bench: BenchResult | null, baselines: BaselinesFile | null): LeaderboardEntry {
  const solvers: LeaderboardEntry["solvers"] = [];
  for (const [solver, v] of solverFinals(bench, t.metric)) {
    if (v.length === 0) continue;
    const { mean, ci } = ci95(v);
    solvers.push({ solver, mean, ci, seeds: v.length });
  }
  solvers.sort((a, b) => (better(t.higherIsBetter, a.mean, b.mean) ? -1 : better(t.higherIsBetter, b.mean, a.mean) ? 1 : 0));
  const best = solvers.length ? { solver: solvers[0].solver, mean: solvers[0].mean, ci: solvers[0].ci } : null;
  let baseline: LeaderboardEntry["baseline"] = null;
  for (const b of baselines?.baselines ?? []) {
    if (!Number.isFinite(b.mean)) continue;
    if (!baseline || better(t.higherIsBetter, b.mean, baseline.mean)) baseline = { name: b.name, mean: b.mean, ci: b.ci };
  }
  return { task: t.task, metric: t.metric, higherIsBetter: t.higherIsBetter, best, baseline, solvers };
}

/** The one-sentence verdict of a task's section. */
export function verdict(e: LeaderboardEntry): string {
  if (!e.best && !e.baseline) return "Not run: no bench results and no baselines committed.";
  if (!e.best) return `Not run: no bench results committed (best baseline ${e.baseline!.name}, ${fmt(e.baseline!.mean)} ± ${fmt2(e.baseline!.ci)}).`;
  const w = `${e.best.solver} ${fmt(e.best.mean)} ± ${fmt2(e.best.ci)}`;
  if (!e.baseline) return `Best solver ${w}; no baseline committed, so no comparison.`;
  const n = e.solvers.find((s) => s.solver === e.best!.solver)?.seeds ?? 0;
  if (n < 2) return `Best solver ${e.best.solver} ${fmt(e.best.mean)} on ${n} seed: no interval, so no verdict against ${e.baseline.name} ${fmt(e.baseline.mean)} ± ${fmt2(e.baseline.ci)}.`;
  const b = `${e.baseline.name} ${fmt(e.baseline.mean)} ± ${fmt2(e.baseline.ci)}`;
  if (beats(e.best, e.baseline, e.higherIsBetter)) return `${w} beats the best baseline, ${b} (95% intervals disjoint).`;
  if (beats(e.baseline, e.best, e.higherIsBetter)) return `${w} does NOT beat the best baseline: ${b} is better (95% intervals disjoint).`;
  return `${w} does not beat the best baseline, ${b}: the 95% intervals overlap (no significant difference).`;
}

/** Everything the page shows for one task. */
export interface TaskResults {
  task: ResultsTask;
  bench: BenchResult | null;
  baselines: BaselinesFile | null;
  /** Where the bench results were read from (relative paths, for the page). */
  sources: string[];
  /** Longer runs of some solvers (bench directories named long-*): shown in their own table, not ranked. */
  long?: { bench: BenchResult; source: string }[];
}

/** The leaderboard of every task (leaderboard.json's content). */
export function leaderboard(tasks: TaskResults[]): LeaderboardEntry[] {
  return tasks.map((t) => leaderboardEntry(t.task, t.bench, t.baselines));
}

/** The convergence plot of one task (metric vs solver seconds, baselines as dashed rules), or null without vega or data. */
async function convergencePlot(t: TaskResults, e: LeaderboardEntry): Promise<string | null> {
  if (!t.bench || t.bench.runs.length === 0) return null;
  const spec = plotSpec(t.bench, t.task.metric, "seconds") as { layer: unknown[] };
  if (e.baseline) {
    spec.layer.push({
      data: { values: [{ y: e.baseline.mean, label: `baseline: ${e.baseline.name}` }] },
      mark: { type: "rule", strokeDash: [6, 4], color: "#555" },
      encoding: { y: { field: "y", type: "quantitative" } },
    });
  }
  try {
    return await renderSvg(spec);
  } catch {
    return null;
  }
}

const ci = (m: Interval) => (Number.isFinite(m.mean) ? `${fmt(m.mean)} ± ${fmt2(m.ci)}` : "–");

/** The static results page (self-contained: inline CSS and SVG). */
export async function resultsHtml(tasks: TaskResults[], entries: LeaderboardEntry[], opts: { generated: string; command: string }): Promise<string> {
  const h: string[] = [];
  h.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`);
  h.push(`<title>bilevel: results on real tasks</title><style>${CSS}</style></head><body>`);
  h.push(`<h1>Results on real tasks</h1>`);
  h.push(
    `<p>Generated by <code>${esc(opts.command)}</code> from the committed bench results (bench/results/tasks/&lt;task&gt;/results.json) and baselines (bench/results/baselines/&lt;task&gt;.json); machine-readable: bench/results/leaderboard.json. Every number is a mean over seeds with a 95% Student-t interval (± half-width). A solver beats a baseline only when the two intervals are disjoint. Times are solver seconds on a shared 2-core machine (load average in each bench's results.json): comparable within a plot, not benchmark figures.</p>`,
  );
  h.push(`<h2>Summary</h2><table><thead><tr><th>task</th><th>metric</th><th>best solver</th><th>best baseline</th><th class="l">verdict</th></tr></thead><tbody>`);
  for (const e of entries) {
    const arrow = e.higherIsBetter ? "↑" : "↓";
    h.push(
      `<tr><td><a href="#${esc(e.task)}">${esc(e.task)}</a></td><td>${esc(e.metric)} ${arrow}</td><td>${e.best ? `${esc(e.best.solver)} ${ci(e.best)}` : "not run"}</td><td>${e.baseline ? `${esc(e.baseline.name)} ${ci(e.baseline)}` : "not run"}</td><td class="l">${esc(verdict(e))}</td></tr>`,
    );
  }
  h.push(`</tbody></table>`);
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    const e = entries[i];
    h.push(`<h2 id="${esc(e.task)}">${esc(e.task)}</h2>`);
    if (t.task.doc) h.push(`<p class="note">Task notes: <a href="${esc(t.task.doc)}">${esc(t.task.doc)}</a></p>`);
    h.push(`<p><b>${esc(verdict(e))}</b></p>`);
    h.push(`<table><thead><tr><th>method</th><th>${esc(e.metric)} ${e.higherIsBetter ? "↑" : "↓"} (mean ± 95% CI)</th><th>seeds</th><th class="l">notes</th></tr></thead><tbody>`);
    const extra = t.bench ? extraColumns(t.bench) : new Map<string, string>();
    const runsOf = (s: string) => t.bench?.runs.filter((r) => r.solver === s) ?? [];
    for (const s of e.solvers) {
      const rs = runsOf(s.solver);
      const bad = rs.filter((r) => !finished(r)).length;
      const note = [extra.get(s.solver) ?? "", bad ? `${bad} run(s) diverged (left out)` : ""].filter(Boolean).join("; ");
      h.push(`<tr><td>${esc(s.solver)}</td><td>${ci(s)}</td><td>${s.seeds}</td><td class="l">${esc(note)}</td></tr>`);
    }
    for (const s of t.bench?.solvers ?? []) {
      if (e.solvers.some((x) => x.solver === s)) continue;
      const rs = runsOf(s);
      const diverged = rs.filter((r) => r.status === "diverged").length;
      const why = diverged ? `diverged in ${diverged} of ${rs.length} run(s): ${rs.find((r) => r.status === "diverged")?.error ?? ""}` : `no finished run with a finite ${e.metric}`;
      h.push(`<tr><td>${esc(s)}</td><td>–</td><td>0</td><td class="l">${esc(why)}</td></tr>`);
    }
    if (e.solvers.length === 0 && !(t.bench?.solvers.length)) h.push(`<tr><td>solvers</td><td>not run</td><td>0</td><td class="l">no bench results committed</td></tr>`);
    for (const b of t.baselines?.baselines ?? []) {
      h.push(`<tr><td>baseline: ${esc(b.name)}</td><td>${ci(b)}</td><td>${b.values.length}</td><td class="l">${esc(b.description)}</td></tr>`);
    }
    if (!t.baselines) h.push(`<tr><td>baselines</td><td>not run</td><td>0</td><td class="l">no baselines committed</td></tr>`);
    h.push(`</tbody></table>`);
    const svg = await convergencePlot(t, e);
    if (svg) h.push(`<div class="plots"><figure>${inlineSvg(svg)}<figcaption>${esc(e.metric)} vs solver seconds: mean over seeds, band min-max; dashed: the best baseline's mean</figcaption></figure></div>`);
    else h.push(`<p class="note">No convergence plot (${t.bench ? "vega / vega-lite not installed" : "not run"}).</p>`);
    if (t.sources.length) h.push(`<p class="note">Bench results: ${t.sources.map((s) => `<code>${esc(s)}</code>`).join(", ")}.</p>`);
    for (const l of t.long ?? []) h.push(longTable(l.bench, l.source, t.task));
  }
  h.push(`<p class="note">Generated ${esc(opts.generated)}.</p></body></html>\n`);
  return h.join("\n");
}

/** A longer-budget bench of a few solvers: mean ± interval per solver with its step count, not ranked. */
function longTable(bench: BenchResult, source: string, t: ResultsTask): string {
  const rows = [...solverFinals(bench, t.metric)].filter(([, v]) => v.length > 0).map(([solver, v]) => {
    const steps = Math.max(...bench.runs.filter((r) => r.solver === solver).map((r) => r.stepsTaken));
    return `<tr><td>${esc(solver)}</td><td>${ci(ci95(v))}</td><td>${v.length}</td><td class="l">${fmt(steps)} steps, no time limit</td></tr>`;
  });
  return `<h3>Longer runs (not ranked above)</h3><table><thead><tr><th>solver</th><th>${esc(t.metric)} (mean ± 95% CI)</th><th>seeds</th><th class="l">budget</th></tr></thead><tbody>${rows.join("")}</tbody></table><p class="note">From <code>${esc(source)}</code>.</p>`;
}

/** Per solver: constraint violation (when the task reports one) and mean ms/step, as a short note. */
function extraColumns(bench: BenchResult): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of bench.solvers) {
    const rs = bench.runs.filter((r) => r.solver === s && finished(r));
    const parts: string[] = [];
    const viol = rs.map((r) => r.final.maxViolation).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    if (viol.length) parts.push(`max violation over seeds ${fmt(Math.max(...viol))}`);
    const ms = rs.map((r) => r.msPerStep).filter(Number.isFinite);
    if (ms.length) parts.push(`${fmt(ms.reduce((a, b) => a + b, 0) / ms.length)} ms/step, ${fmt(Math.max(...rs.map((r) => r.stepsTaken)))} steps`);
    out.set(s, parts.join("; "));
  }
  return out;
}

/** The real tasks of the page, in order, with the metric their baselines use. */
export const RESULT_TASKS: ResultsTask[] = [
  { task: "svm-hpo", metric: "testAccuracy", higherIsBetter: true, doc: "../tasks/svm-hpo.md" },
  { task: "hyperclean-mnist", metric: "testAccuracy", higherIsBetter: true, doc: "../tasks/hyperclean.md" },
  { task: "hyperclean-fashion", metric: "testAccuracy", higherIsBetter: true, doc: "../tasks/hyperclean.md" },
  { task: "hyperclean-imdb-rnn", metric: "testAccuracy", higherIsBetter: true, doc: "../tasks/hyperclean-imdb-rnn.md" },
  { task: "hpo-l2-imdb", metric: "testAccuracy", higherIsBetter: true, doc: "../tasks/hpo-l2-imdb.md" },
  { task: "fewshot-digits", metric: "testAccuracy", higherIsBetter: true, doc: "../tasks/fewshot-digits.md" },
  { task: "hyperrep-digits", metric: "testAccuracy", higherIsBetter: true, doc: "../tasks/hyperrep-digits.md" },
];
