/**
 * Custom derivative rules in the shipped engine (patches/jax/030-custom-vjp.patch): `jax.customVjp` and
 * `jax.customJvp` under grad, vjp, jit (both orders), nested grad and a bwd that itself uses grad,
 * checked against float64 central finite differences; live buffers stay flat in a loop.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { jax, liveBuffers, np, trackBuffers, type Arr } from "../src/engine/index.js";
import * as bilevel from "../src/index.js";
import * as bilevelJax from "../src/jax.js";
import { relErr, setup } from "./helpers.js";

await setup("float64");

const f64 = (v: number[]): Arr => np.array(v, { dtype: np.float64 });
const read = async (a: Arr): Promise<number[]> => Array.from((await a.data()) as Float64Array);

/** Central differences of a scalar function of a vector (host side, float64). */
async function fdGrad(fn: (x: Arr) => Arr, x: number[], h = 1e-5): Promise<number[]> {
  const g: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const xp = x.slice();
    const xm = x.slice();
    xp[i] += h;
    xm[i] -= h;
    const [fp] = await read(fn(f64(xp)));
    const [fm] = await read(fn(f64(xm)));
    g.push((fp - fm) / (2 * h));
  }
  return g;
}

// x^3 with a hand-written VJP (polynomials: float64 exact to rounding, so finite differences are
// sharp); `scale` lets a test tell the custom rule from autodiff through f.
const cube = (x: Arr): Arr => x.ref.mul(x.ref).mul(x);
const customCube = (scale: number) =>
  jax.customVjp(
    (x: Arr) => cube(x),
    (x: Arr) => [cube(x.ref), x.ref.mul(x).mul(3)] as [Arr, Arr],
    (d: Arr, ct: Arr) => [d.mul(ct).mul(scale)],
  );
const cubev = customCube(1);
const loss = (x: Arr): Arr => np.square(cubev(x.ref)).mul(f64([1, 2, 3])).sum().add(x.sum().mul(0.5));
const x0 = [0.3, -1.1, 0.8];
const lossWant = (x: number[]): number => x.reduce((s, xi, i) => s + (i + 1) * xi ** 6 + 0.5 * xi, 0);

test("customVjp is exported by bilevel/jax and by bilevel's jax", () => {
  assert.equal(typeof bilevelJax.customVjp, "function");
  assert.equal(typeof bilevel.jax.customVjp, "function");
  assert.equal(typeof bilevelJax.customJvp, "function");
});

test("customVjp: eager value, grad and vjp against float64 finite differences; the rule is used", async () => {
  const [v] = await read(loss(f64(x0)));
  assert.ok(Math.abs(v - lossWant(x0)) < 1e-12, `value ${v} vs ${lossWant(x0)}`);
  const g = await read(jax.grad(loss)(f64(x0)));
  const fd = await fdGrad(loss, x0);
  assert.ok(relErr(g, fd) < 1e-8, `grad ${g} vs fd ${fd}`);
  // A rule that doubles the cotangent doubles the gradient: grad follows bwd, not autodiff through f.
  const twice = customCube(2);
  const g2 = await read(jax.grad((x: Arr) => twice(x).sum())(f64(x0)));
  assert.ok(relErr(g2, x0.map((xi) => 6 * xi * xi)) < 1e-12, `doubled rule: ${g2}`);
  const [y, back] = jax.vjp(cubev, [f64(x0)]);
  const [ct] = back(f64([1, -2, 0.5]));
  assert.ok(relErr(await read(y), x0.map((xi) => xi ** 3)) < 1e-12);
  assert.ok(relErr(await read(ct as Arr), x0.map((xi, i) => 3 * xi * xi * [1, -2, 0.5][i])) < 1e-12);
  back.dispose();
});

