/**
 * The non-bilevel baselines of the real tasks (src/tasks/baselines.ts) over seeds 0..K-1, each with
 * its mean and 95% interval; one file per task, bench/results/baselines/<task>.json, read by
 * `npm run results`. Host float64 work only (no engine).
 *
 *   node dist/bench/baselines.js --tasks svm-hpo,hyperclean-mnist --seeds 5
 */
import "../src/node/host.js"; // the Node set-up (data sources) before anything loads data
import { mkdirSync } from "node:fs";
import { writeFileAtomic } from "../src/node/fsio.js";
import { getTask } from "../src/tasks/index.js";
import { runBaselines, taskBaselines } from "../src/tasks/baselines.js";
import { arg, machineInfo } from "./machine.js";


async function main() {
  const tasks = (arg("tasks") ?? Object.keys(taskBaselines).join(",")).split(",");
  const K = Number(arg("seeds") ?? 5);
  if (!Number.isInteger(K) || K < 1) throw new Error(`--seeds: expected a positive integer, got ${arg("seeds")}`);
  const seeds = Array.from({ length: K }, (_, i) => i);
  mkdirSync("bench/results/baselines", { recursive: true });
  for (const task of tasks) {
    const spec = getTask(task);
    const opts = { ...spec.defaults };
    const t0 = performance.now();
    const baselines = await runBaselines(task, opts, seeds);
    const seconds = (performance.now() - t0) / 1000;
    const tb = taskBaselines[task];
    const file = `bench/results/baselines/${task}.json`;
    writeFileAtomic(file, JSON.stringify({ task, metric: tb.metric, higherIsBetter: tb.higherIsBetter, taskOptions: opts, seeds, baselines, seconds, machine: machineInfo() }, null, 2) + "\n");
    for (const b of baselines) process.stdout.write(`${task} ${b.name}: ${b.mean.toFixed(4)} ± ${b.ci.toFixed(4)} (${b.values.map((v) => v.toFixed(4)).join(" ")})\n`);
    process.stdout.write(`wrote ${file} (${seconds.toFixed(1)} s)\n`);
  }
  process.exit(0);
}

await main();
