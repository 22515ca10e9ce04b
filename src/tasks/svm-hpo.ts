/**
 * svm-hpo (shared/TASKS.md, "Hyperparameter optimization"; data, the official code, defaults and
 * measurements: docs/tasks/svm-hpo.md): LV-HBA's linear SVM (official code SUSTech-Optimization/LV-HBA)
 * on breast_cancer (190 / 190 / 189, standardized), x = C (log per-sample penalties, start
 * uniform(-6, -5)), y = {w, b, xi}:
 *   f(x, y) = 1/2 ||w||^2 + 1/2 sum_i exp(C_i) xi_i^2,   g_i = 1 - xi_i - t_i (w'a_i + b) <= 0
 *   F(x, y) = sum over validation of LeakyReLU_0.01(2 sigmoid(-5 t (w'a + b) / ||w||) - 1)
 *   Start w = 1, b = 0, xi strictly feasible. Baseline: the L2-SVM with C = `baselineC`, solved exactly.
 * Tuned solver defaults (the official code's values): src/tasks/tuned.ts.
 * Assumptions: the lower level is strongly convex in y.
 */
import { num, positive } from "../options.js";
import { array, mulberry32, np, zeros, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { dataset, type TabularDataset } from "../data/index.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { seededSplit, thirds } from "./splits.js";
import { fitL2Svm, svmAccuracy } from "./svm.js";
import { tuned } from "./tuned.js";

/** Tabular splits with standardized features and +-1 labels (row-major dense). */
export interface SvmSplits {
  d: number;
  Xtr: Float64Array;
  ttr: Float64Array;
  Xval: Float64Array;
  tval: Float64Array;
  Xte: Float64Array;
  tte: Float64Array;
}

/** Split by the seed into thirds, standardize with the training mean and std (std 0 -> 1), labels 0/1 -> -1/+1. */
export function svmSplits(ds: TabularDataset, seed: number): SvmSplits {
  const [tr, va, te] = seededSplit(ds.n, seed, thirds(ds.n));
  const d = ds.d;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const i of tr) for (let j = 0; j < d; j++) mean[j] += ds.X[i * d + j] / tr.length;
  for (const i of tr) for (let j = 0; j < d; j++) sd[j] += (ds.X[i * d + j] - mean[j]) ** 2 / tr.length;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]) || 1;
  const rows = (idx: Int32Array) => {
    const out = new Float64Array(idx.length * d);
    idx.forEach((i, r) => {
      for (let j = 0; j < d; j++) out[r * d + j] = (ds.X[i * d + j] - mean[j]) / sd[j];
    });
    return out;
  };
  const lab = (idx: Int32Array) => Float64Array.from(idx, (i) => (ds.y[i] === 1 ? 1 : -1));
  return { d, Xtr: rows(tr), ttr: lab(tr), Xval: rows(va), tval: lab(va), Xte: rows(te), tte: lab(te) };
}

export type SvmY = { w: Arr; b: Arr; xi: Arr };

