/**
 * Speed of the engine's element-wise math before and after patch 040-float64-math: ns per element of
 * exp, log, log1p, expm1, pow, sqrt, tanh, sigmoid, softplus, sin and cos on 2^18 elements, float32 and
 * float64, jitted, on the wasm backend with one thread. "before" is the unpatched @jax-js/jax 0.1.25 from
 * node_modules, "after" the engine bilevel ships; each runs in its own child process, alternating
 * (before, after, before, ...) for ROUNDS rounds so that a change in machine load hits both. Per case and
 * child: warm-up calls, then REPEATS timings of CALLS calls each. The figure is the median over all
 * timings of all rounds, with min and max as the spread. The float32 kernels are meant to be unchanged
 * (the patch emits new code for float64 kernels only), so their ratio measures the noise; the children
 * also hash every wasm module compiled for each case, and the parent checks that the float32 modules of
 * the two engines are byte-identical.
 *
 *   npm run bench:f64                                   # writes bench/results/engine-f64-math.json
 *   node dist/bench/engine-f64-math.js --child after    # one engine (internal)
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../src/node/fsio.js";
import { machineInfo, median } from "./machine.js";

const SIZE = 2 ** 18;
const WARMUP = 3;
const CALLS = 4;
const REPEATS = 5;
const ROUNDS = 3;

type Jx = typeof import("../src/engine/index.js").jax;
type Arr = import("../src/engine/index.js").Arr;

/** name -> [function, domain of its input as [lo, hi], the host reference for the accuracy figure] */
const CASES: Record<string, [(jx: Jx, a: Arr) => Arr, [number, number], (x: number) => number]> = {
  exp: [(jx, a) => jx.numpy.exp(a), [-20, 20], Math.exp],
  log: [(jx, a) => jx.numpy.log(a), [1e-3, 1e3], Math.log],
  log1p: [(jx, a) => jx.numpy.log1p(a), [-0.5, 10], Math.log1p],
  expm1: [(jx, a) => jx.numpy.expm1(a), [-5, 5], Math.expm1],
  "pow(x, 3)": [(jx, a) => jx.numpy.power(a, 3), [0.01, 10], (x) => x ** 3],
  "pow(x, x)": [(jx, a) => jx.numpy.power(a.ref, a), [0.01, 10], (x) => x ** x],
  sqrt: [(jx, a) => jx.numpy.sqrt(a), [0, 100], Math.sqrt],
  tanh: [(jx, a) => jx.numpy.tanh(a), [-5, 5], Math.tanh],
  sigmoid: [(jx, a) => jx.nn.sigmoid(a), [-20, 20], (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))],
  softplus: [(jx, a) => jx.nn.softplus(a), [-20, 20], (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))],
  sin: [(jx, a) => jx.numpy.sin(a), [-10, 10], Math.sin],
  cos: [(jx, a) => jx.numpy.cos(a), [-10, 10], Math.cos],
};

/** Largest distance in doubles between got[i] and ref(xs[i]) (both finite on these domains). */
function maxUlp(got: Float64Array, xs: number[], ref: (x: number) => number): number {
  const f = new Float64Array(2);
  const b = new BigInt64Array(f.buffer);
  const ord = (v: bigint) => (v < 0n ? -(v & 0x7fffffffffffffffn) : v);
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    f[0] = got[i];
    f[1] = ref(xs[i]);
    const d = Number(ord(b[0]) - ord(b[1]));
    worst = Math.max(worst, Math.abs(d));
  }
  return worst;
}

/** SHA-256 of every wasm module the engine compiles (the wasm backend uses these two entry points). */
const compiled: string[] = [];
function recordWasmModules(): void {
  const W = WebAssembly as unknown as { compile: (b: Uint8Array) => Promise<unknown>; Module: new (b: Uint8Array) => unknown };
  const sha = (b: Uint8Array) => compiled.push(createHash("sha256").update(b).digest("hex"));
  const compile = W.compile.bind(WebAssembly);
  W.compile = (b) => (sha(b), compile(b));
  const Module = W.Module;
  W.Module = class extends (Module as new (b: Uint8Array) => object) {
    constructor(b: Uint8Array) {
      sha(b);
      super(b);
    }
  } as never;
}