test("customVjp: pytree arguments, outputs and residuals", async () => {
  // out = { p: a * b, s: sum(a) }, with VJP (ct.p * b, ct.p * a + 0) + (ct.s, 0).
  const h = jax.customVjp(
    (ab: { a: Arr; b: Arr }) => ({ p: ab.a.ref.mul(ab.b), s: ab.a.sum() }),
    (ab: { a: Arr; b: Arr }) => [{ p: ab.a.ref.mul(ab.b.ref), s: ab.a.ref.sum() }, [ab.a, ab.b]] as [{ p: Arr; s: Arr }, Arr[]],
    ([a, b]: Arr[], ct: { p: Arr; s: Arr }) => [{ a: ct.p.ref.mul(b).add(ct.s), b: ct.p.mul(a) }],
  );
  const objective = (a: Arr, b: Arr): Arr => {
    const o = h({ a, b });
    return np.square(o.p).sum().add(np.square(o.s));
  };
  const a0 = [0.5, -1.5];
  const b0 = [2.0, 0.25];
  const [ga, gb] = jax.grad(objective, { argnums: [0, 1] })(f64(a0), f64(b0)) as [Arr, Arr];
  const fdA = await fdGrad((a) => objective(a, f64(b0)), a0);
  const fdB = await fdGrad((b) => objective(f64(a0), b), b0);
  assert.ok(relErr(await read(ga), fdA) < 1e-8);
  assert.ok(relErr(await read(gb), fdB) < 1e-8);
});

test("customVjp under jit: jit(f), jit(grad(f)) and grad(jit(f)) agree with eager and finite differences", async () => {
  const fd = await fdGrad(loss, x0);
  const jf = jax.jit(loss);
  const [v] = await read(jf(f64(x0)));
  assert.ok(Math.abs(v - lossWant(x0)) < 1e-12);
  const jg = jax.jit(jax.grad(loss));
  const gj = await read(jg(f64(x0)));
  assert.ok(relErr(gj, fd) < 1e-8, `jit(grad) ${gj} vs ${fd}`);
  const gjf = await read(jax.grad(jf)(f64(x0)));
  assert.ok(relErr(gjf, fd) < 1e-8, `grad(jit) ${gjf} vs ${fd}`);
  // The rule is used under jit too: doubled rule.
  const twice = customCube(2);
  const g2 = await read(jax.jit(jax.grad((x: Arr) => twice(x).sum()))(f64(x0)));
  assert.ok(relErr(g2, x0.map((xi) => 6 * xi * xi)) < 1e-12);
  const g3 = await read(jax.grad(jax.jit((x: Arr) => twice(x).sum()))(f64(x0)));
  assert.ok(relErr(g3, x0.map((xi) => 6 * xi * xi)) < 1e-12);
  jf.dispose();
  jg.dispose();
});

