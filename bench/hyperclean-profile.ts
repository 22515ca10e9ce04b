/**
 * Per-kernel profile of one jitted outer step on hyperclean-mnist (`node dist/bench/hyperclean-profile.js
 * --solvers bome,itd,aid-cg --steps 5`): runs with one wasm thread, so every kernel runs synchronously on
 * the calling thread and can be timed alone; wraps the backend's `dispatch` and groups kernels by shape
 * (output size, reduction size, argument count). Prints, per solver, kernels per step, total kernel time
 * per step, and the groups that take the most time (ms per step, GFLOP/s for reductions). A diagnostic:
 * its times are one-thread times, not benchmark figures (those come from bench/vs-torch.ts).
 */
process.env.BILEVEL_THREADS = "1";
await import("../src/node/host.js");
const { initEngine, jax } = await import("../src/engine/index.js");
const { _getBackend } = await import("../src/engine/jaxjs.js");
const { arg, tunedStart } = await import("./machine.js");
const { getTask } = await import("../src/tasks/index.js");

const STEPS = Number(arg("steps", "5"));
const SOLVERS = arg("solvers", "bome,itd,aid-cg").split(",");
const TOP = Number(arg("top", "15"));
const SHOW = process.argv.includes("--exp");

await initEngine({ dtype: "float32" });
const backend = _getBackend() as unknown as { dispatch: (exe: any, i: number[], o: number[]) => void };
type Row = { n: number; ms: number; desc: string; flops: number; exp: string };
let rows = new Map<string, Row>();
let on = false;
const orig = backend.dispatch.bind(backend);
backend.dispatch = (exe, inputs, outputs) => {
  if (!on) return orig(exe, inputs, outputs);
  const t0 = performance.now();
  orig(exe, inputs, outputs);
  const ms = performance.now() - t0;
  const src = exe.source;
  const red = src.reduction;
  const key = red ? `red size=${src.size} k=${red.size} op=${red.op} nargs=${src.nargs}` : src.size !== undefined ? `ew size=${src.size} nargs=${src.nargs}` : `routine ${src.name}`;
  const r = rows.get(key) ?? { n: 0, ms: 0, desc: key, flops: red ? 2 * src.size * red.size : 0, exp: SHOW ? String(src).slice(0, 1500) : "" };
  r.n++;
  r.ms += ms;
  rows.set(key, r);
};

const task = getTask("hyperclean-mnist");
const p = await task.create(task.defaults, 0);
for (const name of SOLVERS) {
  const run = tunedStart(task, p, name);
  const inst = run.inst;
  let state = run.state;
  const wall: number[] = [];
  for (let k = 0; k < 2 + STEPS; k++) {
    if (k === 2) { rows = new Map(); on = true; }
    const t0 = performance.now();
    state = inst.step(state, k);
    await jax.blockUntilReady(state);
    if (k >= 2) wall.push(performance.now() - t0);
    await new Promise((r) => setImmediate(r));
  }
  on = false;
  jax.tree.dispose(state);
  inst.dispose();
  const all = [...rows.values()].sort((a, b) => b.ms - a.ms);
  const kernels = all.reduce((s, r) => s + r.n, 0) / STEPS;
  const kms = all.reduce((s, r) => s + r.ms, 0) / STEPS;
  const wms = wall.reduce((s, v) => s + v, 0) / STEPS;
  console.log(`\n${name}: wall ${wms.toFixed(1)} ms/step, kernels ${kms.toFixed(1)} ms/step, ${kernels} kernels/step`);
  for (const r of all.slice(0, TOP)) {
    const g = r.flops ? `  ${((r.flops * r.n) / (r.ms * 1e6)).toFixed(1)} GFLOP/s` : "";
    console.log(`  ${(r.ms / STEPS).toFixed(2).padStart(7)} ms  x${(r.n / STEPS).toFixed(0).padStart(3)}  ${r.desc}${g}`);
    if (SHOW) console.log(`      ${r.exp.replace(/\n/g, "\n      ")}`);
  }
}
process.exit(0);
