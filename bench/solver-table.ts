/**
 * The solver x toy table of issue 3: every registered solver on the closed-form toys it is checked on,
 * with the task's tuned defaults (exactly what `bilevel run <toy> --solver <s>` does). Per row: the
 * acceptance metric and its threshold, steps taken, wall seconds and ms per outer step.
 * Prints a markdown table and writes bench/results/solver-table.{json,md}.
 *
 *   npm run bench:solvers              # every row, seed 0
 *   node dist/bench/solver-table.js --only toy-sc   # rows of one toy
 */
import "../src/node/host.js"; // the Node set-up before the engine loads
import { mkdirSync, writeFileSync } from "node:fs";
import { runTask } from "../src/experiment.js";
import { arg, machineInfo } from "./machine.js";

interface Row {
  task: string;
  set?: Record<string, string>;
  solver: string;
  /** Metric of `final` that the acceptance bounds, and the bound (value < bound). */
  metric: string;
  bound: number;
  /** |metric - target| < bound instead of metric < bound. */
  target?: number;
}

const DETERMINISTIC = ["itd", "aid-cg", "aid-neumann", "bome", "bamm", "bda", "lvhba", "borep", "fo", "ufo", "penalty", "bvfsm", "f2sa", "soba", "stocbio"];
const ROWS: Row[] = [
  ...["bamm", "bda", "bome", "lvhba", "bvfsm"].map((solver) => ({ task: "toy-lls", solver, metric: "distanceToOptimum", bound: 1e-2 })),
  ...DETERMINISTIC.map((solver) => ({ task: "toy-sc", solver, metric: "distanceToOptimum", bound: 1e-3 })),
  ...DETERMINISTIC.map((solver) => ({ task: "toy-sc", set: { random: "true" }, solver, metric: "distanceToOptimum", bound: 1e-3 })),
  { task: "toy-constrained", solver: "lvhba", metric: "distanceToOptimum", bound: 1e-2 },
  { task: "toy-constrained", solver: "lvhba", metric: "constraintViolation", bound: 1e-3 },
  { task: "toy-ufo", solver: "fo", metric: "theta", target: 3.311, bound: 0.05 },
  { task: "toy-ufo", solver: "ufo", metric: "theta", target: 1.633, bound: 0.1 },
  ...["soba", "stocbio", "f2sa"].map((solver) => ({ task: "toy-quadratic", solver, metric: "hypergradNorm", bound: 1e-2 })),
];


async function main() {
  const only = arg("only");
  const out: Record<string, unknown>[] = [];
  const lines = ["| toy | solver | metric | value | bound | ok | steps | seconds | ms/step |", "|---|---|---|---|---|---|---|---|---|"];
  const cache = new Map<string, Awaited<ReturnType<typeof runTask>>>();
  for (const row of ROWS) {
    if (only && row.task !== only) continue;
    const key = `${row.task} ${JSON.stringify(row.set ?? {})} ${row.solver}`;
    let run = cache.get(key);
    if (!run) {
      run = await runTask({ task: row.task, solver: row.solver, set: row.set, seed: 0 });
      cache.set(key, run);
    }
    const r = run.record;
    const value = r.final[row.metric];
    const dev = row.target === undefined ? value : Math.abs(value - row.target);
    const ok = r.status === "completed" && Number.isFinite(dev) && dev < row.bound;
    const toy = row.task + (row.set ? ` ${Object.entries(row.set).map(([k, v]) => `${k}=${v}`).join(" ")}` : "");
    const shown = row.target === undefined ? `${row.metric} < ${row.bound}` : `|${row.metric} - ${row.target}| < ${row.bound}`;
    out.push({ toy, solver: row.solver, metric: row.metric, value, target: row.target, bound: row.bound, ok, status: r.status, steps: r.stepsTaken, seconds: r.wallSeconds, msPerStep: r.msPerStep });
    const line = `| ${toy} | ${row.solver} | ${shown} | ${value.toExponential(2)} | ${row.bound} | ${ok ? "yes" : "NO"} | ${r.stepsTaken} | ${r.wallSeconds.toFixed(1)} | ${r.msPerStep.toFixed(2)} |`;
    lines.push(line);
    process.stdout.write(line + "\n");
  }
  mkdirSync("bench/results", { recursive: true });
  const file = only ? `bench/results/solver-table-${only}` : "bench/results/solver-table";
  writeFileSync(`${file}.json`, JSON.stringify({ machine: machineInfo(), rows: out }, null, 2) + "\n");
  writeFileSync(`${file}.md`, lines.join("\n") + "\n");
  process.stdout.write(`wrote ${file}.json and ${file}.md\n`);
  process.exit(0);
}

await main();
