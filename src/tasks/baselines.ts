/**
 * Non-bilevel baselines of the real tasks, one place (issue 20; definitions: docs/results.md): per task
 * the metric the results page ranks by and, per baseline, its value on one seed (the same seeded split,
 * corruption or held-out episodes the task builds for that seed). `runBaselines` gives each baseline's
 * per-seed values with the mean and 95% t-interval over the seeds (`ci95`). `oracle` baselines use
 * information no method is given (the corruption mask): upper references, still on the page.
 */
import { dataset } from "../data/index.js";
import type { Options } from "../problem.js";
import { corruptLabels } from "./hyperclean.js";
import { digitPools, heldOutDigitChunks, type DigitsOpts } from "./digit-episodes.js";
import { l2Baseline, textFeatures } from "./hpo-l2-imdb.js";
import { fitSoftmax, pixelRows, softmaxAccuracy } from "./softmax-fit.js";
import { ci95 } from "./stats.js";
import { fitL2Svm, svmAccuracy } from "./svm.js";
import { svmSplits } from "./svm-hpo.js";
import { array, jax, type Arr } from "../engine/index.js";
import { adamFit, fromHost, toHost } from "./adam-fit.js";
import { PRETRAIN, pretrainedHeadAccuracy } from "./pretrained-head.js";
import { flipLabels, preparedImdbSequences, rnnCleaningProblem, type RnnCleaningOptions, type RnnY } from "./hyperclean-imdb-rnn.js";
import { BilevelInputError } from "../errors.js";

export interface BaselineDef {
  name: string;
  /** One line: what is fitted and how the hyperparameter is chosen. */
  description: string;
  oracle?: boolean;
  /** The metric on one seed, task options resolved (the task's defaults under any overrides); or it with facts of the fit (chosen C, convergence). */
  run(opts: Options, seed: number): Promise<number | { value: number; info: Record<string, number> }>;
}

export interface TaskBaselines {
  metric: string;
  higherIsBetter: boolean;
  baselines: BaselineDef[];
}

/** The C grid of the svm-hpo baseline: 10^-4 .. 10^4 in half decades (17 values). */
export const SVM_C_GRID = Array.from({ length: 17 }, (_, i) => Math.pow(10, -4 + i / 2));

/** svm-hpo's upper objective on the host: sum LeakyReLU_0.01(-tanh(2.5 t (w'a + b) / ||w||)). */
export function svmUpperValue(X: Float64Array, t: Float64Array, w: ArrayLike<number>, b: number): number {
  const d = w.length;
  let nw = 0;
  for (let j = 0; j < d; j++) nw += w[j] * w[j];
  nw = Math.sqrt(nw) || 1e-300;
  let s = 0;
  for (let i = 0; i < t.length; i++) {
    let z = b;
    for (let j = 0; j < d; j++) z += X[i * d + j] * w[j];
    const u = -Math.tanh((2.5 * t[i] * z) / nw);
    s += u > 0 ? u : 0.01 * u;
  }
  return s;
}

/** svm-hpo: the L2-SVM with one C per grid value solved exactly; C by validation accuracy, ties by the lower validation F. */
export function svmGridBaseline(o: Options, seed: number): { C: number; testAccuracy: number; valAccuracy: number } {
  const s = svmSplits(dataset("breastCancer", String(o.dataFile ?? "")), seed);
  let best = { C: NaN, valAccuracy: -1, F: Infinity, testAccuracy: NaN };
  for (const C of SVM_C_GRID) {
    const fit = fitL2Svm(s.Xtr, s.ttr, s.d, C);
    const valAccuracy = svmAccuracy(s.Xval, s.tval, fit.w, fit.b);
    const F = svmUpperValue(s.Xval, s.tval, fit.w, fit.b);
    if (valAccuracy > best.valAccuracy || (valAccuracy === best.valAccuracy && F < best.F)) {
      best = { C, valAccuracy, F, testAccuracy: svmAccuracy(s.Xte, s.tte, fit.w, fit.b) };
    }
  }
  return { C: best.C, testAccuracy: best.testAccuracy, valAccuracy: best.valAccuracy };
}

const HC_TRAIN = 5000;
const HC_L2 = 0.001;

/** hyper-cleaning: the task's lower level with weight 1 on the kept training samples (all, or the uncorrupted ones), solved to ||grad||_inf < 1e-6; test accuracy. */
export function hypercleanBaseline(which: "noCleaning" | "cleanOnly", name: "mnist" | "fashionMnist", o: Options, seed: number): { value: number; info: Record<string, number> } {
  const ds = dataset(name, String(o.dataDir ?? ""));
  const d = ds.rows * ds.cols;
  const clean = ds.trainLabels.subarray(0, HC_TRAIN);
  const corr = corruptLabels(clean, Number(o.rate), seed);
  const rows: number[] = [];
  for (let i = 0; i < HC_TRAIN; i++) if (which === "noCleaning" || corr.mask[i] === 0) rows.push(i);
  const labels = Uint8Array.from(rows, (i) => corr.noisy[i]);
  const fit = fitSoftmax(pixelRows(ds.trainImages, d, rows), labels, 10, HC_L2, { tol: 1e-6, maxIter: 3000 });
  return { value: softmaxAccuracy(ds.testImages, ds.testLabels, d, 10, fit.theta), info: { samples: rows.length, gradInf: fit.gradInf, iters: fit.iters } };
}

