import { test } from "node:test";
import assert from "node:assert/strict";
import { array, jax, liveBuffers, tadd, taxpy, tnorm, toNumber, trackBuffers, treeToFloat64, tvdot, tzerosLike, engineInfo } from "../src/engine/index.js";
import { setup } from "./helpers.js";

await setup();

test("engine runs float64 on wasm", () => {
  const info = engineInfo();
  assert.equal(info.device, "wasm");
  assert.equal(info.dtype, "float64");
  assert.ok(info.threads >= 1);
});

test("pytree helpers compute over every leaf", async () => {
  const a = { u: array([1, 2]), v: [array([3])] };
  const b = { u: array([10, 20]), v: [array([30])] };
  assert.deepEqual(Array.from(await treeToFloat64(tadd(jax.tree.ref(a), jax.tree.ref(b)))), [11, 22, 33]);
  assert.deepEqual(Array.from(await treeToFloat64(taxpy(2, jax.tree.ref(a), jax.tree.ref(b)))), [12, 24, 36]);
  assert.equal(await toNumber(tvdot(jax.tree.ref(a), jax.tree.ref(b))), 10 + 40 + 90);
  assert.ok(Math.abs((await toNumber(tnorm(jax.tree.ref(a)))) - Math.sqrt(14)) < 1e-12);
  assert.deepEqual(Array.from(await treeToFloat64(tzerosLike(a))), [0, 0, 0]);
  jax.tree.dispose(b);
});

test("second-order autodiff matches the exact Hessian-vector product", async () => {
  // f(x) = sum(x^3) -> H v = 6 x * v
  const f = (x: jax.Array) => x.ref.mul(x.ref).mul(x).sum();
  const x = array([0.5, -1, 2]);
  const v = array([1, 2, 3]);
  const [g, hv] = jax.jvp(jax.grad(f), [x], [v]) as unknown as [jax.Array, jax.Array];
  g.dispose();
  assert.deepEqual(Array.from(await treeToFloat64(hv)), [3, -12, 36]);
});

test("buffer tracking sees allocations and frees", async () => {
  await trackBuffers();
  const before = liveBuffers().count;
  const a = array([1, 2, 3, 4]); // data-backed: allocates now (np.ones stays lazy)
  assert.equal(liveBuffers().count, before + 1);
  a.dispose();
  assert.equal(liveBuffers().count, before);
});
