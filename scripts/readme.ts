/**
 * `npm run readme`: regenerate the solver and task tables in README.md from the registries (the blocks
 * between `<!-- solvers:start -->` / `<!-- solvers:end -->` and `<!-- tasks:start -->` / `<!-- tasks:end -->`)
 * and the speed figures from the bench results: the bilevel / PyTorch comparison from
 * bench/results/vs-torch.json (`vs-torch` block) and the scaling plot and slopes from
 * bench/results/scaling.json (`scaling` block) and the real-task summary from bench/results/leaderboard.json
 * (`results` block). test/readme.test.ts checks that the README matches what
 * this would write.
 */
import { optimizerOptions } from "../src/optim/index.js";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Options } from "../src/problem.js";
import { solvers } from "../src/solvers/registry.js";
import { tasks } from "../src/tasks/index.js";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
const opts = (o: Options) =>
  Object.entries(o)
    .map(([k, v]) => `\`${k}=${v === "" ? '""' : v}\``)
    .join(" ") || "—";

/** The markdown table of every registered solver. */
export function solverTable(): string {
  const rows = [
    "| solver | reference | what it does | 2nd order | non-singleton LL | LL constraints | stochastic | preference RL | defaults |",
    "|---|---|---|:-:|:-:|:-:|:-:|:-:|---|",
  ];
  const yes = (b: boolean) => (b ? "yes" : "—");
  for (const s of solvers) {
    const c = s.capabilities;
    rows.push(
      `| \`${s.name}\` | ${cell(s.reference)} | ${cell(s.summary)} | ${yes(c.secondOrder)} | ${yes(c.nonSingleton)} | ${yes(c.constraints)} | ${yes(c.stochastic)} | ${yes(c.preference === true)} | ${opts(ownOptions(s.defaults))} |`,
    );
  }
  return rows.join("\n");
}

/** A solver's own defaults, without the optimizer group every kit solver shares (described under the table). */
function ownOptions(d: Options): Options {
  const shared = optimizerOptions.defaults as Options;
  const own = Object.fromEntries(Object.entries(d).filter(([k, v]) => !(k in shared && shared[k] === v)));
  return own;
}

/** The markdown table of every registered task. */
export function taskTable(): string {
  const rows = ["| task | description | options | default steps |", "|---|---|---|--:|"];
  for (const t of tasks) rows.push(`| \`${t.name}\` | ${cell(t.description)} | ${opts(t.defaults)} | ${t.steps} |`);
  return rows.join("\n");
}

/** Replace the block between `<!-- name:start -->` and `<!-- name:end -->` in `text`. */
export function replaceBlock(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md: markers ${start} ... ${end} not found`);
  return text.slice(0, i + start.length) + "\n" + body + "\n" + text.slice(j);
}

/** The block between the markers (without the surrounding newlines). */
export function readBlock(text: string, name: string): string {
  const start = `<!-- ${name}:start -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(`<!-- ${name}:end -->`);
  if (i < 0 || j < i) throw new Error(`README.md: markers for '${name}' not found`);
  return text.slice(i + start.length, j).replace(/^\n/, "").replace(/\n$/, "");
}

type Stat = { median: number; min: number; max: number; n?: number };
const f1 = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));
const spread = (s: Stat, fmt = f1) => `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})`;

/** The machine line of a bench result: date, CPU, cores, memory, Node, engine and load average. */
function machineLine(m: Record<string, unknown>, date: string, when: string): string {
  const load = (m.loadAverage as number[] | undefined)?.map((x) => x.toFixed(1)).join(" / ") ?? "?";
  const patches = (m.enginePatches as string[] | undefined)?.length ?? 0;
  return `${date.slice(0, 10)}, ${m.cpuModel} x ${m.cpus}, ${m.memoryGiB} GiB, Node ${String(m.node).replace(/^v/, "")}, jax-js ${m.jax} + ${patches} patches, load average ${load} (1 / 5 / 15 min) ${when}`;
}