/** Adam steps and step size of the RNN baselines (the lower level alone, full batch). */
export const RNN_BASELINE = { steps: 400, lr: 0.01 };

/**
 * hyperclean-imdb-rnn: the task's lower level at a fixed x, all weights sigmoid(30) ~ 1 (no cleaning) or ~0 on
 * the flipped reviews (clean-only, oracle), trained from the task's seed-s start by full-batch Adam; test accuracy.
 */
export async function rnnCleaningBaseline(which: "noCleaning" | "cleanOnly", opts: Options, seed: number): Promise<{ value: number; info: Record<string, number> }> {
  const o = opts as unknown as RnnCleaningOptions;
  const data = preparedImdbSequences(o, seed);
  const problem = rnnCleaningProblem(data, o, seed);
  const { mask } = flipLabels(data.trainLabels, o.rate, seed);
  const xs = Float32Array.from(mask, (m) => (which === "cleanOnly" && m ? -30 : 30));
  const start = problem.init(seed);
  start.x.dispose();
  const h = await toHost(start.y);
  const grad = jax.jit((x: Arr, y: RnnY) => jax.grad((yy: RnnY) => problem.lower(x, yy))(y));
  const gInf = await adamFit(h, (y) => grad(array(xs, [xs.length]), y as RnnY) as RnnY, RNN_BASELINE.steps, RNN_BASELINE.lr);
  grad.dispose();
  const x = array(xs, [xs.length]);
  const m = await problem.evaluate!(x.ref, fromHost(h) as RnnY);
  x.dispose();
  problem.dispose!();
  return { value: m.testAccuracy, info: { samples: xs.filter((v) => v > 0).length, adamSteps: RNN_BASELINE.steps, finalGradInf: gInf, valLoss: m.valLoss } };
}

/** fewshot-digits, hyperrep-digits: nearest centroid on raw pixels (support-class means, Euclidean) on the task's held-out episodes for the seed. */
export function nearestCentroidAccuracy(o: Options, seed: number): number {
  const dg = o as unknown as DigitsOpts;
  const pools = digitPools(dg);
  const N = dg.ways;
  let sum = 0;
  let count = 0;
  for (const { e, n } of heldOutDigitChunks(pools.test, dg, seed)) {
    for (let k = 0; k < n; k++) {
      const cent = new Float64Array(N * e.d);
      const cnt = new Float64Array(N);
      for (let r = 0; r < e.nS; r++) {
        const row = k * e.nS + r;
        let lab = 0;
        for (let c = 0; c < N; c++) if (e.ys[row * N + c] === 1) lab = c;
        cnt[lab]++;
        for (let j = 0; j < e.d; j++) cent[lab * e.d + j] += e.xs[row * e.d + j];
      }
      for (let c = 0; c < N; c++) for (let j = 0; j < e.d; j++) cent[c * e.d + j] /= cnt[c] || 1;
      let right = 0;
      for (let r = 0; r < e.nQ; r++) {
        const row = k * e.nQ + r;
        let best = 0;
        let bestD = Infinity;
        let lab = 0;
        for (let c = 0; c < N; c++) {
          if (e.yq[row * N + c] === 1) lab = c;
          let dist = 0;
          for (let j = 0; j < e.d; j++) dist += (e.xq[row * e.d + j] - cent[c * e.d + j]) ** 2;
          if (dist < bestD) {
            bestD = dist;
            best = c;
          }
        }
        if (best === lab) right++;
      }
      sum += right / e.nQ;
      count++;
    }
  }
  return sum / count;
}

const nearestCentroid: BaselineDef = {
  name: "nearest centroid (raw pixels)",
  description: "per episode: class means of the support images, each query to the nearest mean (Euclidean); the task's held-out episodes",
  run: async (o, s) => nearestCentroidAccuracy(o, s),
};

const pretrainedHead: BaselineDef = {
  name: "pre-trained features + new head",
  description: `the MLP trained as one 15-class classifier on the meta-training classes (${PRETRAIN.perClass} images each, ${PRETRAIN.epochs} epochs of Adam), then per episode a softmax head on its 128 penultimate features fitted to the support set (Chen et al. 2019's Baseline)`,
  run: (o, s) => pretrainedHeadAccuracy(o as unknown as DigitsOpts, s),
};