async function child(which: "before" | "after"): Promise<void> {
  recordWasmModules();
  let jx: Jx;
  if (which === "after") {
    const eng = await import("../src/engine/index.js");
    await eng.initEngine({ dtype: "float32" });
    jx = eng.jax;
  } else {
    await import("../src/engine/setup.js"); // the same host polyfills, then the pristine package
    jx = (await import("@jax-js/jax" as string)) as Jx;
    await jx.init("wasm");
    jx.defaultDevice("wasm");
  }
  const np = jx.numpy;
  const rows: Record<string, unknown>[] = [];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [name, [f, [lo, hi], ref]] of Object.entries(CASES)) {
      const host = Array.from({ length: SIZE }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / SIZE);
      const x = np.array(host, { dtype: dtype === "float64" ? np.float64 : np.float32 });
      const jf = jx.jit((a: Arr) => f(jx, a));
      const run = async () => {
        const y = jf(x.ref) as Arr;
        await y.blockUntilReady();
        y.dispose();
      };
      for (let i = 0; i < WARMUP; i++) await run();
      const wasm = compiled.splice(0);
      const nsPerElem: number[] = [];
      for (let r = 0; r < REPEATS; r++) {
        const t0 = performance.now();
        for (let c = 0; c < CALLS; c++) await run();
        nsPerElem.push(((performance.now() - t0) * 1e6) / (CALLS * SIZE));
      }
      const ulp = dtype === "float64" ? maxUlp((await (jf(x.ref) as Arr).data()) as Float64Array, host, ref) : null;
      jf.dispose();
      x.dispose();
      rows.push({ engine: which, dtype, fn: name, nsPerElem, wasm, ulp });
    }
  }
  process.stdout.write(JSON.stringify(rows) + "\n");
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const samples = new Map<string, number[]>();
  const wasm = new Map<string, string[]>();
  const ulps = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++)
    for (const which of ["before", "after"]) {
      const out = spawnSync(process.execPath, [self, "--child", which], { env: { ...process.env, BILEVEL_THREADS: "1" }, encoding: "utf8" });
      if (out.status !== 0) throw new Error(`${which}: ${out.stderr.trim().split("\n").pop()}`);
      for (const r of JSON.parse(out.stdout.trim().split("\n").pop()!) as { engine: string; dtype: string; fn: string; nsPerElem: number[]; wasm: string[]; ulp: number | null }[]) {
        const key = `${r.engine}|${r.dtype}|${r.fn}`;
        if (round === 0) wasm.set(key, r.wasm);
        if (round === 0 && r.ulp !== null) ulps.set(key, r.ulp);
        samples.set(key, [...(samples.get(key) ?? []), ...r.nsPerElem]);
      }
      console.log(`round ${round + 1}/${ROUNDS}: ${which} done`);
    }
  const stat = (engine: string, dtype: string, fn: string) => {
    const v = samples.get(`${engine}|${dtype}|${fn}`)!;
    return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
  };
  const summary: Record<string, unknown>[] = [];
  console.log(`ns/element (median of ${ROUNDS * REPEATS}; 2^18 elements, jit, 1 thread)   float32 before -> after   float64 before -> after   float64 max ulp before -> after`);
  for (const fn of Object.keys(CASES)) {
    const row = {
      fn,
      float32: { before: stat("before", "float32", fn), after: stat("after", "float32", fn) },
      float64: { before: stat("before", "float64", fn), after: stat("after", "float64", fn) },
      float32Ratio: stat("after", "float32", fn).median / stat("before", "float32", fn).median,
      /** the float32 kernels compiled by the two engines are the same wasm bytes */
      float32WasmIdentical: JSON.stringify(wasm.get(`before|float32|${fn}`)) === JSON.stringify(wasm.get(`after|float32|${fn}`)),
      float32Kernels: wasm.get(`after|float32|${fn}`)!.length,
      float64Ratio: stat("after", "float64", fn).median / stat("before", "float64", fn).median,
      /** max ulp from the host's Math of the float64 results on the timed grid */
      float64MaxUlp: { before: ulps.get(`before|float64|${fn}`), after: ulps.get(`after|float64|${fn}`) },
    };
    summary.push(row);
    const f = (v: number) => v.toFixed(2).padStart(7);
    console.log(
      `${fn.padEnd(12)} ${f(row.float32.before.median)} -> ${f(row.float32.after.median)}  (x${row.float32Ratio.toFixed(2)}, wasm ${row.float32WasmIdentical ? "identical" : "DIFFERENT"})   ${f(row.float64.before.median)} -> ${f(row.float64.after.median)}  (x${row.float64Ratio.toFixed(2)})   ulp ${row.float64MaxUlp.before} -> ${row.float64MaxUlp.after}`,
    );
  }
  const file = fileURLToPath(new URL("../../bench/results/engine-f64-math.json", import.meta.url));
  writeFileAtomic(
    file,
    JSON.stringify({ benchmark: "engine-f64-math", unit: "ns per element", size: SIZE, warmup: WARMUP, calls: CALLS, repeats: REPEATS, rounds: ROUNDS, threads: 1, machine: machineInfo(), summary }, null, 2) + "\n",
  );
  console.log(`wrote ${file}`);
}

if (process.argv[2] === "--child") await child(process.argv[3] as "before" | "after");
else parent();
