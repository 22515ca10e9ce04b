/**
 * Speed of the hot path on hyperclean-mnist (issue 4, item 4), in one process:
 *   - ms per outer step (median over >= 20 steps after warm-up) of bome, itd, aid-cg with the task's
 *     reference settings (T = 10 inner steps; aid-cg 10 CG iterations), each step jitted;
 *   - the time of one full-batch lower-level gradient (grad_x f and grad_y f, jitted);
 *   - matmul GFLOP/s of the engine on the hot shapes and a square product;
 *   - machine info.
 * Writes JSON (default out/hyperclean-speed.json; `--out FILE`, `--steps N`, `--warmup N`, `--solvers a,b`,
 * `--threads N` (default: BILEVEL_THREADS, else both cores)).
 * Timing waits with `jax.blockUntilReady` (no host copies). The comparison with PyTorch is
 * bench/vs-torch.ts (both run side by side in one sitting).
 */
import "../src/node/host.js"; // the Node set-up before the engine loads
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { engineInfo, initEngine, jax, np, zeros, type Arr, type Tree } from "../src/engine/index.js";
import { getTask } from "../src/tasks/index.js";
import { arg, tunedStart } from "./machine.js";

const STEPS = Number(arg("steps", "20"));
const WARMUP = Number(arg("warmup", "3"));
const OUT = arg("out", "out/hyperclean-speed.json");
const SOLVERS = arg("solvers", "bome,itd,aid-cg").split(",");
const THREADS = arg("threads", "");

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stats = (v: number[]) => ({ median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length });
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Median ms of `fn` (which returns a tree to wait on and then dispose) over `reps` calls after `warm`. */
async function timeIt(fn: () => Tree, reps: number, warm = 2): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < warm + reps; r++) {
    const t0 = performance.now();
    const res = fn();
    await jax.blockUntilReady(res);
    const ms = performance.now() - t0;
    jax.tree.dispose(res);
    if (r >= warm) out.push(ms);
    await new Promise((r2) => setImmediate(r2));
  }
  return out;
}

async function main() {
  await initEngine({ dtype: "float32", ...(THREADS ? { threads: Number(THREADS) } : {}) });
  const task = getTask("hyperclean-mnist");
  const p = await task.create(task.defaults, 0);
  const result: Record<string, unknown> = {
    task: "hyperclean-mnist",
    date: new Date().toISOString(),
    engine: engineInfo(),
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      cores: os.availableParallelism?.() ?? os.cpus().length,
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      loadavg: os.loadavg().map((v) => round(v)),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
    },
    settings: { steps: STEPS, warmup: WARMUP, dtype: "float32" },
  };

  // ms per outer step
  const perStep: Record<string, unknown> = {};
  for (const name of SOLVERS) {
    const run = tunedStart(task, p, name);
    const inst = run.inst;
    let state = run.state;
    const times: number[] = [];
    let compileMs = 0;
    for (let k = 0; k < WARMUP + STEPS; k++) {
      const t0 = performance.now();
      state = inst.step(state, k);
      await jax.blockUntilReady(state);
      const ms = performance.now() - t0;
      if (k === 0) compileMs = ms;
      if (k >= WARMUP) times.push(ms);
      await new Promise((r) => setImmediate(r));
    }
    jax.tree.dispose(state);
    inst.dispose();
    const s = stats(times);
    perStep[name] = { options: run.options, msPerStep: round(s.median), min: round(s.min), max: round(s.max), steps: s.n, firstStepMs: round(compileMs) };
    process.stderr.write(`${name}: median ${s.median.toFixed(1)} ms/step (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}; first step ${compileMs.toFixed(0)} ms)\n`);
  }
  result.outerStep = perStep;

  // one full-batch lower-level gradient (x and y), jitted
  const init = p.init(0) as { x: Arr; y: Tree };
  const gradLower = jax.jit((x: Arr, y: Tree) => jax.grad((xx: Arr, yy: Tree) => p.lower(xx, yy), { argnums: [0, 1] })(x, y) as unknown as Tree);
  const gy = await timeIt(() => gradLower(init.x.ref, jax.tree.ref(init.y) as never), 20, 3);
  const gradLowerY = jax.jit((x: Arr, y: Tree) => jax.grad((yy: Tree) => p.lower(x, yy))(y) as Tree);
  const gyOnly = await timeIt(() => gradLowerY(init.x.ref, jax.tree.ref(init.y) as never), 20, 3);
  gradLower.dispose();
  gradLowerY.dispose();
  jax.tree.dispose([init.x, init.y]);
  result.lowerGradient = { msGradXY: round(median(gy)), msGradY: round(median(gyOnly)) };
  process.stderr.write(`lower gradient (x, y): ${median(gy).toFixed(1)} ms; (y only): ${median(gyOnly).toFixed(1)} ms\n`);

  // matmul throughput on the hot shapes and a square product
  const rnd = (shape: number[], seed: number) => jax.random.uniform(jax.random.key(seed), shape);
  const cases: { name: string; a: number[]; b: number[]; fn: (a: Arr, b: Arr) => Arr; flops: number }[] = [
    { name: "X W^T  [5000,784] x [10,784]^T", a: [5000, 784], b: [10, 784], fn: (a, b) => np.matmul(a, b.transpose()), flops: 2 * 5000 * 784 * 10 },
    { name: "G^T X  [5000,10]^T x [5000,784]", a: [5000, 10], b: [5000, 784], fn: (a, b) => np.matmul(a.transpose(), b), flops: 2 * 5000 * 784 * 10 },
    { name: "square [1024,1024] x [1024,1024]", a: [1024, 1024], b: [1024, 1024], fn: (a, b) => np.matmul(a, b), flops: 2 * 1024 ** 3 },
  ];
  const mm: Record<string, unknown> = {};
  for (const c of cases) {
    const A = rnd(c.a, 1);
    const B = rnd(c.b, 2);
    const f = jax.jit(c.fn);
    const t = median(await timeIt(() => f(A.ref, B.ref), 10, 2));
    f.dispose();
    A.dispose();
    B.dispose();
    mm[c.name] = { ms: round(t, 3), gflops: round(c.flops / (t * 1e6)) };
    process.stderr.write(`matmul ${c.name}: ${t.toFixed(2)} ms, ${(c.flops / (t * 1e6)).toFixed(2)} GFLOP/s\n`);
  }
  result.matmul = mm;
  zeros([1]).dispose();

  fs.mkdirSync(path.dirname(path.resolve(OUT)), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  process.stderr.write(`wrote ${OUT}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`hyperclean-speed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
