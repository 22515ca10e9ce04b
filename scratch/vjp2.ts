import { initEngine, np, jax, array } from "../src/engine/index.js";
await initEngine();
const lower = (x: jax.Array, y: jax.Array) => y.ref.mul(y.ref).sum().mul(0.5).sub(x.mul(y).sum());
const run = (x: jax.Array, y: jax.Array) => {
  for (let t = 0; t < 2; t++) { const g = jax.grad((yy: jax.Array) => lower(x.ref, yy))(y.ref); y = y.sub(g.mul(0.5)); }
  x.dispose(); return y;
};
const f = (y0: jax.Array) => (x: jax.Array): [jax.Array, jax.Array] => { const yt = run(x.ref, y0.ref); return [yt.ref.mul(yt.ref).sum().add(x.ref.mul(x).sum()), yt]; };
try { const r = jax.valueAndGrad(f(array([0, 0])), { hasAux: true })(array([3, 4])) as any; console.log("eager nested ok", await r[1].jsAsync()); } catch (e) { console.log("eager nested fail", String(e)); }
const g = jax.jit((x: jax.Array, y: jax.Array) => { const [[v, a], gr] = jax.valueAndGrad(f(y), { hasAux: true })(x) as any; return [v, a, gr]; });
try { const r = g(array([3, 4]), array([0, 0])) as any; console.log("jit nested ok", await r[2].jsAsync()); } catch (e) { console.log("jit nested fail", String(e)); }
const f3 = (y0: jax.Array) => (x: jax.Array): [jax.Array, jax.Array] => { const yt = run(x.ref, y0.ref); return [yt.ref.mul(yt.ref).sum().add(x.ref.mul(x).sum()), jax.lax.stopGradient(yt)]; };
const g3 = jax.jit((x: jax.Array, y: jax.Array) => { const [[v, a], gr] = jax.valueAndGrad(f3(y), { hasAux: true })(x) as any; return [v, a, gr]; });
try { const r = g3(array([3, 4]), array([0, 0])) as any; console.log("jit nested stop ok", await r[2].jsAsync(), await r[1].jsAsync()); } catch (e) { console.log("jit nested stop fail", String(e)); }
const f4 = (y0: jax.Array) => (x: jax.Array) => { const yt = run(x.ref, y0.ref); return yt.ref.mul(yt).sum().add(x.ref.mul(x).sum()); };
try { const r = jax.valueAndGrad(f4(array([0, 0])))(array([3, 4])) as any; console.log("eager noaux ok", await r[1].jsAsync()); } catch (e) { console.log("eager noaux fail", String(e)); }
const f5 = (y0: jax.Array) => (x: jax.Array): [jax.Array, jax.Array] => { const yt = run(x.ref, y0.ref); return [yt.ref.mul(yt.ref).sum().add(x.ref.mul(x).sum()), yt]; };
try { const r = jax.vjp(f5(array([0, 0])), [array([3, 4])], { hasAux: true }) as any; console.log("eager vjp aux ok", await r[0].jsAsync(), await r[2].jsAsync()); } catch (e) { console.log("eager vjp aux fail", String(e)); }
