/**
 * src/optim against the formulas written out on the host in float64: momentum, Nesterov, Adam (bias
 * corrections), clipping, `chain`, and every schedule's host form equal to its traced form.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { array, initEngine, jax, optim, scalar, scope, treeToFloat64, type Arr, type Tree } from "../src/index.js";

const grads = [
  [0.5, -1, 2],
  [1, 0.25, -0.5],
  [-2, 1, 0.75],
  [0.1, -0.3, 0.2],
];
const x0 = [1, -2, 0.5];
const lr = 0.1;

/** Run an optimizer over `grads` from x0; returns x after every step. */
async function run(opt: optim.Optimizer): Promise<number[][]> {
  let x: Tree = array(x0);
  let state = opt.init(x);
  const out: number[][] = [];
  for (const g of grads) {
    const r = scope(() => opt.update(x, array(g), state, lr));
    jax.tree.dispose(x as never);
    if (state) jax.tree.dispose(state as never);
    x = r.params;
    state = r.state;
    out.push(Array.from(await treeToFloat64(jax.tree.ref(x as never) as Tree)));
  }
  return out;
}

/** The same steps on the host: `dir(g, t)` is the direction at step t (1-based). */
function host(dir: (g: number[], t: number) => number[]): number[][] {
  const x = [...x0];
  return grads.map((g, i) => {
    const d = dir(g, i + 1);
    for (let j = 0; j < x.length; j++) x[j] -= lr * d[j];
    return [...x];
  });
}

const near = (a: number[][], b: number[][], tol: number) =>
  a.every((row, i) => row.every((v, j) => Math.abs(v - b[i][j]) <= tol * (1 + Math.abs(b[i][j]))));

test("optim: sgd, momentum, nesterov, adam and chain(clipByNorm, momentum) follow their formulas to 1e-12", async () => {
  await initEngine({ dtype: "float64" });
  assert.ok(near(await run(optim.sgd()), host((g) => g), 1e-15), "sgd");
  let m = [0, 0, 0];
  const mom = host((g) => (m = m.map((v, j) => 0.9 * v + g[j])));
  assert.ok(near(await run(optim.momentum(0.9)), mom, 1e-12), "momentum");
  m = [0, 0, 0];
  const nes = host((g) => {
    m = m.map((v, j) => 0.9 * v + g[j]);
    return g.map((v, j) => v + 0.9 * m[j]);
  });
  assert.ok(near(await run(optim.nesterov(0.9)), nes, 1e-12), "nesterov");
  let [m1, v1] = [[0, 0, 0], [0, 0, 0]];
  const ad = host((g, t) => {
    m1 = m1.map((v, j) => 0.9 * v + 0.1 * g[j]);
    v1 = v1.map((v, j) => 0.999 * v + 0.001 * g[j] * g[j]);
    return m1.map((v, j) => v / (1 - 0.9 ** t) / (Math.sqrt(v1[j] / (1 - 0.999 ** t)) + 1e-8));
  });
  assert.ok(near(await run(optim.adam()), ad, 1e-12), "adam");
  // the first Adam step is lr * sign(g) (up to eps): a check of the bias correction that can fail
  assert.ok(near([ad[0]], [x0.map((v, j) => v - lr * Math.sign(grads[0][j]))], 1e-7));
  m = [0, 0, 0];
  const clipped = host((g) => {
    const n = Math.hypot(...g);
    const c = g.map((v) => v / Math.max(1, n / 1.5));
    return (m = m.map((v, j) => 0.5 * v + c[j]));
  });
  const chained = optim.optimizer("custom", optim.chain(optim.clipByNorm(1.5), optim.traceMomentum(0.5)));
  assert.ok(near(await run(chained), clipped, 1e-12), "chain(clipByNorm, momentum)");
  // AdamW: chain(scaleByAdam, addDecayedWeights) at lr: x <- x - lr (m_hat / (sqrt(v_hat) + eps) + wd x)
  [m1, v1] = [[0, 0, 0], [0, 0, 0]];
  const xw = [...x0];
  const adw = grads.map((g, i) => {
    const t = i + 1;
    m1 = m1.map((v, j) => 0.9 * v + 0.1 * g[j]);
    v1 = v1.map((v, j) => 0.95 * v + 0.05 * g[j] * g[j]);
    for (let j = 0; j < 3; j++) xw[j] -= lr * (m1[j] / (1 - 0.9 ** t) / (Math.sqrt(v1[j] / (1 - 0.95 ** t)) + 1e-8) + 0.3 * xw[j]);
    return [...xw];
  });
  const adamw = optim.optimizer("adamw", optim.chain(optim.scaleByAdam(0.9, 0.95, 1e-8), optim.addDecayedWeights(0.3)));
  assert.ok(near(await run(adamw), adw, 1e-12), "adamw");
});

test("optim: addDecayedWeights with a mask decays only the masked keys of an object tree", async () => {
  await initEngine({ dtype: "float64" });
  const t = optim.addDecayedWeights(0.5, (k) => k === "w");
  const params = { w: array([2, -4]), b: array([1, 3]) };
  const g = { w: array([0.1, 0.2]), b: array([0.3, 0.4]) };
  const { direction } = t.update(g, undefined, params);
  const d = direction as Record<string, Arr>;
  assert.deepEqual(Array.from(await treeToFloat64(d.w)), [0.1 + 1, 0.2 - 2]);
  assert.deepEqual(Array.from(await treeToFloat64(d.b)), [0.3, 0.4]);
  assert.throws(() => t.update(g, undefined), /needs the parameters/);
  jax.tree.dispose([params, g] as never);
});

