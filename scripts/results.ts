/**
 * `npm run results`: the results page docs/results/index.html and bench/results/leaderboard.json from
 * the committed bench results (src/report/results.ts). Reads bench/results/tasks/<task>/results.json and
 * bench/results/tasks/<task>/<any>/results.json (merged; later directories by name win per solver and
 * seed; directories named long-* are longer runs of a few solvers, shown in their own unranked table)
 * and bench/results/baselines/<task>.json. Runs nothing.
 *
 *   node dist/scripts/results.js [--root DIR]    # DIR holds bench/ and docs/ (default: the working directory)
 */
import fs from "node:fs";
import path from "node:path";
import { mkdirs, writeFileAtomic } from "../src/node/fsio.js";
import type { BenchResult } from "../src/report/bench.js";
import { leaderboard, mergeBenches, RESULT_TASKS, resultsHtml, type BaselinesFile, type TaskResults } from "../src/report/results.js";

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (e) {
    throw new Error(`${file}: cannot read as JSON (${(e as Error).message})`);
  }
}

/** results.json of the task directory and of its sub-directories, sorted by path; `long` picks the long-* ones instead. */
function benchFiles(dir: string, long = false): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  if (!long && fs.existsSync(path.join(dir, "results.json"))) out.push(path.join(dir, "results.json"));
  for (const d of fs.readdirSync(dir).sort()) {
    if (d.startsWith("long-") !== long) continue;
    const f = path.join(dir, d, "results.json");
    if (fs.existsSync(f)) out.push(f);
  }
  return out;
}

export async function buildResults(root: string): Promise<{ leaderboardFile: string; pageFile: string }> {
  const tasks: TaskResults[] = RESULT_TASKS.map((t) => {
    const files = benchFiles(path.join(root, "bench/results/tasks", t.task));
    const benches = files.map((f) => readJson<BenchResult>(f));
    for (const [i, b] of benches.entries()) if (b.task !== t.task) throw new Error(`${files[i]}: task is ${b.task}, expected ${t.task}`);
    const bf = path.join(root, "bench/results/baselines", `${t.task}.json`);
    const baselines = fs.existsSync(bf) ? readJson<BaselinesFile>(bf) : null;
    if (baselines && baselines.metric !== t.metric) throw new Error(`${bf}: metric ${baselines.metric}, expected ${t.metric}`);
    const long = benchFiles(path.join(root, "bench/results/tasks", t.task), true).map((f) => ({ bench: readJson<BenchResult>(f), source: path.relative(root, f) }));
    return { task: t, bench: mergeBenches(benches), baselines, sources: files.map((f) => path.relative(root, f)), long };
  });
  const entries = leaderboard(tasks);
  const leaderboardFile = path.join(root, "bench/results/leaderboard.json");
  const pageFile = path.join(root, "docs/results/index.html");
  mkdirs(path.dirname(pageFile));
  writeFileAtomic(leaderboardFile, JSON.stringify(entries, null, 2) + "\n");
  const html = await resultsHtml(tasks, entries, { generated: new Date().toISOString().slice(0, 10), command: "npm run results" });
  writeFileAtomic(pageFile, html);
  return { leaderboardFile, pageFile };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const i = process.argv.indexOf("--root");
  const root = i >= 0 ? process.argv[i + 1] : process.cwd();
  const { leaderboardFile, pageFile } = await buildResults(root);
  process.stdout.write(`wrote ${path.relative(process.cwd(), leaderboardFile)} and ${path.relative(process.cwd(), pageFile)}\n`);
}
