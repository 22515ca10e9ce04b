/**
 * The two skinny products of hyper-cleaning, timed alone (`node dist/bench/skinny-matmul.js [--threads 1]
 * [--calls 40] [--n 5000]`): X W^T ([n, 784] x [784, 10]) and G^T X ([10, n] x [n, 784]) under jit,
 * float32, minimum and median ms per call after warm-up, and GFLOP/s. A diagnostic for kernel work
 * (docs/engine-speed.md); whole-step figures come only from bench/vs-torch.ts.
 */
// the thread count must be set before the engine loads, so no static import of anything that loads it
const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
};
process.env.BILEVEL_THREADS = arg("threads", process.env.BILEVEL_THREADS ?? "2");
await import("../src/node/host.js");
const { initEngine, jax, np } = await import("../src/engine/index.js");

const N = Number(arg("n", "5000"));
const D = 784;
const C = 10;
const CALLS = Number(arg("calls", "40"));
await initEngine({ dtype: "float32" });
const rnd = (n: number, seed: number) => {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = (s / 2 ** 32) - 0.5; }
  return a;
};
const X = np.array(rnd(N * D, 1)).reshape([N, D]);
const W = np.array(rnd(C * D, 2)).reshape([C, D]);
const G = np.array(rnd(N * C, 3)).reshape([N, C]);
const xwt = jax.jit((x: any, w: any) => np.matmul(x, w.transpose()));
const gtx = jax.jit((g: any, x: any) => np.matmul(g.transpose(), x));
const flops = 2 * N * D * C;
async function time(name: string, f: () => any) {
  const ms: number[] = [];
  for (let i = 0; i < CALLS + 5; i++) {
    const t0 = performance.now();
    const out = f();
    await jax.blockUntilReady(out);
    if (i >= 5) ms.push(performance.now() - t0);
    out.dispose();
  }
  ms.sort((a, b) => a - b);
  const med = ms[Math.floor(ms.length / 2)];
  console.log(`${name.padEnd(8)} min ${ms[0].toFixed(2)} ms  median ${med.toFixed(2)} ms  ${(flops / ms[0] / 1e6).toFixed(1)} GFLOP/s (min)`);
}
await time("X W^T", () => xwt(X.ref, W.ref));
await time("G^T X", () => gtx(G.ref, X.ref));
process.exit(0);