/** The README's bilevel-vs-PyTorch table, from bench/results/vs-torch.json as `npm run bench:vs-torch` writes it. */
export function vsTorchBlock(r: Record<string, unknown>): string {
  const st = r.settings as Record<string, number>;
  const sv = r.solvers as Record<string, { bilevelMsPerStep: Stat; torchMsPerStep: Stat; ratio: Stat; metrics: { agreeTo3Digits: boolean } }>;
  const names = Object.keys(sv);
  const row = (label: string, get: (k: string) => string) => `| ${label} | ${names.map(get).join(" | ")} |`;
  const agree = names.filter((k) => sv[k].metrics.agreeTo3Digits);
  return [
    `${r.benchmark}; ${st.alternations} alternating pairs of runs per solver, ${st.steps} steps each, a run's figure is its median ms/step after ${st.warmup} warm-up steps; bilevel ${st.bilevelThreads} wasm threads, PyTorch ${r.torch} CPU with ${st.torchThreads} threads and OPENBLAS_NUM_THREADS=${st.openblasThreads}.`,
    `Machine: ${machineLine(r.machine as Record<string, unknown>, String(r.date), "at the start")}. Source: bench/results/vs-torch.json.`,
    "",
    `| ms per outer step, median (min-max over runs) | ${names.join(" | ")} |`,
    `|---|${names.map(() => "--:").join("|")}|`,
    row("bilevel", (k) => spread(sv[k].bilevelMsPerStep)),
    row(`PyTorch ${r.torch}`, (k) => spread(sv[k].torchMsPerStep)),
    row("ratio bilevel / PyTorch, median (min-max of pairs)", (k) => spread(sv[k].ratio, (x) => x.toFixed(2))),
    "",
    `Test accuracy, F1 and validation loss of the two implementations agree to 3 digits at every checked step for ${agree.length === names.length ? "all solvers" : agree.length ? agree.join(", ") + " (not the others)" : "none of the solvers"}.`,
  ].join("\n");
}

type Line = { slope: number; r2: number; shape: string } | null;
interface ScalingResult {
  date: string;
  machine: Record<string, unknown>;
  torch: string | null;
  loaded: boolean;
  settings: { warmup: number; timed: number; n0: number; T0: number; ns: number[]; Ts: number[]; budgetGiB: number; variants: string[]; impls: string[] };
  points: { impl: string; variant: string; n: number; T: number; status: string; reason?: string; note?: string; loaded?: boolean; msPerStep?: Stat; peakRssMiB?: number; enginePeakMiB?: number }[];
  slopes: Record<string, Record<string, Line | Record<string, number | string | null>>>;
}

/** The README's scaling section, from bench/results/scaling.json as `npm run bench:scaling` writes it. */
export function scalingBlock(r: ScalingResult): string {
  const s = r.settings;
  const line = (l: unknown, d = 2) => {
    const x = l as Line;
    return x ? `${x.slope.toFixed(d)} (${x.shape})` : "—";
  };
  const rows = [
    `| solver (implementation) | ms/step at n = ${s.n0 / 1000}k, T = ${s.T0} | ms per inner step | RSS MiB per inner step | engine MiB per inner step | RSS MiB per 1000 samples | engine MiB per 1000 samples | largest T / n run | largest T / n in ${s.budgetGiB} GiB (fit) |`,
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const v of s.variants)
    for (const impl of s.impls) {
      const e = r.slopes[`${v} (${impl})`] ?? {};
      const p0 = r.points.find((p) => p.impl === impl && p.variant === v && p.n === s.n0 && p.T === s.T0 && p.status === "ok");
      const big = e.largestMeasured as { T: number | null; n: number | null } | undefined;
      const ext = e.largestExtrapolated as { T: number | null; n: number | null } | undefined;
      const lim = (x: number | null | undefined, flat: string) => (x === null || x === undefined ? flat : x.toLocaleString("en-US"));
      rows.push(
        `| ${v} (${impl}) | ${p0?.msPerStep ? spread(p0.msPerStep) : "—"} | ${line(e.msPerInnerStep, 1)} | ${line(e.rssMiBPerInnerStep)} | ${impl === "bilevel" ? line(e.engineMiBPerInnerStep) : "—"} | ${line(e.rssMiBPer1000Samples)} | ${impl === "bilevel" ? line(e.engineMiBPer1000Samples) : "—"} | ${big?.T ?? "—"} / ${big?.n ?? "—"} | ${lim(ext?.T, "not memory-bound")} / ${lim(ext?.n, "not memory-bound")} |`,
      );
    }
  const notOk = r.points.filter((p) => p.status !== "ok");
  const loadedPts = r.points.filter((p) => p.loaded).length;
  return [
    `![ms per outer step and peak RSS against T and n](bench/results/scaling.svg)`,
    "",
    `hyperclean-mnist, float32, full batch: n = ${s.ns.join(", ")} training samples at T = ${s.T0}, and T = ${s.Ts.join(", ")} inner steps at n = ${s.n0}; every point in its own process, ${s.warmup} warm-up and ${s.timed} timed steps (median, min-max); peak RSS over the timed steps; engine = bilevel's live buffer bytes at their peak. Slopes are least-squares lines over each sweep (flat: the line rises by less than 5% over the sweep). The largest sizes in ${s.budgetGiB} GiB come from those lines (for bilevel also the 4 GiB wasm32 heap); n above 55,000 exceeds MNIST.`,
    `Machine: ${machineLine(r.machine, r.date, "when the file was written")}; PyTorch ${r.torch}. Source: bench/results/scaling.json (\`npm run bench:scaling\`).${loadedPts ? ` ${loadedPts} of ${r.points.length} points were measured with the load average above the core count: their times are not valid benchmark figures (the memory figures are).` : ""}`,
    "",
    ...rows,
    ...r.points.filter((p) => p.note).map((p) => `\nNote on ${p.variant} (${p.impl}) n = ${p.n}, T = ${p.T}: ${p.note}`),
    ...(notOk.length ? ["", "Not measured: " + notOk.map((p) => `${p.variant} (${p.impl}) n = ${p.n}, T = ${p.T}: ${p.status}, ${p.reason}`).join("; ") + "."] : []),
  ].join("\n");
}

