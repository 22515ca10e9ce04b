/**
 * The closing numbers of the PARL-on-MuJoCo bench (bench/parl-mujoco.sh): reads the finished runs of
 * every sub-bench of bench/results/parl-mujoco-<task>/ (queries-N for aparl and pebble at N queries,
 * sac-true-reward for the ceiling) from their runs/ folders, so a bench cut short is summarised from the
 * runs it finished (marked partial), and writes summary.json, summary.md and trueReturn-vs-queries.svg
 * (mean over seeds, band min-max; the ceiling a dashed line at its final mean) next to them.
 *
 *   node dist/bench/parl-mujoco-summary.js [task] [target]   (default parl-mujoco-cartpole-swingup 250)
 *
 * Per method and budget: final true return mean ± std over seeds (sample std), the queries at the first
 * evaluation with trueReturn >= target (mean ± std over the seeds that reach it, and how many do),
 * the environment (control) steps, and the wall seconds per run.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../src/node/fsio.js";
import { renderSvg } from "../src/report/index.js";
import { mean, std } from "../src/report/stats.js";
import type { RunRecord, RunSpec } from "../src/experiment.js";

const task = process.argv[2] ?? "parl-mujoco-cartpole-swingup";
const target = Number(process.argv[3] ?? 250);
if (!Number.isFinite(target)) throw new Error(`target: expected a number, got '${process.argv[3]}'`);
const root = path.join("bench/results", task);
const SEEDS = 5;

interface Row {
  bench: string;
  method: string;
  queriesBudget: number | null;
  seeds: number[];
  partial: boolean;
  finalTrueReturn: { mean: number; std: number; values: number[] };
  bestTrueReturn: { mean: number; std: number };
  target: { value: number; reached: number; queries: { mean: number; std: number } | null; envSteps: { mean: number; std: number } | null };
  envSteps: number;
  actionRepeat: number;
  wallSeconds: { mean: number; std: number };
}

const stat = (v: number[]) => ({ mean: mean(v), std: std(v) });
const rows: Row[] = [];
const curves: { series: string; queries: number; envSteps: number; mean: number; min: number; max: number }[] = [];
for (const bench of fs.readdirSync(root).sort()) {
  const runsDir = path.join(root, bench, "runs");
  if (!fs.existsSync(runsDir)) continue;
  const runs = fs
    .readdirSync(runsDir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(fs.readFileSync(path.join(runsDir, f), "utf8")) as { spec: RunSpec; record: RunRecord });
  const ceiling = bench === "sac-true-reward";
  for (const solver of [...new Set(runs.map((r) => r.spec.solver))].sort()) {
    const rs = runs.filter((r) => r.spec.solver === solver).sort((a, b) => a.spec.seed - b.spec.seed);
    const method = ceiling ? "sac-true-reward" : solver;
    const fin = rs.map((r) => r.record.final.trueReturn as number);
    const hits = rs.map((r) => r.record.history.find((h) => (h.trueReturn as number) >= target)).filter((h) => h !== undefined);
    const opts = rs[0].record.options as Record<string, number>;
    const repeat = Number((rs[0].record.info as Record<string, unknown> | undefined)?.actionRepeat ?? 1);
    rows.push({
      bench,
      method,
      queriesBudget: ceiling ? null : opts.pairs * rs[0].record.steps,
      seeds: rs.map((r) => r.spec.seed),
      partial: rs.length < SEEDS,
      finalTrueReturn: { ...stat(fin), values: fin },
      bestTrueReturn: stat(rs.map((r) => Math.max(...r.record.history.map((h) => h.trueReturn as number)))),
      target: {
        value: target,
        reached: hits.length,
        queries: ceiling || hits.length === 0 ? null : stat(hits.map((h) => h!.queries as number)),
        envSteps: hits.length === 0 ? null : stat(hits.map((h) => h!.envSteps as number)),
      },
      envSteps: rs[0].record.final.envSteps as number,
      actionRepeat: repeat,
      wallSeconds: stat(rs.map((r) => r.record.wallSeconds)),
    });
    const series = ceiling ? "SAC, true reward" : `${solver}, ${opts.pairs * rs[0].record.steps} queries`;
    for (const h of rs[0].record.history) {
      const at = rs.map((r) => r.record.history.find((g) => g.step === h.step)?.trueReturn as number | undefined).filter((v): v is number => v !== undefined);
      curves.push({ series, queries: h.queries as number, envSteps: h.envSteps as number, mean: mean(at), min: Math.min(...at), max: Math.max(...at) });
    }
  }
}
if (rows.length === 0) throw new Error(`${root}: no finished runs (run bench/parl-mujoco.sh first)`);

const f = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : "–");
const pm = (s: { mean: number; std: number } | null) => (s ? `${f(s.mean)} ± ${f(s.std)}` : "–");
const md = [
  `| method | queries | seeds | final true return | best true return | queries to ${target} (seeds reaching it) | control steps (x ${rows[0].actionRepeat} physics) | s per run |`,
  "|---|--:|--:|--:|--:|--:|--:|--:|",
  ...rows.map(
    (r) =>
      `| ${r.method} | ${r.queriesBudget ?? "– (not used)"} | ${r.seeds.length}${r.partial ? " (partial)" : ""} | ${pm(r.finalTrueReturn)} | ${pm(r.bestTrueReturn)} | ${r.queriesBudget === null ? `– (${r.target.reached}/${r.seeds.length} reach it, after ${pm(r.target.envSteps)} control steps)` : `${pm(r.target.queries)} (${r.target.reached}/${r.seeds.length})`} | ${r.envSteps} | ${f(r.wallSeconds.mean)} |`,
  ),
].join("\n");
writeFileAtomic(path.join(root, "summary.json"), JSON.stringify({ task, target: { metric: "trueReturn", value: target }, rows }, null, 2) + "\n");
writeFileAtomic(path.join(root, "summary.md"), `${task}: mean ± std over seeds (bench/parl-mujoco-summary.ts)\n\n${md}\n`);

const ceil = rows.find((r) => r.method === "sac-true-reward");
const learned = curves.filter((c) => !c.series.startsWith("SAC"));
const x = { field: "queries", type: "quantitative", title: "preference queries" };
const color = { field: "series", type: "nominal", title: null, legend: { orient: "bottom", direction: "horizontal" } };
const spec = {
  width: 460,
  height: 260,
  title: { text: `${task}: true return vs queries`, subtitle: `mean over seeds, band min-max${ceil ? `; dashed: SAC on the true reward, final mean ${f(ceil.finalTrueReturn.mean)}` : ""}` },
  layer: [
    { data: { values: learned }, mark: { type: "area", opacity: 0.15 }, encoding: { x, y: { field: "min", type: "quantitative", title: "true return" }, y2: { field: "max" }, color } },
    { data: { values: learned }, mark: { type: "line", strokeWidth: 2, point: true }, encoding: { x, y: { field: "mean", type: "quantitative" }, color } },
    ...(ceil ? [{ data: { values: [{ y: ceil.finalTrueReturn.mean }] }, mark: { type: "rule", strokeDash: [6, 4], color: "black" }, encoding: { y: { field: "y", type: "quantitative" } } }] : []),
  ],
  config: { font: "sans-serif", view: { stroke: "#ccc" }, background: "white" },
};
writeFileAtomic(path.join(root, "trueReturn-vs-queries.svg"), await renderSvg(spec));
process.stdout.write(md + "\n");
