/**
 * Bench outputs: `results.json` (every run record + machine facts), `results.csv` (one row per
 * solver / seed / evaluation point), one SVG per plot, and a self-contained `report.html` (inline CSS
 * and SVG, no external URLs).
 */
import path from "node:path";
import { probeWritableDir, writeFileAtomic } from "../node/fsio.js";
import type { BenchResult } from "./bench.js";
import { benchPlots, PLOTS_NEED, type Plot } from "./plots.js";
import { lowerIsBetter, metricColumns, plotMetrics, reached, summarize } from "./stats.js";

const CSV_FIXED = ["solver", "seed", "step", "seconds", "upper", "lower"];

/** The CSV header: solver, seed, step, seconds, upper, lower, then every task metric. */
export function csvHeader(bench: BenchResult): string[] {
  return [...CSV_FIXED, ...metricColumns(bench.runs)];
}

const csvField = (v: unknown): string => {
  if (v === undefined || v === null) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One row per solver / seed / evaluation point. */
export function toCsv(bench: BenchResult): string {
  const header = csvHeader(bench);
  const lines = [header.join(",")];
  for (const r of bench.runs) {
    for (const h of r.history) {
      const row: Record<string, unknown> = { ...h, solver: r.solver, seed: r.seed };
      lines.push(header.map((k) => csvField(row[k])).join(","));
    }
  }
  return lines.join("\n") + "\n";
}

export const toJson = (bench: BenchResult, command?: string): string =>
  JSON.stringify({ ...(command !== undefined ? { command } : {}), ...bench }, null, 2) + "\n";

// ---- HTML ----------------------------------------------------------------------------------------

export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Four significant digits; exponent form for very small or large values. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  // Four significant digits without trailing zeros: 0.01, 2.499, 1.401e-3.
  return a < 1e-3 || a >= 1e5 ? Number(v.toExponential(3)).toExponential() : String(Number(v.toPrecision(4)));
}

/** Two significant digits (for spreads). */
export function fmt2(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e5 ? Number(v.toExponential(1)).toExponential() : String(Number(v.toPrecision(2)));
}

const pm = (m: { mean: number; std: number; n?: number }, runs?: number): string => {
  if (!Number.isFinite(m.mean)) return "–";
  const s = `${fmt(m.mean)} ± ${fmt2(m.std)}`;
  return runs !== undefined && m.n !== undefined && m.n < runs ? `${s} <span class="note">(${m.n}/${runs} finite)</span>` : s;
};

/** Inline an SVG in HTML: drop the XML namespace attributes (HTML parsers add them). */
export const inlineSvg = (svg: string): string => svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, "");