/** The baselines of every real task, keyed by task name. */
export const taskBaselines: Record<string, TaskBaselines> = {
  "svm-hpo": {
    metric: "testAccuracy",
    higherIsBetter: true,
    baselines: [
      { name: "L2-SVM, C on a grid", description: `one C for all samples, ${SVM_C_GRID.length} values 1e-4..1e4, solved exactly (generalized Newton), chosen by validation accuracy`, run: async (o, s) => {
          const r = svmGridBaseline(o, s);
          return { value: r.testAccuracy, info: { C: r.C, valAccuracy: r.valAccuracy } };
        },
      },
      { name: "L2-SVM, C = 1", description: "one fixed C = 1, solved exactly (the task's baselineTestAccuracy)", run: async (o, s) => svmGridFixed(o, s, 1) },
    ],
  },
  "hyperclean-mnist": hypercleanBaselines("mnist"),
  "hyperclean-fashion": hypercleanBaselines("fashionMnist"),
  "hyperclean-imdb-rnn": {
    metric: "testAccuracy",
    higherIsBetter: true,
    baselines: [
      { name: "no cleaning", description: `the RNN's lower level with every weight 1 on all noisy labels, ${RNN_BASELINE.steps} full-batch Adam steps (lr ${RNN_BASELINE.lr}) from the task's start`, run: (o, s) => rnnCleaningBaseline("noCleaning", o, s) },
      { name: "clean-only (oracle)", description: "the same training on the unflipped reviews only (uses the corruption mask: an upper reference)", oracle: true, run: (o, s) => rnnCleaningBaseline("cleanOnly", o, s) },
    ],
  },
  "hpo-l2-imdb": {
    metric: "testAccuracy",
    higherIsBetter: true,
    baselines: [
      {
        name: "scalar L2 on a grid",
        description: "one L2 weight for all features, 25 values 1e-8..1 (third decades), Newton-CG with tol 1e-8 (final gradient norms in info), chosen by validation CE",
        run: async (o, s) => {
          const ds = dataset("imdb", String(o.dataFile ?? ""));
          const data = textFeatures(ds, s, Number(o.nTrain), Number(o.nVal), Number(o.nTest), Number(o.vocab));
          // 1e-8..1: on the task's [1e-5, 1] grid the validation optimum sat at the lower edge on every seed
          const r = l2Baseline(data, Array.from({ length: 25 }, (_, i) => Math.pow(10, -8 + i / 3)));
          return { value: r.testAccuracy, info: { lambda: r.lambda, valLoss: r.valLoss, maxGradNorm: Math.max(...r.table.map((t) => t.gradNorm)) } };
        },
      },
    ],
  },
  "fewshot-digits": {
    metric: "testAccuracy",
    higherIsBetter: true,
    baselines: [nearestCentroid, pretrainedHead],
  },
  // the same held-out episodes as fewshot-digits (same streams, pools and chunks)
  "hyperrep-digits": {
    metric: "testAccuracy",
    higherIsBetter: true,
    baselines: [nearestCentroid, pretrainedHead],
  },
};

function svmGridFixed(o: Options, seed: number, C: number): number {
  const s = svmSplits(dataset("breastCancer", String(o.dataFile ?? "")), seed);
  const fit = fitL2Svm(s.Xtr, s.ttr, s.d, C);
  return svmAccuracy(s.Xte, s.tte, fit.w, fit.b);
}

function hypercleanBaselines(name: "mnist" | "fashionMnist"): TaskBaselines {
  return {
    metric: "testAccuracy",
    higherIsBetter: true,
    baselines: [
      { name: "no cleaning", description: "multinomial logistic regression on all 5000 noisy labels (the lower level with every weight 1), solved to ||grad||_inf < 1e-6", run: async (o, s) => hypercleanBaseline("noCleaning", name, o, s) },
      { name: "clean-only (oracle)", description: "the same fit on the uncorrupted samples only (uses the corruption mask: an upper reference)", oracle: true, run: async (o, s) => hypercleanBaseline("cleanOnly", name, o, s) },
    ],
  };
}

/** One baseline's values over seeds with their mean and 95% interval. */
export interface BaselineResult {
  name: string;
  description: string;
  oracle: boolean;
  seeds: number[];
  values: number[];
  /** Per seed, facts of the fit (when the baseline reports them). */
  info?: Record<string, number>[];
  mean: number;
  ci: number;
}

/** Run every baseline of `task` on each seed (task options = the task's defaults under `opts`). */
export async function runBaselines(task: string, opts: Options, seeds: number[], only?: string[]): Promise<BaselineResult[]> {
  const tb = taskBaselines[task];
  if (!tb) throw new BilevelInputError(`task: no baselines defined for ${task} (have ${Object.keys(taskBaselines).join(", ")})`);
  const out: BaselineResult[] = [];
  for (const b of tb.baselines) {
    if (only && !only.includes(b.name)) continue;
    const values: number[] = [];
    const info: Record<string, number>[] = [];
    for (const s of seeds) {
      const r = await b.run(opts, s);
      values.push(typeof r === "number" ? r : r.value);
      if (typeof r !== "number") info.push(r.info);
    }
    const { mean, ci } = ci95(values);
    out.push({ name: b.name, description: b.description, oracle: b.oracle === true, seeds, values, ...(info.length ? { info } : {}), mean, ci });
  }
  return out;
}