/** The LV-HBA SVM problem on given splits. */
export function svmHpoProblem(s: SvmSplits, o: { x0Low: number; x0High: number; baselineC: number }, name = "svm-hpo"): BilevelProblem<Arr, SvmY> {
  if (!(o.x0Low <= o.x0High)) throw new BilevelInputError(`x0Low: expected x0Low <= x0High, got ${o.x0Low} > ${o.x0High}`);
  if (!(o.baselineC > 0)) throw new BilevelInputError(`baselineC: expected a positive number, got ${o.baselineC}`);
  const d = s.d;
  const nTr = s.ttr.length;
  const nVal = s.tval.length;
  const Xtr = array(s.Xtr, [nTr, d]);
  const Ttr = array(s.ttr, [nTr]);
  const Xval = array(s.Xval, [nVal, d]);
  const Tval = array(s.tval, [nVal]);
  const decision = (X: Arr, w: Arr, b: Arr) => X.mul(w).sum(-1).add(b);

  const upper = (x: Arr, y: SvmY): Arr => {
    x.dispose();
    y.xi.dispose();
    const norm = np.sqrt(y.w.ref.mul(y.w.ref).sum());
    const m = Tval.ref.mul(decision(Xval.ref, y.w, y.b)).div(norm);
    const u = np.tanh(m.mul(-2.5)); // 2 sigmoid(-5 m) - 1
    return np.maximum(u.ref, u.mul(0.01)).sum();
  };
  const lower = (x: Arr, y: SvmY): Arr => {
    y.b.dispose();
    const w2 = y.w.ref.mul(y.w).sum().mul(0.5);
    return w2.add(np.exp(x).mul(y.xi.ref.mul(y.xi)).sum().mul(0.5));
  };
  const constraint = (x: Arr, y: SvmY): Arr => {
    x.dispose();
    return Ttr.ref.mul(decision(Xtr.ref, y.w, y.b)).add(y.xi).neg().add(1);
  };

  const base = fitL2Svm(s.Xtr, s.ttr, d, o.baselineC);
  const baseline = {
    baselineTestAccuracy: svmAccuracy(s.Xte, s.tte, base.w, base.b),
    baselineValAccuracy: svmAccuracy(s.Xval, s.tval, base.w, base.b),
    baselineC: o.baselineC,
  };

  const init = (seed: number) => {
    const u = mulberry32(seed);
    const C = Float64Array.from({ length: nTr }, () => o.x0Low + (o.x0High - o.x0Low) * u());
    const w = new Float64Array(d).fill(1);
    const xi = new Float64Array(nTr);
    for (let i = 0; i < nTr; i++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += s.Xtr[i * d + j];
      xi[i] = Math.max(1, 1 + 1e-3 - s.ttr[i] * z);
    }
    return { x: array(C, [nTr]), y: { w: array(w, [d]), b: zeros([]), xi: array(xi, [nTr]) } };
  };

  const evaluate = async (x: Arr, y: SvmY): Promise<Record<string, number>> => {
    const g = (await constraint(x.ref, { w: y.w.ref, b: y.b.ref, xi: y.xi }).data()) as ArrayLike<number>;
    const w = Float64Array.from((await y.w.data()) as ArrayLike<number>);
    const b = Number((await y.b.data())[0]);
    const xs = (await x.data()) as ArrayLike<number>;
    let maxViolation = -Infinity;
    for (let i = 0; i < g.length; i++) maxViolation = Math.max(maxViolation, g[i]);
    let meanLogC = 0;
    for (let i = 0; i < xs.length; i++) meanLogC += xs[i] / xs.length;
    return {
      testAccuracy: svmAccuracy(s.Xte, s.tte, w, b),
      valAccuracy: svmAccuracy(s.Xval, s.tval, w, b),
      maxViolation,
      meanLogC,
      ...baseline,
    };
  };

  return {
    name,
    upper,
    lower,
    constraint,
    init,
    evaluate,
    info: { nTrain: nTr, nVal, nTest: s.tte.length, features: d, baselineC: o.baselineC },
  };
}

type SvmOpts = { x0Low: number; x0High: number; baselineC: number; dataFile: string };

/** svm-hpo on breast_cancer from python3-sklearn (or `dataFile`). */
export async function svmHpo(o: SvmOpts, seed: number): Promise<BilevelProblem<Arr, SvmY>> {
  return svmHpoProblem(svmSplits(dataset("breastCancer", o.dataFile), seed), o);
}

export const svmHpoTask: TaskSpec<SvmOpts> = {
  name: "svm-hpo",
  description: "LV-HBA's linear SVM with per-sample log penalties C_i and the margin constraints 1 - xi_i - t_i(w'a_i + b) <= 0, on breast_cancer (python3-sklearn).",
  defaults: { x0Low: -6, x0High: -5, baselineC: 1, dataFile: "" },
  spec: { x0High: num("x0Low"), baselineC: positive() },
  help: {
    x0Low: "start: C_i drawn uniformly from [x0Low, x0High] by the seed (official: [-6, -5])",
    x0High: "see x0Low",
    baselineC: "penalty of the fixed-C L2-SVM baseline",
    dataFile: "breast_cancer.csv in sklearn's format; empty = python3-sklearn's file",
  },
  steps: 1000,
  solverDefaults: tuned["svm-hpo"],
  create: (o, seed) => svmHpo(o, seed),
};