/** One leaderboard row as the README quotes it: task, best solver, best baseline, the verdict. */
type Lb = { task: string; metric: string; best: { solver: string; mean: number; ci: number } | null; baseline: { name: string; mean: number; ci: number } | null; solvers: { solver: string; seeds: number }[] };

/** The real-task summary table, quoted from bench/results/leaderboard.json (written by `npm run results`). */
export function resultsBlock(entries: Lb[]): string {
  const iv = (v: { mean: number; ci: number }) => `${v.mean.toFixed(4)} ± ${v.ci.toFixed(4)}`;
  const rows = entries.map((e) => {
    const seeds = e.solvers.length ? Math.min(...e.solvers.map((s) => s.seeds)) : 0;
    const best = e.best ? `${e.best.solver} ${iv(e.best)}` : "not run";
    const base = e.baseline ? `${e.baseline.name} ${iv(e.baseline)}` : "none";
    const hi = e.best && e.baseline ? (e.best.mean - e.best.ci > e.baseline.mean + e.baseline.ci ? "beats the baseline" : e.baseline.mean - e.baseline.ci > e.best.mean + e.best.ci ? "loses to the baseline" : "intervals overlap") : "–";
    return `| ${e.task} | ${e.solvers.length} | ${seeds} | ${best} | ${base} | ${hi} |`;
  });
  return [
    "Quoted from bench/results/leaderboard.json (`npm run results`; mean ± 95% t-interval over seeds of the final test accuracy; the budget of each run is on the page):",
    "",
    "| task | solvers | seeds (min) | best solver | best baseline | verdict |",
    "|---|--:|--:|---|---|---|",
    ...rows,
  ].join("\n");
}

/** The bench-result blocks of the README and their text (a note when a result file is missing). */
export function benchBlocks(root: string): Record<string, string> {
  const read = (f: string) => {
    const file = path.join(root, "bench", "results", f);
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : null;
  };
  const vt = read("vs-torch.json");
  const sc = read("scaling.json");
  const lb = read("leaderboard.json");
  return {
    results: lb ? resultsBlock(lb) : "Not generated yet: `npm run results` writes bench/results/leaderboard.json.",
    "vs-torch": vt ? vsTorchBlock(vt) : "Not measured yet: `npm run bench:vs-torch` writes bench/results/vs-torch.json.",
    scaling: sc ? scalingBlock(sc) : "Not measured yet: `npm run bench:scaling` writes bench/results/scaling.json.",
  };
}

/** README text with the registry tables and (given the repository root) the bench-result blocks regenerated. */
export function renderReadme(text: string, root?: string): string {
  let out = replaceBlock(replaceBlock(text, "solvers", solverTable()), "tasks", taskTable());
  if (root) for (const [name, body] of Object.entries(benchBlocks(root))) out = replaceBlock(out, name, body);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const file = path.join(root, "README.md");
  const before = fs.readFileSync(file, "utf8");
  const after = renderReadme(before, root);
  if (after !== before) fs.writeFileSync(file, after);
  console.log(`README.md: ${after === before ? "tables already up to date" : "tables regenerated"} (${solvers.length} solvers, ${tasks.length} tasks)`);
}
