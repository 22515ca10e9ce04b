import { jax, np, wasmThreads } from "../src/engine/index.js";
await jax.init("wasm");
jax.defaultDevice("wasm");
console.log("threads", wasmThreads);
const f = (x: jax.Array) => np.exp(x.ref).sum().add(x.ref.mul(x).sum());
const x = np.array([0.1, 0.2, 0.3], { dtype: np.float64 });
const g = jax.grad(f)(x.ref);
console.log("grad", await g.jsAsync());
const v = np.array([1, 0, 0], { dtype: np.float64 });
// HVP forward-over-reverse
const [_, hv] = jax.jvp(jax.grad(f), [x.ref], [v]);
console.log("hvp", await hv.jsAsync(), _.dtype);
const n = 1024;
const A = jax.random.normal(jax.random.key(0), [n, n]);
const B = jax.random.normal(jax.random.key(1), [n, n]);
await jax.blockUntilReady([A, B]);
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const C = np.matmul(A.ref, B.ref);
  await C.blockUntilReady();
  const dt = performance.now() - t;
  console.log("matmul ms", dt.toFixed(1), "GFLOP/s", (2 * n ** 3 / dt / 1e6).toFixed(1));
  C.dispose();
}
setTimeout(() => { console.log((process as any)._getActiveHandles().map((h: any) => h.constructor.name)); }, 500).unref();
