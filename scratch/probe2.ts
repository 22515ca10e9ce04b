import { initEngine, np, jax, trackBuffers, liveBuffers, array } from "../src/engine/index.js";
await initEngine({ dtype: "float64" });
await trackBuffers();
const x = array([1, 2, 3]);
console.log(liveBuffers());
const f = (x: jax.Array) => np.exp(x.ref).sum().add(x.ref.mul(x).sum());
for (let i = 0; i < 5; i++) { const g = jax.grad(f)(x.ref); await g.data(); console.log(liveBuffers()); }
const sig = (x: jax.Array) => jax.nn.sigmoid(x).sum();
for (let i = 0; i < 3; i++) { const g = jax.grad(sig)(x.ref); await g.data(); console.log("sig", liveBuffers()); }
