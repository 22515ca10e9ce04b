/**
 * ms per outer step of the foundation solvers on toy-sc (n = 10 and n = 1000), with 1 and 2 wasm threads.
 * Each configuration runs in a child process (the thread count is fixed at start-up): warm-up steps,
 * then the median step time over several repeats. Prints a table and writes bench/results/toy-speed.json.
 *
 *   npm run bench            # all solvers, both sizes, 1 and 2 threads
 *   node dist/bench/toy-speed.js --child itd 10   # one configuration (internal)
 */
import "../src/node/host.js"; // the Node set-up before the engine loads
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { machineInfo, median } from "./machine.js";

const SOLVERS = ["itd", "aid-cg", "aid-neumann", "bome"];
const SIZES = [10, 1000];
const WARMUP = 5;
const STEPS = 40;
const REPEATS = 3;

async function child(solver: string, n: number): Promise<void> {
  const { runTask } = await import("../src/experiment.js");
  const { engineInfo } = await import("../src/engine/index.js");
  const medians: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const stamps: number[] = [];
    await runTask({
      task: "toy-sc",
      solver,
      steps: WARMUP + STEPS,
      evalEvery: WARMUP + STEPS,
      set: { n: String(n) },
      dtype: "float32",
      onStep: () => stamps.push(performance.now()),
    });
    const d = stamps.slice(WARMUP).map((t, i) => t - stamps[WARMUP + i - 1]);
    medians.push(median(d));
  }
  process.stdout.write(JSON.stringify({ solver, n, threads: engineInfo().threads, msPerStep: median(medians), repeats: medians }) + "\n");
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const rows: Record<string, unknown>[] = [];
  for (const threads of [1, 2])
    for (const n of SIZES)
      for (const solver of SOLVERS) {
        const out = spawnSync(process.execPath, [self, "--child", solver, String(n)], {
          env: { ...process.env, BILEVEL_THREADS: String(threads) },
          encoding: "utf8",
        });
        if (out.status !== 0) {
          console.error(`${solver} n=${n} threads=${threads} failed: ${out.stderr.trim().split("\n").pop()}`);
          continue;
        }
        const row = JSON.parse(out.stdout.trim().split("\n").pop()!);
        rows.push(row);
        console.log(`${solver.padEnd(12)} n=${String(n).padEnd(5)} threads=${threads}  ${row.msPerStep.toFixed(2)} ms/step`);
      }
  const dir = fileURLToPath(new URL("../../bench/results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}toy-speed.json`;
  writeFileSync(file, JSON.stringify({ benchmark: "toy-speed", task: "toy-sc", warmup: WARMUP, steps: STEPS, repeats: REPEATS, machine: machineInfo(), rows }, null, 2) + "\n");
  console.log(`wrote ${file}`);
}

if (process.argv[2] === "--child") await child(process.argv[3], Number(process.argv[4]));
else parent();