export const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.86em}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right;vertical-align:top;white-space:nowrap}
td.l{white-space:normal}td.s{text-align:left}.wide{overflow-x:auto;max-width:100%}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
td.l,th.l{text-align:left}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}
pre{background:#f6f6f6;padding:8px 10px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots figure{margin:0;border:1px solid #eee;padding:6px}
.plots figcaption{font-size:.8em;color:#666}
.note{color:#777;font-size:.85em}.bad{color:#b00}
`;

export interface ReportOptions {
  /** The exact command line that produced the bench. */
  command?: string;
}

/** The self-contained HTML report. */
export function toHtml(bench: BenchResult, plots: Plot[], opts: ReportOptions = {}): string {
  const sums = summarize(bench);
  const keys = ["upper", "lower", ...metricColumns(bench.runs)];
  const main = plotMetrics(bench.runs);
  const h: string[] = [];
  h.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`);
  h.push(`<title>bilevel bench: ${esc(bench.task)}</title><style>${CSS}</style></head><body>`);
  h.push(`<h1>bilevel bench: ${esc(bench.task)}</h1>`);
  const stepsDesc = [...new Set(Object.values(bench.steps))].length === 1 ? String(Object.values(bench.steps)[0]) : bench.solvers.map((s) => `${s} ${bench.steps[s]}`).join(", ");
  h.push(
    `<p>${bench.solvers.length} solvers × ${bench.seeds} seed${bench.seeds > 1 ? "s" : ""} (0..${bench.seeds - 1}), ${esc(stepsDesc)} outer steps` +
      `${bench.timeLimit !== undefined ? `, time limit ${fmt(bench.timeLimit)} s per run` : ""}; bench wall time ${fmt(bench.wallSeconds)} s; ${esc(bench.machine.date)}.</p>`,
  );
  if (opts.command) h.push(`<pre>${esc(opts.command)}</pre>`);

  // Final metrics.
  h.push(`<h2>Final metrics (mean ± std over seeds)</h2><div class="wide"><table><thead><tr><th>solver</th><th>status</th><th>steps</th><th>ms/step</th><th>wall s</th>`);
  for (const k of keys) h.push(`<th>${esc(k)}${lowerIsBetter(k) ? " ↓" : main.includes(k) || /acc|f1|auc|precision|recall/i.test(k) ? " ↑" : ""}</th>`);
  h.push(`</tr></thead><tbody>`);
  for (const s of sums) {
    const st = Object.entries(s.statuses)
      .map(([k, n]) => `<span class="${k === "diverged" ? "bad" : ""}">${n} ${esc(k)}</span>`)
      .join(", ");
    h.push(`<tr><td>${esc(s.solver)}</td><td class="s">${st}</td><td>${pm(s.stepsTaken)}</td><td>${pm(s.msPerStep)}</td><td>${pm(s.wallSeconds)}</td>`);
    for (const k of keys) h.push(`<td>${pm(s.final[k], s.runs)}</td>`);
    h.push(`</tr>`);
  }
  h.push(`</tbody></table></div>`);
  h.push(`<p class="note">ms/step and seconds are solver time (evaluations excluded; the first steps include jit compilation). ↓ lower is better, ↑ higher is better.</p>`);

  // Time to target.
  if (bench.target) {
    const t = bench.target;
    const dir = lowerIsBetter(t.metric) ? "≤" : "≥";
    h.push(`<h2>Time to reach ${esc(t.metric)} ${dir} ${esc(fmt(t.value))}</h2>`);
    const withQ = sums.some((s) => s.target?.queries !== undefined);
    h.push(`<table><thead><tr><th>solver</th><th>seeds that reached it</th><th>seconds (mean over those)</th><th>step (mean over those)</th>${withQ ? "<th>queries (mean ± std over those)</th>" : ""}</tr></thead><tbody>`);
    for (const s of sums) {
      const tg = s.target!;
      const has = tg.reached > 0;
      const q = withQ ? `<td>${tg.queries ? `${fmt(tg.queries.mean)} ± ${fmt(tg.queries.std)}` : "–"}</td>` : "";
      h.push(
        `<tr><td>${esc(s.solver)}</td><td>${tg.reached}/${s.runs}</td><td>${has ? fmt(tg.seconds) : "not reached"}</td><td>${has ? fmt(tg.step) : "–"}</td>${q}</tr>`,
      );
    }
    h.push(`</tbody></table><p class="note">The first evaluation point at or past the target; evaluation points are the CSV rows.</p>`);
  }

  // Plots.
  h.push(`<h2>Plots</h2><div class="plots">`);
  for (const p of plots) h.push(`<figure>${inlineSvg(p.svg)}<figcaption>${esc(p.file)}</figcaption></figure>`);
  h.push(`</div>`);

  // Per run.
  h.push(`<h2>Runs</h2><div class="wide"><table><thead><tr><th>solver</th><th>seed</th><th class="l">status</th><th>steps</th><th>ms/step</th><th>wall s</th>`);
  for (const k of main) h.push(`<th>${esc(k)}</th>`);
  if (bench.target) h.push(`<th>reached target at (s / step)</th>`);
  h.push(`</tr></thead><tbody>`);
  for (const r of bench.runs) {
    h.push(`<tr><td>${esc(r.solver)}</td><td>${r.seed}</td><td class="l${r.status === "diverged" ? " bad" : ""}">${esc(r.status)}${r.error ? `: ${esc(r.error)}` : ""}</td>`);
    h.push(`<td>${r.stepsTaken}/${r.steps}</td><td>${fmt(r.msPerStep)}</td><td>${fmt(r.wallSeconds)}</td>`);
    for (const k of main) h.push(`<td>${typeof r.final[k] === "number" ? fmt(r.final[k]) : "–"}</td>`);
    if (bench.target) {
      const hit = reached(r, bench.target);
      h.push(`<td>${hit ? `${fmt(hit.seconds)} / ${hit.step}` : "not reached"}</td>`);
    }
    h.push(`</tr>`);
  }
  h.push(`</tbody></table></div>`);

  // Options.
  h.push(`<h2>Effective options (seed 0)</h2><table><thead><tr><th>solver</th><th class="l">options</th></tr></thead><tbody>`);
  for (const s of bench.solvers) {
    const r = bench.runs.find((x) => x.solver === s);
    const o = r ? Object.entries(r.options).map(([k, v]) => `${k}=${v}`).join(" ") : "";
    h.push(`<tr><td>${esc(s)}</td><td class="l"><code>${esc(o)}</code></td></tr>`);
  }
  h.push(`</tbody></table>`);
  if (Object.keys(bench.set).length) {
    h.push(`<p>--set: <code>${esc(Object.entries(bench.set).map(([k, v]) => `${k}=${v}`).join(" "))}</code></p>`);
  }

  // Machine and packages.
  const m = bench.machine;
  const eng = bench.runs[0]?.engine;
  h.push(`<h2>Machine</h2><table><tbody>`);
  const rows: [string, string][] = [
    ["date", m.date],
    ["node", m.node],
    ["platform", m.platform],
    ["CPU", `${m.cpus} × ${m.cpuModel}`],
    ["memory", `${m.memoryGiB} GiB`],
    ["load average (1, 5, 15 min) at start", m.loadAverage.join(", ")],
    ["bilevel", m.bilevel],
    ["jax-js", m.jax],
  ];
  if (eng) rows.push(["engine", `${eng.device}, ${eng.dtype}, ${eng.threads} thread${eng.threads > 1 ? "s" : ""}`]);
  for (const [k, v] of rows) h.push(`<tr><th class="l">${esc(k)}</th><td class="l">${esc(v)}</td></tr>`);
  h.push(`</tbody></table><h2>Package versions</h2><table><thead><tr><th>package</th><th class="l">version</th></tr></thead><tbody>`);
  for (const [k, v] of Object.entries(m.packages)) h.push(`<tr><td>${esc(k)}</td><td class="l">${esc(v)}</td></tr>`);
  h.push(`</tbody></table>`);
  h.push(`<p class="note">Files: results.json (run records), results.csv (evaluation points), ${plots.map((p) => esc(p.file)).join(", ")}.</p>`);
  if (plots.length === 0) h.push(`<p class="note">No plots: ${esc(PLOTS_NEED)}.</p>`);
  h.push(`</body></html>\n`);
  return h.join("\n");
}

export interface WrittenBench {
  dir: string;
  files: string[];
}

/**
 * Write results.json, results.csv, the SVG plots and report.html into `dir` (created if missing;
 * checked with `probeWritableDir`, as `bilevel bench` does before any run). Every file is written
 * atomically: a failed write leaves the earlier file of that name intact.
 */
export async function writeBench(bench: BenchResult, dir: string, opts: ReportOptions = {}): Promise<WrittenBench> {
  probeWritableDir(dir, "--out");
  const plots = await benchPlots(bench);
  const files: string[] = [];
  const put = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileAtomic(f, text, "--out");
    files.push(f);
  };
  put("results.json", toJson(bench, opts.command));
  put("results.csv", toCsv(bench));
  for (const p of plots) put(p.file, p.svg.endsWith("\n") ? p.svg : p.svg + "\n");
  put("report.html", toHtml(bench, plots, opts));
  return { dir, files };
}
