/** The results page generator (src/report/results.ts, scripts/results.ts) on fixtures, the 95% t-interval, and the hyper-cleaning baseline's host fit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RunRecord } from "../src/experiment.js";
import type { BenchResult } from "../src/report/bench.js";
import { beats, leaderboardEntry, mergeBenches, verdict, type BaselinesFile } from "../src/report/results.js";
import { buildResults } from "../scripts/results.js";
import { ci95 } from "../src/tasks/stats.js";
import { fitSoftmax, pixelRows, softmaxObjective } from "../src/tasks/softmax-fit.js";
import { mulberry32 } from "../src/engine/index.js";

function run(solver: string, seed: number, value: number, status: RunRecord["status"] = "completed", metric = "testAccuracy"): RunRecord {
  return {
    task: "t",
    solver,
    seed,
    steps: 10,
    stepsTaken: 10,
    options: {},
    wallSeconds: 1,
    msPerStep: 2,
    status,
    final: { upper: 0, lower: 0, [metric]: value },
    history: [
      { step: 0, seconds: 0, upper: 1, lower: 1, [metric]: value / 2 },
      { step: 10, seconds: 0.5 + seed, upper: 0, lower: 0, [metric]: value },
    ],
    info: {},
    engine: { device: "wasm", dtype: "float32", threads: 1, jax: "0.1.25" } as unknown as RunRecord["engine"],
  };
}

function bench(task: string, runs: RunRecord[]): BenchResult {
  const solvers = [...new Set(runs.map((r) => r.solver))];
  return {
    task,
    solvers,
    seeds: 5,
    steps: Object.fromEntries(solvers.map((s) => [s, 10])),
    set: {},
    runs: runs.map((r) => ({ ...r, task })),
    machine: { date: "2026-12-02", node: "v20", platform: "linux x64", cpus: 2, cpuModel: "x", memoryGiB: 8, loadAverage: [1, 1, 1], bilevel: "0.1.0", jax: "0.1.25", enginePatches: [], packages: {} },
    wallSeconds: 5,
  };
}

const baselines = (task: string, list: { name: string; values: number[]; oracle?: boolean }[]): BaselinesFile => ({
  task,
  metric: "testAccuracy",
  higherIsBetter: true,
  seeds: [0, 1, 2, 3, 4],
  baselines: list.map((b) => ({ name: b.name, description: "d", oracle: b.oracle ?? false, seeds: [0, 1, 2, 3, 4], values: b.values, ...ci95(b.values) })),
});

test("ci95: Student t with n - 1 degrees of freedom (2.776 for 5 values), 0 for one value, NaN for none", () => {
  const v = [1, 2, 3, 4, 5];
  const sd = Math.sqrt(2.5);
  const r = ci95(v);
  assert.equal(r.mean, 3);
  assert.ok(Math.abs(r.ci - (2.776 * sd) / Math.sqrt(5)) < 1e-12, `${r.ci}`);
  assert.deepEqual(ci95([7]), { mean: 7, ci: 0, n: 1 });
  assert.ok(Number.isNaN(ci95([]).mean));
  // two values: t = 12.706
  assert.ok(Math.abs(ci95([0, 2]).ci - (12.706 * Math.SQRT2) / Math.SQRT2) < 1e-12);
});

test("leaderboard entry: exact schema, best by mean, baseline = best baseline, diverged runs left out", () => {
  const runs = [0, 1, 2, 3, 4].flatMap((s) => [run("a", s, 0.9 + s * 0.001), run("b", s, 0.8 + s * 0.001)]);
  runs.push(run("c", 0, 0.99, "diverged"));
  const e = leaderboardEntry({ task: "t", metric: "testAccuracy", higherIsBetter: true }, bench("t", runs), baselines("t", [
    { name: "weak", values: [0.5, 0.5, 0.5, 0.5, 0.5] },
    { name: "strong", values: [0.85, 0.851, 0.852, 0.853, 0.854] },
  ]));
  assert.deepEqual(Object.keys(e), ["task", "metric", "higherIsBetter", "best", "baseline", "solvers"]);
  assert.deepEqual(Object.keys(e.best!), ["solver", "mean", "ci"]);
  assert.deepEqual(Object.keys(e.baseline!), ["name", "mean", "ci"]);
  for (const s of e.solvers) assert.deepEqual(Object.keys(s).sort(), ["ci", "mean", "seeds", "solver"]);
  assert.equal(e.best!.solver, "a");
  assert.ok(Math.abs(e.best!.mean - 0.902) < 1e-12);
  assert.equal(e.baseline!.name, "strong");
  assert.deepEqual(e.solvers.map((s) => [s.solver, s.seeds]), [["a", 5], ["b", 5]]);
  assert.ok(beats(e.best!, e.baseline!, true));
  assert.match(verdict(e), /^a .* beats the best baseline, strong/);
});

test("winner logic: overlapping intervals do not beat; a better baseline with disjoint intervals is said so", () => {
  const t = { task: "t", metric: "testAccuracy", higherIsBetter: true };
  // overlapping: a in [0.89, 0.91], baseline around 0.9
  const a = [0, 1, 2, 3, 4].map((s) => run("a", s, [0.89, 0.91, 0.9, 0.895, 0.905][s]));
  const e1 = leaderboardEntry(t, bench("t", a), baselines("t", [{ name: "base", values: [0.9, 0.88, 0.92, 0.91, 0.89] }]));
  assert.equal(beats(e1.best!, e1.baseline!, true), false);
  assert.equal(beats(e1.baseline!, e1.best!, true), false);
  assert.match(verdict(e1), /does not beat the best baseline, base.*overlap/);
  // the baseline clearly better
  const e2 = leaderboardEntry(t, bench("t", a), baselines("t", [{ name: "centroid", values: [0.97, 0.971, 0.972, 0.973, 0.974] }]));
  assert.match(verdict(e2), /does NOT beat the best baseline: centroid .* is better/);
  // interval arithmetic at the edge: disjoint means strictly
  assert.equal(beats({ mean: 1, ci: 0.1 }, { mean: 0.8, ci: 0.1 }, true), false);
  assert.equal(beats({ mean: 1, ci: 0.1 }, { mean: 0.79, ci: 0.1 }, true), true);
});

test("higherIsBetter false: the smallest mean wins and beats means below the baseline's interval", () => {
  const t = { task: "t", metric: "valLoss", higherIsBetter: false };
  const runs = [0, 1, 2, 3, 4].flatMap((s) => [run("low", s, 0.1 + s * 1e-3, "completed", "valLoss"), run("high", s, 0.5 + s * 1e-3, "completed", "valLoss")]);
  const b: BaselinesFile = { ...baselines("t", [{ name: "b1", values: [0.3, 0.3, 0.3, 0.3, 0.3] }, { name: "b2", values: [0.2, 0.21, 0.2, 0.21, 0.2] }]), metric: "valLoss", higherIsBetter: false };
  const e = leaderboardEntry(t, bench("t", runs), b);
  assert.equal(e.best!.solver, "low");
  assert.deepEqual(e.solvers.map((s) => s.solver), ["low", "high"]);
  assert.equal(e.baseline!.name, "b2");
  assert.ok(beats(e.best!, e.baseline!, false));
  assert.ok(!beats({ mean: 0.5, ci: 0.01 }, e.baseline!, false));
  assert.match(verdict(e), /^low .* beats/);
});

test("not run: no bench and no baselines give nulls and say so; merged benches: a later (solver, seed) replaces an earlier one", () => {
  const t = { task: "t", metric: "testAccuracy", higherIsBetter: true };
  const e = leaderboardEntry(t, null, null);
  assert.deepEqual(e, { task: "t", metric: "testAccuracy", higherIsBetter: true, best: null, baseline: null, solvers: [] });
  assert.match(verdict(e), /^Not run/);
  const m = mergeBenches([bench("t", [run("a", 0, 0.1), run("a", 1, 0.2)]), bench("t", [run("a", 1, 0.3), run("b", 0, 0.4)])])!;
  assert.deepEqual(m.solvers, ["a", "b"]);
  assert.deepEqual(m.runs.map((r) => [r.solver, r.seed, r.final.testAccuracy]), [["a", 0, 0.1], ["a", 1, 0.3], ["b", 0, 0.4]]);
  assert.equal(mergeBenches([]), null);
  // one seed: no interval, no verdict
  const one = leaderboardEntry(t, bench("t", [run("a", 0, 0.99)]), baselines("t", [{ name: "b", values: [0.5, 0.5] }]));
  assert.match(verdict(one), /on 1 seed: no interval, so no verdict/);
});

test("buildResults on a fixture tree writes leaderboard.json with the schema and a page with one section per task", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-results-"));
  try {
    const dir = path.join(root, "bench/results/tasks/svm-hpo/lvhba");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify(bench("svm-hpo", [0, 1, 2, 3, 4].map((s) => run("lvhba", s, 0.95 + s * 0.002)))));
    fs.mkdirSync(path.join(root, "bench/results/baselines"), { recursive: true });
    fs.writeFileSync(path.join(root, "bench/results/baselines/svm-hpo.json"), JSON.stringify(baselines("svm-hpo", [{ name: "grid", values: [0.96, 0.97, 0.95, 0.96, 0.97] }])));
    const { leaderboardFile, pageFile } = await buildResults(root);
    const lb = JSON.parse(fs.readFileSync(leaderboardFile, "utf8"));
    assert.ok(Array.isArray(lb) && lb.length >= 5);
    const svm = lb.find((e: { task: string }) => e.task === "svm-hpo");
    assert.equal(svm.best.solver, "lvhba");
    assert.equal(svm.baseline.name, "grid");
    assert.equal(svm.solvers[0].seeds, 5);
    const other = lb.find((e: { task: string }) => e.task === "hpo-l2-imdb");
    assert.equal(other.best, null);
    const html = fs.readFileSync(pageFile, "utf8");
    for (const e of lb) assert.ok(html.includes(`<h2 id="${e.task}">`), e.task);
    assert.match(html, /not run/);
    assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html), "no external URLs");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a run stopped by the bench's time budget counts; a long-* directory is shown in its own table and not ranked", async () => {
  const t = { task: "t", metric: "testAccuracy", higherIsBetter: true };
  const e = leaderboardEntry(t, bench("t", [run("a", 0, 0.5, "time-limit"), run("a", 1, 0.6, "time-limit"), run("a", 2, 0.9, "diverged")]), null);
  assert.deepEqual(e.solvers.map((s) => [s.solver, s.seeds]), [["a", 2]]);
  assert.ok(Math.abs(e.best!.mean - 0.55) < 1e-12);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-results-"));
  try {
    const base = path.join(root, "bench/results/tasks/hyperclean-mnist");
    fs.mkdirSync(path.join(base, "sweep"), { recursive: true });
    fs.mkdirSync(path.join(base, "long-500-steps"), { recursive: true });
    const diverged = [0, 1].map((s) => ({ ...run("aid-cg", s, Number.NaN, "diverged"), error: "step 1: non-finite" }));
    fs.writeFileSync(path.join(base, "sweep/results.json"), JSON.stringify(bench("hyperclean-mnist", [...[0, 1].map((s) => run("itd", s, 0.8 + s * 0.01, "time-limit")), ...diverged])));
    fs.writeFileSync(path.join(base, "long-500-steps/results.json"), JSON.stringify(bench("hyperclean-mnist", [0, 1].map((s) => run("bome", s, 0.95 + s * 0.001)))));
    const { leaderboardFile, pageFile } = await buildResults(root);
    const hc = JSON.parse(fs.readFileSync(leaderboardFile, "utf8")).find((x: { task: string }) => x.task === "hyperclean-mnist");
    assert.deepEqual(hc.solvers.map((s: { solver: string }) => s.solver), ["itd"], "the long run is not ranked");
    const html = fs.readFileSync(pageFile, "utf8");
    assert.match(html, /Longer runs \(not ranked above\)<\/h3><table>.*<td>bome<\/td><td>0\.9505 ± /s);
    // a solver whose every run diverged is listed with the reason, not just "no finished run"
    assert.match(html, /<td>aid-cg<\/td><td>–<\/td><td>0<\/td><td class="l">diverged in 2 of 2 run\(s\): step 1: non-finite<\/td>/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("hyper-cleaning host fit: softmaxObjective's gradient equals central differences; fitSoftmax ends with ||grad||_inf < tol", () => {
  const u = mulberry32(3);
  const n = 40;
  const d = 12;
  const c = 3;
  const images = Uint8Array.from({ length: n * d }, () => (u() < 0.4 ? 0 : Math.floor(u() * 256)));
  const labels = Uint8Array.from({ length: n }, () => Math.floor(u() * c));
  const rows = Array.from({ length: n }, (_, i) => i);
  const X = pixelRows(images, d, rows);
  const th = Float64Array.from({ length: c * d + c }, () => u() - 0.5);
  const g = new Float64Array(th.length);
  softmaxObjective(X, labels, c, 0.01, th, g);
  const h = 1e-6;
  for (let q = 0; q < th.length; q += 5) {
    const p = Float64Array.from(th);
    const m = Float64Array.from(th);
    p[q] += h;
    m[q] -= h;
    const fd = (softmaxObjective(X, labels, c, 0.01, p) - softmaxObjective(X, labels, c, 0.01, m)) / (2 * h);
    assert.ok(Math.abs(fd - g[q]) < 1e-8, `coordinate ${q}: ${g[q]} vs ${fd}`);
  }
  const fit = fitSoftmax(X, labels, c, 0.01, { tol: 1e-9, maxIter: 2000 });
  const g2 = new Float64Array(th.length);
  softmaxObjective(X, labels, c, 0.01, fit.theta, g2);
  assert.ok(Math.max(...g2.map(Math.abs)) < 1e-9, `||grad|| ${Math.max(...g2.map(Math.abs))} after ${fit.iters}`);
});