test("customVjp: nested grad, and a bwd that uses grad itself, against finite differences", async () => {
  // cube(x) = x^3 with bwd 3 x^2 ct: d/dx grad = 6x comes from differentiating bwd.
  const c3 = jax.customVjp(
    (x: Arr) => cube(x),
    (x: Arr) => [cube(x.ref), x] as [Arr, Arr],
    (x: Arr, ct: Arr) => [x.ref.mul(x).mul(3).mul(ct)],
  );
  const d2 = jax.grad((x: Arr) => jax.grad((z: Arr) => c3(z).sum())(x).sum());
  const got = await read(d2(f64([0.7, -2])));
  assert.ok(relErr(got, [4.2, -12]) < 1e-12, `second derivative ${got}`);
  // q(x) = sum(x^4) + (sum x)^2 / (1 + x'x), whose bwd is ct * grad(q)(x) (jax.grad inside bwd).
  const lseRaw = (x: Arr): Arr => np.square(np.square(x.ref)).sum().add(np.square(x.ref.sum()).div(np.square(x).sum().add(1)));
  const lse = jax.customVjp(
    (x: Arr) => lseRaw(x),
    (x: Arr) => [lseRaw(x.ref), x] as [Arr, Arr],
    (x: Arr, ct: Arr) => [jax.grad(lseRaw)(x).mul(ct)],
  );
  const w = [0.3, -0.2, 1.1];
  const outer = (x: Arr): Arr => lse(x.ref).mul(lse(x.mul(f64([1, 2, -1]))));
  const g = await read(jax.grad(outer)(f64(w)));
  assert.ok(relErr(g, await fdGrad(outer, w)) < 1e-8, `bwd with grad: ${g}`);
  // Hessian-vector product by reverse-over-reverse through the custom rule: grad(x -> <grad outer(x), v>).
  const v = f64([1, 0.5, -2]);
  const gv = (x: Arr): Arr => jax.grad(outer)(x).mul(v.ref).sum();
  const hv = await read(jax.grad(gv)(f64(w)));
  assert.ok(relErr(hv, await fdGrad(gv, w, 1e-4)) < 1e-6, `reverse-over-reverse: ${hv}`);
  const hvJit = await read(jax.jit(jax.grad(gv))(f64(w)));
  assert.ok(relErr(hvJit, hv) < 1e-10, `jit(reverse-over-reverse): ${hvJit} vs ${hv}`);
  v.dispose();
});

test("customJvp: grad, jvp and jit against the closed form", async () => {
  // The rule says d(x^3) = 6 x^2 dx (twice the truth) so a test can see it is used.
  const s = jax.customJvp(
    (x: Arr) => cube(x),
    ([x]: [Arr], [t]: [Arr]) => [cube(x.ref), x.ref.mul(x).mul(6).mul(t)] as [Arr, Arr],
  );
  const want = x0.map((xi) => 6 * xi * xi);
  const g = await read(jax.grad((x: Arr) => s(x).sum())(f64(x0)));
  assert.ok(relErr(g, want) < 1e-12, `grad ${g}`);
  const [y, t] = jax.jvp(s, [f64(x0)], [f64([1, 1, 1])]) as [Arr, Arr];
  assert.ok(relErr(await read(y), x0.map((xi) => xi ** 3)) < 1e-12);
  assert.ok(relErr(await read(t), want) < 1e-12);
  const gj = await read(jax.jit(jax.grad((x: Arr) => s(x).sum()))(f64(x0)));
  assert.ok(relErr(gj, want) < 1e-12);
  const gjf = await read(jax.grad(jax.jit((x: Arr) => s(x).sum()))(f64(x0)));
  assert.ok(relErr(gjf, want) < 1e-12);
});

test("customVjp: forward mode is a clear error; a bad bwd names the problem", () => {
  assert.throws(() => jax.jvp(cubev, [f64(x0)], [f64([1, 1, 1])]), /forward-mode differentiation .* custom VJP is not supported/);
  const bad = jax.customVjp(
    (x: Arr) => cube(x),
    (x: Arr) => [cube(x.ref), x] as [Arr, Arr],
    (x: Arr, ct: Arr) => [x.mul(ct).sum()],
  );
  assert.throws(() => jax.grad((x: Arr) => bad(x).sum())(f64(x0)), /bwd cotangent 0 has shape \[\], expected \[3\]/);
});

test("customVjp: live buffers stay flat over repeated grad, jit(grad) and nested grad", async () => {
  await trackBuffers();
  const jg = jax.jit(jax.grad(loss));
  const jf = jax.jit(loss);
  const run = async (): Promise<void> => {
    await read(jax.grad(loss)(f64(x0)));
    await read(jg(f64(x0)));
    await read(jax.grad(jf)(f64(x0)));
    await read(jax.grad((x: Arr) => jax.grad(loss)(x).sum())(f64(x0)));
  };
  await run();
  const before = liveBuffers().count;
  for (let k = 0; k < 5; k++) await run();
  assert.equal(liveBuffers().count, before);
  jg.dispose();
  jf.dispose();
});
