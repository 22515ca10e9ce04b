/**
 * jax-js 0.1.25 `jit` bugs that bilevel's shipped engine patches (patches/jax/, explained in
 * patches/README.md). The repros live in ./engine-repros.ts (run here on the repository's engine, in
 * test/package.test.ts on an installed tarball); the last test here runs them on the unpatched
 * @jax-js/jax (a devDependency) and checks that each bug repro fails there.
 */
import "../src/node/host.js"; // first: the worker pool (2 threads) exists only if the Node set-up runs before the engine loads
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { jax, liveBuffers, np, peakBufferBytes, resetPeakBuffers, trackBuffers, tref, type Arr } from "../src/engine/index.js";
import { hvpYY, neumann } from "../src/oracles/index.js";
import { setup } from "./helpers.js";
import { engineRepros, read, reuseChain } from "./engine-repros.js";


// Child mode (bug 4): compile a Neumann series under jit in a separate process, so that the
// exponential compile of the unpatched package is killed by a timeout instead of hanging the suite.
const NEUMANN_ITERS = 12;
if (process.env.BILEVEL_ENGINE_JIT_CHILD === "neumann") {
  await setup("float64");
  const n = 4;
  const half = (v: Arr): Arr => v.ref.mul(v).sum().mul(0.5);
  // toy-lls' lower level: y = {y1, y2}, f does not depend on y2
  const lower = (x: Arr, y: { y1: Arr; y2: Arr }): Arr => {
    y.y2.dispose();
    return half(y.y1.ref).sub(x.mul(y.y1).sum());
  };
  const body = (x: Arr, y: { y1: Arr; y2: Arr }) =>
    neumann((v) => hvpYY(lower as never, tref(x), tref(y), v), { y1: np.ones([n], { dtype: np.float64 }), y2: np.ones([n], { dtype: np.float64 }) }, NEUMANN_ITERS, 0.1);
  const z = () => np.zeros([n], { dtype: np.float64 });
  const t0 = Date.now();
  const f = jax.jit(body);
  const out = f(z(), { y1: z(), y2: z() }) as { y1: Arr; y2: Arr };
  const y1 = await read(out.y1);
  const y2 = await read(out.y2);
  f.dispose();
  process.stdout.write(JSON.stringify({ ms: Date.now() - t0, y1, y2 }) + "\n");
  process.exit(0);
}

// Child mode: the repros against the unpatched @jax-js/jax 0.1.25 from node_modules.
if (process.env.BILEVEL_ENGINE_JIT_CHILD === "unpatched") {
  // Same host set-up as the shipped engine (polyfills, one thread), then the pristine package.
  const pristine = (await import("@jax-js/jax" as string)) as typeof jax;
  await pristine.init("wasm");
  pristine.defaultDevice("wasm");
  const results: Record<string, boolean> = {};
  for (const r of engineRepros(pristine)) {
    try {
      await r.run();
      results[r.name] = true;
    } catch {
      results[r.name] = false;
    }
  }
  process.stdout.write(JSON.stringify(results) + "\n");
  process.exit(0);
}

await setup("float64");

for (const r of engineRepros(jax)) test(r.name, r.run);

test(`a ${NEUMANN_ITERS}-term Neumann series (toy-lls AID) compiles under jit in seconds and matches the closed form (bug 4: exponential fusion)`, () => {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, BILEVEL_ENGINE_JIT_CHILD: "neumann", BILEVEL_THREADS: "1" },
    timeout: 30_000,
    encoding: "utf8",
  });
  assert.equal(r.signal, null, `the jit compile did not finish in 30 s (killed by ${r.signal})`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ms: number; y1: number[]; y2: number[] };
  // H = diag(1 on y1, 0 on y2): v = alpha sum_{j<=K} (I - alpha H)^j 1
  const K = NEUMANN_ITERS;
  const y1 = 0.1 * Array.from({ length: K + 1 }, (_, j) => 0.9 ** j).reduce((s, t) => s + t, 0);
  for (const v of out.y1) assert.ok(Math.abs(v - y1) < 1e-12, `y1 ${v} vs ${y1}`);
  for (const v of out.y2) assert.ok(Math.abs(v - 0.1 * (K + 1)) < 1e-12, `y2 ${v}`);
  assert.ok(out.ms < 15_000, `compile + run took ${out.ms} ms`);
});

test("on the unpatched @jax-js/jax 0.1.25 the float64 literal and SIMD-tile repros fail and the guards hold", () => {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, BILEVEL_ENGINE_JIT_CHILD: "unpatched", BILEVEL_THREADS: "1" },
    timeout: 60_000,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const passed = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, boolean>;
  const repros = engineRepros(jax);
  assert.equal(Object.keys(passed).length, repros.length);
  for (const rep of repros) assert.equal(passed[rep.name], !rep.failsUnpatched, `${rep.name} on the unpatched engine`);
});

test("a jitted chain's peak buffer memory does not grow with its length (patch 100: freed intermediates are reused)", async () => {
  await trackBuffers();
  // rounds of x <- x + rowsum(A r) - colmax(x + rowsum(A r)) on a [3000, 10] x: a few intermediates per
  // round, each freed after the round; before patch 100 all of them were alive until the program ended
  const peak = async (rounds: number): Promise<number> => {
    const f = reuseChain(jax, rounds);
    const [x, a] = [np.ones([3000, 10], { dtype: np.float32 }), np.ones([10, 10], { dtype: np.float32 })];
    await x.blockUntilReady();
    await a.blockUntilReady();
    resetPeakBuffers();
    const before = liveBuffers().bytes;
    await f(x, a).blockUntilReady().then((y) => y.dispose());
    f.dispose();
    return peakBufferBytes() - before;
  };
  const [short, long] = [await peak(8), await peak(32)];
  assert.ok(short > 0, `peak ${short}`);
  assert.equal(long, short, `peak live bytes above the inputs: ${short} at 8 rounds, ${long} at 32`);
});
