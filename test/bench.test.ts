/**
 * `runBench` + `writeBench` and `bilevel bench`: a small toy-sc bench (aid-cg, bome; 30 steps; 2 seeds)
 * writes results.json (4 runs), results.csv (2 x 2 x 16 evaluation rows of finite numbers), one SVG per
 * plot with one line path per solver, and a self-contained report.html; bad input exits 2 in one line;
 * a diverged run is kept with its status and error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertOneLineInputError, cli, root } from "./cli-helpers.js";
import { runBench, writeBench, type BenchResult } from "../src/report/index.js";


const SOLVERS = ["aid-cg", "bome"];
const SEEDS = 2;
const STEPS = 30;
// evalEvery = round(30 / 20) = 2: steps 0, 2, ..., 30.
const EVAL_POINTS = STEPS / 2 + 1;
const HEADER = ["solver", "seed", "step", "seconds", "upper", "lower", "distanceToOptimum", "distanceX"];
const PLOTS = ["distanceToOptimum-vs-seconds.svg", "distanceToOptimum-vs-step.svg", "upper-vs-seconds.svg", "upper-vs-step.svg"];

/** Tags balance (a light well-formedness check: no XML parser in Node). */
function assertBalancedXml(s: string, what: string): void {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `${what}: </${name}> closes the wrong tag`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], `${what}: unclosed tags`);
}

