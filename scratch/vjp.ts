import { initEngine, np, jax, array } from "../src/engine/index.js";
await initEngine();
const y0 = array([1, 2]);
const f = (x: jax.Array): [jax.Array, jax.Array] => { const yt = x.ref.mul(y0.ref).add(1); return [yt.ref.mul(yt.ref).sum(), yt]; };
try { const [[v, yt], pb] = jax.vjp(f, [array([3, 4])]) as any; console.log("vjp tuple ok", await v.jsAsync()); } catch (e) { console.log("vjp tuple fail", String(e)); }
try { const r = jax.valueAndGrad(f, { hasAux: true })(array([3, 4])) as any; console.log("hasAux ok", await r[1].jsAsync()); } catch (e) { console.log("hasAux fail", String(e)); }
const g = jax.jit((x: jax.Array) => { const [[v, a], gr] = jax.valueAndGrad(f, { hasAux: true })(x) as any; return [v, a, gr]; });
try { const r = g(array([3, 4])) as any; console.log("jit hasAux ok", await r[2].jsAsync()); } catch (e) { console.log("jit hasAux fail", String(e)); }
const f2 = (x: jax.Array): [jax.Array, jax.Array] => { const yt = x.ref.mul(y0.ref).add(1); return [yt.ref.mul(yt.ref).sum(), jax.lax.stopGradient(yt)]; };
const g2 = jax.jit((x: jax.Array) => { const [[v, a], gr] = jax.valueAndGrad(f2, { hasAux: true })(x) as any; return [v, a, gr]; });
try { const r = g2(array([3, 4])) as any; console.log("jit hasAux stop ok", await r[2].jsAsync()); } catch (e) { console.log("jit hasAux stop fail", String(e)); }
