/**
 * implicitArgmin / implicitRoot (src/oracles/implicit.ts): gradients through an inner solve inside the
 * user's jax.grad and jax.jit, against closed forms (ridge regression hyperparameters; a linear fixed
 * point) and float64 finite differences (a nonlinear fixed point; the second derivative).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BilevelInputError, implicitArgmin, implicitRoot, jax, np, type Arr, type Tree } from "../src/index.js";
import { liveBuffers, trackBuffers } from "../src/engine/index.js";
import { gaussian, mulberry32 } from "../src/engine/index.js";
import { relErr, setup } from "./helpers.js";

await setup("float64");

const f64 = (v: number[], shape?: number[]): Arr => {
  const a = np.array(v, { dtype: np.float64 });
  return shape ? a.reshape(shape) : a;
};
const read = async (a: Arr): Promise<number[]> => Array.from((await a.data()) as Float64Array);

// ---- host linear algebra (float64) -------------------------------------------------------------
type M = number[][];
const matT = (A: M): M => A[0].map((_, j) => A.map((r) => r[j]));
const matmul = (A: M, B: M): M => A.map((r) => B[0].map((_, j) => r.reduce((s, a, k) => s + a * B[k][j], 0)));
const matvec = (A: M, v: number[]): number[] => A.map((r) => r.reduce((s, a, k) => s + a * v[k], 0));
function solveHost(A: M, b: number[]): number[] {
  const n = b.length;
  const a = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  const x = Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) x[r] = (a[r][n] - a[r].slice(r + 1, n).reduce((s, v, k) => s + v * x[r + 1 + k], 0)) / a[r][r];
  return x;
}

// ---- ridge regression with one penalty per feature ---------------------------------------------
// lower(lam, w) = 1/2 ||A w - b||^2 + 1/2 sum_i lam_i w_i^2, upper F(w) = 1/2 ||V w - c||^2.
// w*(lam) = H^{-1} A^T b with H = A^T A + diag(lam); dF/dlam_i = -(H^{-1} grad F(w*))_i w*_i.
const n = 40;
const d = 4;
const rng = mulberry32(7);
const g1 = (): number => gaussian(rng, 1)[0];
const A: M = Array.from({ length: n }, () => Array.from({ length: d }, () => g1()));
const b = Array.from({ length: n }, () => g1());
const V: M = Array.from({ length: 8 }, () => Array.from({ length: d }, () => g1()));
const c = Array.from({ length: 8 }, () => g1());
const lam0 = [0.5, 1.0, 2.0, 0.25];

function ridgeClosedForm(lam: number[]): { w: number[]; grad: number[]; F: number } {
  const H = matmul(matT(A), A).map((r, i) => r.map((v, j) => v + (i === j ? lam[i] : 0)));
  const w = solveHost(H, matvec(matT(A), b));
  const res = matvec(V, w).map((v, i) => v - c[i]);
  const gF = matvec(matT(V), res);
  const u = solveHost(H, gF);
  return { w, grad: u.map((ui, i) => -ui * w[i]), F: 0.5 * res.reduce((s, r) => s + r * r, 0) };
}

const Aj = () => f64(A.flat(), [n, d]);
const bj = () => f64(b);
const lower = (x: Tree, w: Tree): Arr => {
  const lam = x as Arr;
  const r = np.matmul(Aj(), (w as Arr).ref).sub(bj());
  return np.square(r).sum().mul(0.5).add(lam.mul(np.square(w as Arr)).sum().mul(0.5));
};
// Step size 2 / (mu + L) from host bounds on the lower Hessian's spectrum (lam_i in [0.2, 2.5]):
// gradient descent and the Neumann series then contract by (kappa - 1) / (kappa + 1) per step.
const [muH, LH] = (() => {
  const AtA = matmul(matT(A), A);
  const power = (Mx: M): number => {
    let v = Array(d).fill(1);
    for (let k = 0; k < 500; k++) {
      const u = matvec(Mx, v);
      const nrm = Math.hypot(...u);
      v = u.map((x) => x / nrm);
    }
    return Math.hypot(...matvec(Mx, v));
  };
  const top = power(AtA);
  const bottom = top - power(AtA.map((r, i) => r.map((v, j) => (i === j ? top : 0) - v)));
  return [bottom + 0.2, top + 2.5];
})();
const lr = 2 / (muH + LH);
const innerSteps = Math.ceil(Math.log(1e-15) / Math.log((LH - muH) / (LH + muH)));
const upper = (w: Arr): Arr => np.square(np.matmul(f64(V.flat(), [8, d]), w).sub(f64(c))).sum().mul(0.5);

const ridgeArgmin = (linear?: Parameters<typeof implicitArgmin>[1]["linear"]) =>
  implicitArgmin(lower, { init: (x) => np.zerosLike(x as Arr), steps: innerSteps, lr, linear });

test("implicitArgmin: ridge hyperparameter gradient equals the closed form to 1e-6 (float64), eager and jit", async () => {
  const { w, grad } = ridgeClosedForm(lam0);
  const argmin = ridgeArgmin({ method: "cg", iters: d });
  const ws = await read(argmin(f64(lam0)) as Arr);
  assert.ok(relErr(ws, w) < 1e-9, `w* ${ws} vs ${w}`);
  const outer = (x: Arr): Arr => upper(argmin(x) as Arr);
  const g = await read(jax.grad(outer)(f64(lam0)));
  assert.ok(relErr(g, grad) < 1e-6, `grad ${g} vs closed form ${grad}`);
  const jg = jax.jit(jax.grad(outer));
  const gj = await read(jg(f64(lam0)));
  jg.dispose();
  assert.ok(relErr(gj, grad) < 1e-6, `jit(grad) ${gj} vs ${grad}`);
  const gjo = await read(jax.grad(jax.jit(outer))(f64(lam0)));
  assert.ok(relErr(gjo, grad) < 1e-6, `grad(jit) ${gjo} vs ${grad}`);
});

test("implicitArgmin: neumann and fixed-point backward solvers, and a user inner solver", async () => {
  const { grad } = ridgeClosedForm(lam0);
  for (const linear of [
    { method: "neumann", iters: innerSteps },
    { method: "fixed-point", iters: innerSteps },
  ] as const) {
    const argmin = ridgeArgmin(linear);
    const g = await read(jax.grad((x: Arr) => upper(argmin(x) as Arr))(f64(lam0)));
    assert.ok(relErr(g, grad) < 1e-6, `${linear.method}: ${g} vs ${grad}`);
  }
  // A user solver (the normal equations by np.linalg.solve) instead of gradient descent.
  const exact = implicitArgmin(lower, {
    solver: (x) => {
      const H = np.matmul(Aj().transpose(), Aj()).add(np.diag(x as Arr));
      return np.linalg.solve(H, np.matmul(Aj().transpose(), bj()).reshape([d, 1])).reshape([d]);
    },
    linear: { method: "cg", iters: d },
  });
  const g = await read(jax.grad((x: Arr) => upper(exact(x) as Arr))(f64(lam0)));
  assert.ok(relErr(g, grad) < 1e-8, `user solver: ${g} vs ${grad}`);
});

test("implicitArgmin: second derivative by nested grad matches finite differences of the closed-form gradient", async () => {
  const argmin = ridgeArgmin({ method: "cg", iters: d });
  const dir = [1, -0.5, 0.25, 2];
  // s(lam) = <grad F(lam), dir>; grad s = Hessian of F times dir.
  const s = (x: Arr): Arr => jax.grad((z: Arr) => upper(argmin(z) as Arr))(x).mul(f64(dir)).sum();
  const hv = await read(jax.grad(s)(f64(lam0)));
  const h = 1e-5;
  const fd = lam0.map((_, i) => {
    const p = lam0.slice();
    const m = lam0.slice();
    p[i] += h;
    m[i] -= h;
    const gp = ridgeClosedForm(p).grad;
    const gm = ridgeClosedForm(m).grad;
    return dir.reduce((acc, di, j) => acc + (di * (gp[j] - gm[j])) / (2 * h), 0);
  });
  assert.ok(relErr(hv, fd) < 1e-6, `Hessian-vector ${hv} vs fd ${fd}`);
});

test("implicitArgmin: pytree x and y", async () => {
  // x = { lam, shift }, y = { w, t }: lower = ridge(w; lam) + s/2 (t - shift)^2 ; F = upper(w) + t^2.
  const lowerTree = (x: Tree, y: Tree): Arr => {
    const { lam, shift } = x as { lam: Arr; shift: Arr };
    const { w, t } = y as { w: Arr; t: Arr };
    return lower(lam, w).add(np.square(t.sub(shift)).sum().mul(0.5 / lr));
  };
  const argmin = implicitArgmin(lowerTree, {
    init: (x) => {
      const { lam, shift } = x as { lam: Arr; shift: Arr };
      return { w: np.zerosLike(lam), t: np.zerosLike(shift) };
    },
    steps: innerSteps,
    lr,
    linear: { method: "cg", iters: d + 1 },
  });
  const F = (x: Tree): Arr => {
    const y = argmin(x) as { w: Arr; t: Arr };
    return upper(y.w).add(np.square(y.t).sum());
  };
  const g = jax.grad(F)({ lam: f64(lam0), shift: f64([0.7]) }) as { lam: Arr; shift: Arr };
  assert.ok(relErr(await read(g.lam), ridgeClosedForm(lam0).grad) < 1e-6);
  // t* = shift, so dF/dshift = 2 shift.
  assert.ok(Math.abs((await read(g.shift))[0] - 1.4) < 1e-8);
});

// ---- fixed points ------------------------------------------------------------------------------
// y = T(x, y) = M y + x with ||M|| < 1: y* = (I - M)^{-1} x, dF/dx = (I - M)^{-T} grad F(y*).
const m = 3;
const Mh: M = [
  [0.2, -0.1, 0.05],
  [0.3, 0.1, -0.2],
  [0.0, 0.25, 0.15],
];
const Mj = () => f64(Mh.flat(), [m, m]);
const x0 = [0.4, -1.2, 0.9];
const Fy = (y: Arr): Arr => np.square(y.ref).sum().mul(0.5).add(y.mul(f64([1, -2, 0.5])).sum());
const iterate = (T: (x: Tree, y: Tree) => Tree, K: number) =>
  jax.jit((x: Arr): Arr => {
    let y: Tree = np.zerosLike(x.ref);
    for (let k = 0; k < K; k++) y = T(x.ref, y);
    x.dispose();
    return y as Arr;
  });

test("implicitRoot: a linear fixed point, closed-form gradient, with CG on the normal equations and Neumann", async () => {
  const T = (x: Tree, y: Tree): Tree => np.matmul(Mj(), y as Arr).add(x as Arr);
  const optimality = (x: Tree, y: Tree): Tree => (y as Arr).ref.sub(T(x, y) as Arr);
  const IM = Mh.map((r, i) => r.map((v, j) => (i === j ? 1 : 0) - v));
  const ys = solveHost(IM, x0);
  const want = solveHost(matT(IM), ys.map((v, i) => v + [1, -2, 0.5][i]));
  for (const linear of [
    { method: "cg", iters: 3 * m },
    { method: "neumann", iters: 80 },
  ] as const) {
    const root = implicitRoot(optimality, iterate(T, 60) as (x: Tree) => Tree, { linear });
    const F = (x: Arr): Arr => Fy(root(x) as Arr);
    const g = await read(jax.grad(F)(f64(x0)));
    assert.ok(relErr(g, want) < 1e-8, `${linear.method}: ${g} vs ${want}`);
    const gj = await read(jax.jit(jax.grad(F))(f64(x0)));
    assert.ok(relErr(gj, want) < 1e-8, `jit ${linear.method}: ${gj} vs ${want}`);
  }
});

test("implicitRoot: a nonlinear fixed point against float64 finite differences of a converged solve", async () => {
  // y = T(x, y) = M y + x - 0.1 y^3 (a contraction near the solution for these x).
  const T = (x: Tree, y: Tree): Tree => {
    const yy = y as Arr;
    return np.matmul(Mj(), yy.ref).add(x as Arr).sub(yy.ref.mul(yy.ref).mul(yy).mul(0.1));
  };
  const solve = iterate(T, 60) as (x: Tree) => Tree;
  const root = implicitRoot((x, y) => (y as Arr).ref.sub(T(x, y) as Arr), solve, { linear: { method: "cg", iters: 3 * m } });
  const g = await read(jax.grad((x: Arr) => Fy(root(x) as Arr))(f64(x0)));
  const h = 1e-6;
  const fd: number[] = [];
  for (let i = 0; i < m; i++) {
    const p = x0.slice();
    const q = x0.slice();
    p[i] += h;
    q[i] -= h;
    const [fp] = await read(Fy(solve(f64(p)) as Arr));
    const [fq] = await read(Fy(solve(f64(q)) as Arr));
    fd.push((fp - fq) / (2 * h));
  }
  assert.ok(relErr(g, fd) < 1e-7, `grad ${g} vs fd ${fd}`);
});

test("implicitArgmin: bad options are one-line input errors; buffers stay flat over repeated jit(grad)", async () => {
  assert.throws(() => implicitArgmin(lower, { init: (x) => x, lr: -1 }), (e: unknown) => e instanceof BilevelInputError && /lr: expected a number > 0/.test((e as Error).message));
  assert.throws(() => implicitArgmin(lower, { lr: 0.1 } as never), /init: expected a function/);
  assert.throws(() => implicitArgmin(lower, { init: (x) => x, lr: 0.1, linear: { method: "lu" as never, iters: 3 } }), /linear.method: expected one of cg, neumann, fixed-point/);
  assert.throws(() => implicitArgmin(lower, { solver: (x) => x, linear: { method: "neumann", iters: 3 } }), /linear.alpha: expected a number > 0/);
  assert.throws(() => implicitRoot((x, y) => y, (x) => x, { linear: { method: "cg", iters: 0 } }), /linear.iters: expected an integer >= 1/);
  await trackBuffers();
  const argmin = ridgeArgmin({ method: "cg", iters: d });
  const outer = (x: Arr): Arr => upper(argmin(x) as Arr);
  const jg = jax.jit(jax.grad(outer));
  const step = async () => {
    await read(jg(f64(lam0)));
    await read(jax.grad(outer)(f64(lam0)));
  };
  await step();
  const before = liveBuffers().count;
  for (let k = 0; k < 4; k++) await step();
  assert.equal(liveBuffers().count, before);
  jg.dispose();
});