/** Every artifact of a bench directory, checked. */
function checkOutputs(dir: string, bench?: BenchResult): void {
  for (const f of ["results.json", "results.csv", "report.html", ...PLOTS]) assert.ok(fs.existsSync(path.join(dir, f)), `${f} missing`);

  const json = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")) as BenchResult & { command?: string };
  assert.equal(json.runs.length, SOLVERS.length * SEEDS);
  assert.deepEqual(
    json.runs.map((r) => `${r.solver}/${r.seed}`),
    ["aid-cg/0", "aid-cg/1", "bome/0", "bome/1"],
  );
  for (const r of json.runs) {
    assert.equal(r.status, "completed");
    assert.equal(r.stepsTaken, STEPS);
    assert.equal(r.history.length, EVAL_POINTS);
    assert.ok(Number.isFinite(r.msPerStep) && r.msPerStep > 0);
  }
  assert.match(json.machine.node, /^v\d+/);
  assert.ok(json.machine.cpus >= 1);
  assert.equal(json.machine.jax, "0.1.25");
  assert.match(json.machine.packages["vega-lite"], /^\d+\.\d+\.\d+/);
  assert.match(json.machine.bilevel, /^\d+\.\d+\.\d+/);

  const lines = fs.readFileSync(path.join(dir, "results.csv"), "utf8").trimEnd().split("\n");
  assert.deepEqual(lines[0].split(","), HEADER);
  const rows = lines.slice(1).map((l) => l.split(","));
  assert.equal(rows.length, SOLVERS.length * SEEDS * EVAL_POINTS);
  for (const row of rows) {
    assert.equal(row.length, HEADER.length);
    assert.ok(SOLVERS.includes(row[0]), row[0]);
    for (const v of row.slice(1)) assert.ok(v !== "" && Number.isFinite(Number(v)), `non-finite CSV value '${v}' in ${row.join(",")}`);
  }
  // Start of every run: toy-sc's starting point is at relative distance 1 from the optimum.
  assert.equal(rows.filter((r) => r[2] === "0").length, SOLVERS.length * SEEDS);
  // The final rows match the records' final values; aid-cg gets close to the optimum in 30 steps.
  const last = (s: string, seed: number) => rows.filter((r) => r[0] === s && r[1] === String(seed)).at(-1)!;
  for (const r of json.runs) assert.equal(Number(last(r.solver, r.seed)[6]), r.final.distanceToOptimum);
  assert.ok(Number(last("aid-cg", 0)[6]) < 0.01, `aid-cg final distance ${last("aid-cg", 0)[6]}`);
  assert.ok(Number(last("bome", 0)[6]) < 0.1, `bome final distance ${last("bome", 0)[6]}`);

  for (const f of PLOTS) {
    const svg = fs.readFileSync(path.join(dir, f), "utf8").trim();
    assert.ok(svg.startsWith("<svg") && svg.endsWith("</svg>"), `${f} is not an <svg> document`);
    assertBalancedXml(svg, f);
    // One vega line mark group per solver, each with exactly one path (the seed-mean line).
    const groups = [...svg.matchAll(/<g class="mark-line role-mark line_marks"[^>]*>(.*?)<\/g>/g)];
    assert.equal(groups.length, SOLVERS.length, `${f}: line groups`);
    for (const g of groups) assert.equal((g[1].match(/<path /g) ?? []).length, 1, `${f}: paths in a line group`);
    const bands = [...svg.matchAll(/<g class="mark-area role-mark band_marks"/g)];
    assert.equal(bands.length, SOLVERS.length, `${f}: min-max bands`);
    for (const s of SOLVERS) assert.ok(svg.includes(`>${s}</text>`), `${f}: legend entry ${s}`);
  }

  const html = fs.readFileSync(path.join(dir, "report.html"), "utf8");
  assertBalancedXml(html.replace(/<!DOCTYPE html>/, "").replace(/<meta[^>]*>/g, ""), "report.html");
  assert.equal((html.match(/<svg/g) ?? []).length, PLOTS.length, "inline SVGs");
  assert.ok(!/https?:\/\//.test(html), "report.html has an external URL");
  assert.ok(!/<(link|script|img)\b/.test(html), "report.html loads something");
  for (const s of SOLVERS) assert.match(html, new RegExp(`<tr><td>${s}</td><td class="s"><span class="">2 completed</span>`), `final-metrics row for ${s}`);
  assert.match(html, /Time to reach distanceToOptimum ≤ 0\.01</);
  assert.match(html, /<tr><td>aid-cg<\/td><td>2\/2<\/td>/, "aid-cg reaches the target with both seeds");
  assert.match(html, /<tr><td>bome<\/td><td>0\/2<\/td><td>not reached/, "bome does not reach it in 30 steps");
  assert.ok(html.includes("v" + process.versions.node), "node version");
  if (bench) {
    // mean ± std of the final distance as the table shows it.
    const d = bench.runs.filter((r) => r.solver === "aid-cg").map((r) => r.final.distanceToOptimum);
    const m = (d[0] + d[1]) / 2;
    const shown = m < 1e-3 ? Number(m.toExponential(3)).toExponential() : String(Number(m.toPrecision(4)));
    assert.ok(html.includes(`${shown} ± `), `aid-cg mean final distance ${shown} in the table`);
  }
}

test("runBench + writeBench: toy-sc, aid-cg and bome, 2 seeds, 30 steps", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-bench-"));
  const events: number[] = [];
  const bench = await runBench({
    task: "toy-sc",
    solvers: SOLVERS,
    steps: STEPS,
    seeds: SEEDS,
    target: { metric: "distanceToOptimum", value: 0.01 },
    onProgress: (p) => events.push(p.totalStep),
  });
  assert.equal(bench.runs.length, 4);
  // Progress covers the whole bench monotonically up to 2 x 2 x 30 steps.
  assert.equal(events.at(-1), SOLVERS.length * SEEDS * STEPS);
  for (let i = 1; i < events.length; i++) assert.ok(events[i] >= events[i - 1]);
  const out = path.join(dir, "nested", "out");
  await writeBench(bench, out, { command: "bilevel bench toy-sc --solvers aid-cg,bome --steps 30 --seeds 2 --target distanceToOptimum=0.01" });
  checkOutputs(out, bench);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("bilevel bench through the CLI binary writes the same artifacts", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-bench-cli-"));
  const args = ["bench", "toy-sc", "--solvers", "aid-cg,bome", "--steps", "30", "--seeds", "2", "--target", "distanceToOptimum=0.01", "--out", dir];
  const r = await cli(args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "", "no progress bar off a TTY");
  assert.match(r.stdout, /aid-cg .*distanceToOptimum .*ms\/step/);
  assert.match(r.stdout, /wrote 7 files/);
  checkOutputs(dir);
  const html = fs.readFileSync(path.join(dir, "report.html"), "utf8");
  assert.ok(html.includes(`bilevel bench toy-sc --solvers aid-cg,bome --steps 30 --seeds 2 --target distanceToOptimum=0.01 --out ${dir}`), "exact command line");
  fs.rmSync(dir, { recursive: true, force: true });
});

const bad: [string, string[], RegExp][] = [
  ["unknown solver in the list", ["bench", "toy-sc", "--solvers", "bome,nope"], /solver.*nope/],
  ["empty solver list", ["bench", "toy-sc", "--solvers", ""], /solvers/],
  ["only commas", ["bench", "toy-sc", "--solvers", ",,"], /solvers/],
  ["repeated solver", ["bench", "toy-sc", "--solvers", "bome,bome"], /bome.*twice/],
  ["--seeds 0", ["bench", "toy-sc", "--solvers", "bome", "--seeds", "0"], /seeds/],
  ["--seeds -1", ["bench", "toy-sc", "--solvers", "bome", "--seeds", "-1"], /seeds/],
  ["unwritable --out (a file)", ["bench", "toy-sc", "--solvers", "bome", "--out", "/etc/hostname"], /--out \/etc\/hostname/],
  ["unwritable --out (/proc)", ["bench", "toy-sc", "--solvers", "bome", "--out", "/proc/bilevel-out"], /--out \/proc\/bilevel-out/],
  ["unknown task", ["bench", "nope", "--solvers", "bome"], /nope/],
  ["missing --solvers", ["bench", "toy-sc"], /solvers/],
  ["bad --target", ["bench", "toy-sc", "--solvers", "bome", "--target", "accuracy"], /target/],
  ["unknown --set key", ["bench", "toy-sc", "--solvers", "bome", "--set", "nosuch=1"], /nosuch/],
];
for (const [what, args, names] of bad) {
  test(`bench bad input (${what}) -> exit 2, one line naming it, no stack`, async () => {
    await assertOneLineInputError(args, names);
  });
}

test("runBench: a --target metric the task does not report is one input error after the first run", async () => {
  await assert.rejects(
    runBench({ task: "toy-sc", solvers: ["bome"], steps: 2, seeds: 1, target: { metric: "testAccuracy", value: 0.9 } }),
    (e: Error) => e.name === "BilevelInputError" && /testAccuracy.*distanceToOptimum/.test(e.message) && !e.message.includes("\n"),
  );
});

test("runBench keeps a diverged run with its status and error; <solver>.key reaches only that solver", async () => {
  const bench = await runBench({ task: "toy-sc", solvers: ["aid-cg", "bome"], steps: 6, seeds: 1, set: { "aid-cg.lrX": "1e30" } });
  const [aid, bome] = bench.runs;
  assert.equal(aid.status, "diverged");
  assert.match(aid.error ?? "", /step 1: .*non-finite/);
  assert.equal(aid.options.lrX, 1e30);
  assert.equal(bome.status, "completed");
  assert.notEqual(bome.options.lrX, 1e30);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-bench-div-"));
  await writeBench(bench, dir);
  const html = fs.readFileSync(path.join(dir, "report.html"), "utf8");
  assert.match(html, /<span class="bad">1 diverged<\/span>/);
  assert.match(html, /diverged: step 1: /);
  const rows = fs.readFileSync(path.join(dir, "results.csv"), "utf8").trimEnd().split("\n").slice(1);
  assert.equal(rows.length, aid.history.length + bome.history.length);
  fs.rmSync(dir, { recursive: true, force: true });
});