test("optim schedules: the traced form equals the host form, floors and decay points hold", async () => {
  await initEngine({ dtype: "float64" });
  const cases: [string, optim.Schedule, (k: number) => number][] = [
    ["constant", optim.constant(0.3), () => 0.3],
    ["step", optim.stepDecay(0.3, 0.5, 10, 0.1), (k) => 0.3 * Math.max(0.5 ** Math.floor(k / 10), 0.1)],
    ["polynomial", optim.polynomial(0.3, 0.5, 0.2), (k) => Math.max(0.3 / Math.sqrt(k + 1), 0.06)],
    ["cosine", optim.cosine(0.3, 20, 0.1), (k) => 0.3 * (0.1 + (0.9 * (1 + Math.cos((Math.PI * Math.min(k, 20)) / 20))) / 2)],
  ];
  for (const [name, s, want] of cases) {
    for (const k of [0, 1, 9, 10, 25, 40, 100]) {
      const h = s.at(k);
      assert.ok(Math.abs(h - want(k)) <= 1e-15, `${name} at(${k}) = ${h}, want ${want(k)}`);
      const t = Number((await (s.traced(scalar(k)) as Arr).data())[0]);
      assert.ok(Math.abs(t - h) <= 1e-12 * h, `${name} traced(${k}) = ${t}, host ${h}`);
    }
  }
  assert.equal(optim.stepDecay(0.3, 0.5, 10, 0.1).at(1000), 0.03); // the floor
  assert.equal(optim.cosine(0.3, 20, 0.1).at(20), 0.3 * 0.1);
  assert.equal(optim.negate(0.3), -0.3);
});

// The lower-level optimizer (`innerOptimizer`): inner descent with momentum, and reverse-mode unrolling
// through it (full and truncated, the optimizer state carried across the truncation point), against the
// host recursion and float64 central differences of the unrolled map.
const aDiag = [1, 2, 0.5];
const cT = [0.3, -0.2, 0.1];
const MU = 0.9;
const ILR = 0.3;
/** Host: `steps` momentum steps on f(x, y) = 0.5 sum a y^2 - x . y from (y, m); x held at `xFor(t)`. */
function hostMomentum(xFor: (t: number) => number[], y0: number[], steps: number, m0 = [0, 0, 0]): { y: number[]; m: number[] } {
  const y = [...y0];
  const m = [...m0];
  for (let t = 0; t < steps; t++) {
    const x = xFor(t);
    for (let j = 0; j < 3; j++) {
      m[j] = MU * m[j] + (aDiag[j] * y[j] - x[j]);
      y[j] -= ILR * m[j];
    }
  }
  return { y, m };
}
const upperHost = (x: number[], y: number[]) => 0.5 * y.reduce((s, v, j) => s + (v - cT[j]) ** 2, 0) + 0.1 * x.reduce((s, v) => s + v * v, 0);

test("optim: inner descent with momentum follows the host recursion; unrolled hypergradients through it match float64 differences", async () => {
  await initEngine({ dtype: "float64", jit: false });
  const { gradientDescent, unrolledHypergrad } = await import("../src/oracles/index.js");
  const lower = (x: Tree, y: Tree) => {
    const [xx, yy] = [x as Arr, y as Arr];
    return yy.ref.mul(yy.ref).mul(array(aDiag)).sum().mul(0.5).sub(xx.mul(yy).sum());
  };
  const upper = (x: Tree, y: Tree) => {
    const [xx, yy] = [x as Arr, y as Arr];
    const d = yy.sub(array(cT));
    return d.ref.mul(d).sum().mul(0.5).add(xx.ref.mul(xx).sum().mul(0.1));
  };
  const xv = [0.4, -0.7, 1.1];
  const y0 = [0.2, 0.5, -0.3];
  const T = 6;
  const gd = { steps: T, lr: ILR, optimizer: optim.momentum(MU) };
  const yT = Array.from(await treeToFloat64(gradientDescent(lower, array(xv), array(y0), gd)));
  const want = hostMomentum(() => xv, y0, T).y;
  assert.ok(near([yT], [want], 1e-12), `y_T ${yT} != host ${want}`);
  for (const truncate of [0, 2]) {
    const r = unrolledHypergrad({ upper, lower }, array(xv), array(y0), { ...gd, truncate });
    const h = Array.from(await treeToFloat64(r.h));
    jax.tree.dispose(r.yT as never);
    r.value.dispose();
    // Phi(x) = F(x, y_T(x)); with truncation the first T - truncate steps run at the base x (held constant).
    const head = truncate > 0 ? T - truncate : 0;
    const phi = (x: number[]) => {
      const pre = hostMomentum(() => xv, y0, head);
      return upperHost(x, hostMomentum(() => x, pre.y, T - head, pre.m).y);
    };
    const eps = 1e-6;
    const fd = xv.map((_, j) => {
      const [xp, xm] = [[...xv], [...xv]];
      xp[j] += eps;
      xm[j] -= eps;
      return (phi(xp) - phi(xm)) / (2 * eps);
    });
    assert.ok(near([h], [fd], 1e-7), `truncate ${truncate}: hypergradient ${h} != differences ${fd}`);
  }
});
