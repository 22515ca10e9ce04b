/**
 * Every oracle against an exact formula or float64 finite differences on toy-quadratic:
 *   f = 1/2 y'Hy + x'Cy + a'y,  F = 1/2 ||y - yt||^2 + mu/2 ||x||^2.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { array, treeToFloat64, type Tree } from "../src/engine/index.js";
import {
  grads,
  hvpYY,
  implicitHypergrad,
  jvpXY,
  jvpYX,
  unrolledHypergrad,
  valueGap,
  gradientDescent,
  type BilevelFns,
} from "../src/oracles/index.js";
import { quadraticExact, toyQuadratic } from "../src/tasks/toys.js";
import { matvec, transpose } from "../src/linalg.js";
import { relErr, setup } from "./helpers.js";

await setup("float64");

const nx = 5;
const ny = 10;
const p = toyQuadratic(nx, ny, 3);
const d = p.data;
const fns: BilevelFns = { upper: (x, y, b) => p.upper(x as never, y as never, b as never), lower: (x, y, b) => p.lower(x as never, y as never, b as never) };
const x0 = Float64Array.from({ length: nx }, (_, i) => 0.3 * (i + 1) - 0.7);
const yAny = Float64Array.from({ length: ny }, (_, i) => Math.sin(i + 1));
const v0 = Float64Array.from({ length: ny }, (_, i) => Math.cos(2 * i));
const u0 = Float64Array.from({ length: nx }, (_, i) => 1 - 0.25 * i);
const X = () => array(x0);
const Y = () => array(yAny);
const read = (t: Tree) => treeToFloat64(t);

test("gradients of F and f match the closed form", async () => {
  const [Fx, Fy] = grads(fns.upper, X(), Y());
  assert.ok(relErr(await read(Fx), Array.from(x0, (v) => d.mu * v)) < 1e-12);
  assert.ok(relErr(await read(Fy), Array.from(yAny, (v, i) => v - d.yt[i])) < 1e-12);
  const [fx, fy] = grads(fns.lower, X(), Y());
  assert.ok(relErr(await read(fx), matvec(d.C, yAny)) < 1e-12);
  const Hy = matvec(d.H, yAny);
  const Ctx = matvec(transpose(d.C), x0);
  assert.ok(relErr(await read(fy), Array.from(Hy, (v, i) => v + Ctx[i] + d.a[i])) < 1e-12);
});

test("Hessian-vector product equals H v and finite differences of grad_y f", async () => {
  const hv = await read(hvpYY(fns.lower, X(), Y(), array(v0)));
  assert.ok(relErr(hv, matvec(d.H, v0)) < 1e-12);
  // central finite differences of the gradient (float64): (g(y + e v) - g(y - e v)) / 2e
  const eps = 1e-4;
  const gAt = async (s: number) => read(grads(fns.lower, X(), array(yAny.map((v, i) => v + s * eps * v0[i])))[1]);
  const [gp, gm] = [await gAt(1), await gAt(-1)];
  const fd = gp.map((v, i) => (v - gm[i]) / (2 * eps));
  assert.ok(relErr(hv, fd) < 1e-5);
});

test("mixed products equal C v and C' u", async () => {
  const cv = await read(jvpXY(fns.lower, X(), Y(), array(v0)));
  assert.ok(relErr(cv, matvec(d.C, v0)) < 1e-12);
  const ctu = await read(jvpYX(fns.lower, X(), Y(), array(u0)));
  assert.ok(relErr(ctu, matvec(transpose(d.C), u0)) < 1e-12);
});

const exact = quadraticExact(d, x0);
const YStar = () => array(exact.yStar);

for (const [name, solver] of [
  ["conjugate gradient", { method: "cg", iters: ny } as const],
  ["Neumann series", { method: "neumann", iters: 400, alpha: 0.1 } as const],
  ["fixed point", { method: "fixed-point", iters: 400, alpha: 0.1 } as const],
] as const) {
  test(`implicit hypergradient (${name}) matches the exact hypergradient`, async () => {
    const { h, v } = implicitHypergrad(fns, X(), YStar(), solver);
    const err = relErr(await read(h), exact.hypergrad);
    await read(v);
    assert.ok(err < 1e-4, `relative error ${err}`);
  });
}

test("implicit hypergradient with too few Neumann terms is measurably off (the test can fail)", async () => {
  const { h, v } = implicitHypergrad(fns, X(), YStar(), { method: "neumann", iters: 3, alpha: 0.1 });
  await read(v);
  assert.ok(relErr(await read(h), exact.hypergrad) > 1e-2);
});

test("reverse-mode unrolled hypergradient converges to the exact one and returns y_T", async () => {
  const { h, yT, value } = unrolledHypergrad(fns, X(), YStar(), { steps: 200, lr: 0.1 });
  const err = relErr(await read(h), exact.hypergrad);
  assert.ok(err < 1e-4, `relative error ${err}`);
  assert.ok(relErr(await read(yT), exact.yStar) < 1e-9);
  await read(value);
});

test("unrolled hypergradient equals finite differences of x -> F(x, y_T(x)) for short unrolls", async () => {
  const opts = { steps: 5, lr: 0.1 };
  const { h, yT, value } = unrolledHypergrad(fns, X(), Y(), opts);
  await read(yT);
  await read(value);
  const hh = await read(h);
  const Fof = async (xv: Float64Array) => {
    const yt = gradientDescent(fns.lower, array(xv), Y(), opts);
    return (await read(fns.upper(array(xv), yt)))[0];
  };
  const eps = 1e-5;
  const fd: number[] = [];
  for (let i = 0; i < nx; i++) {
    const xp = Float64Array.from(x0);
    const xm = Float64Array.from(x0);
    xp[i] += eps;
    xm[i] -= eps;
    fd.push(((await Fof(xp)) - (await Fof(xm))) / (2 * eps));
  }
  assert.ok(relErr(hh, fd) < 1e-6, `relative error ${relErr(hh, fd)}`);
});

test("truncated unrolling differentiates only the last steps", async () => {
  const full = await read(unrolledHypergrad(fns, X(), Y(), { steps: 6, lr: 0.1, truncate: 6 }).h);
  const all = await read(unrolledHypergrad(fns, X(), Y(), { steps: 6, lr: 0.1 }).h);
  assert.ok(relErr(full, all) < 1e-12);
  const trunc = await read(unrolledHypergrad(fns, X(), Y(), { steps: 6, lr: 0.1, truncate: 1 }).h);
  assert.ok(relErr(trunc, all) > 1e-3);
});

test("value-function gap gradient matches finite differences with y_T held fixed", async () => {
  const opts = { steps: 7, lr: 0.1 };
  const { q, gx, gy, yT } = valueGap(fns.lower, X(), Y(), opts);
  const yTv = await read(yT);
  const qv = (await read(q))[0];
  assert.ok(qv > 0, "the gap is positive after descent steps");
  const gxv = await read(gx);
  const gyv = await read(gy);
  const qAt = async (xv: Float64Array, yv: Float64Array) =>
    (await read(fns.lower(array(xv), array(yv)).sub(fns.lower(array(xv), array(yTv)))))[0];
  const eps = 1e-5;
  const fdx: number[] = [];
  for (let i = 0; i < nx; i++) {
    const xp = Float64Array.from(x0);
    const xm = Float64Array.from(x0);
    xp[i] += eps;
    xm[i] -= eps;
    fdx.push(((await qAt(xp, yAny)) - (await qAt(xm, yAny))) / (2 * eps));
  }
  assert.ok(relErr(gxv, fdx) < 1e-6);
  const fdy: number[] = [];
  for (let i = 0; i < ny; i++) {
    const yp = Float64Array.from(yAny);
    const ym = Float64Array.from(yAny);
    yp[i] += eps;
    ym[i] -= eps;
    fdy.push(((await qAt(x0, yp)) - (await qAt(x0, ym))) / (2 * eps));
  }
  assert.ok(relErr(gyv, fdy) < 1e-6);
});

