/**
 * The few-shot "pre-trained features + new head" baseline (Chen, Liu, Kira, Wang, Huang 2019, A Closer Look
 * at Few-shot Classification, "Baseline"): the tasks' MLP 784-256-128-C trained as one ordinary classifier on
 * all C meta-training classes (Adam, minibatches of 128), then per held-out episode a fresh N-way softmax
 * head on the 128 penultimate ReLU features, fitted to the support set (L-BFGS, L2 1e-3), scored on the
 * queries. The held-out episodes are the tasks' own (same streams, pools and chunks as their metric).
 */
import { array, jax, mulberry32, type Arr } from "../engine/index.js";
import { adamFit, fromHost, toHost } from "./adam-fit.js";
import { D, digitPools, heldOutDigitChunks, type DigitsOpts } from "./digit-episodes.js";
import { PRETRAIN_STREAM, streamSeed } from "./episodes.js";
import { ceLoss } from "./episode-losses.js";
import { initMlp, mlpShared, type Params } from "./mlp.js";
import { fitSoftmax, type PixelRows } from "./softmax-fit.js";

/** Pre-training images per class, batch, epochs, Adam step size; L2 of the episode head. */
export const PRETRAIN = { perClass: 1000, batch: 128, epochs: 3, lr: 1e-3, headL2: 1e-3 };

const HIDDEN = [256, 128];

/** Dense float rows as the CSR rows fitSoftmax takes. */
function denseRows(F: ArrayLike<number>, n: number, d: number, from = 0): PixelRows {
  const indptr = Int32Array.from({ length: n + 1 }, (_, i) => i * d);
  const indices = Int32Array.from({ length: n * d }, (_, k) => k % d);
  const values = Float64Array.from({ length: n * d }, (_, k) => F[from * d + k]);
  return { d, indptr, indices, values };
}

export async function pretrainedHeadAccuracy(o: DigitsOpts, seed: number): Promise<{ value: number; info: Record<string, number> }> {
  const pools = digitPools(o);
  const C = pools.train.length;
  const rand = mulberry32(streamSeed(seed, PRETRAIN_STREAM, 0));
  // the pre-training set: perClass random images of every meta-training class
  const rows: [number, number][] = [];
  for (const [c, pool] of pools.train.entries()) {
    const r = Array.from(pool.rows);
    for (let i = 0; i < Math.min(PRETRAIN.perClass, r.length); i++) {
      const k = i + Math.floor(rand() * (r.length - i));
      [r[i], r[k]] = [r[k], r[i]];
      rows.push([c, r[i]]);
    }
  }
  const batchOf = (idx: number[]): [Arr, Arr] => {
    const X = new Float32Array(idx.length * D);
    const Y = new Float32Array(idx.length * C);
    idx.forEach((j, m) => {
      const [c, row] = rows[j];
      const src = pools.train[c].images.subarray(row * D, (row + 1) * D);
      for (let i = 0; i < D; i++) X[m * D + i] = src[i] / 255;
      Y[m * C + c] = 1;
    });
    return [array(X, [idx.length, D]), array(Y, [1, idx.length, C])];
  };
  const perEpoch = Math.floor(rows.length / PRETRAIN.batch);
  let order: number[] = [];
  const grad = jax.jit((p: Params, X: Arr, Y: Arr) =>
    jax.grad((q: Params) => ceLoss(mlpShared(q, X, 3, false).reshape([1, -1, C]), Y).sum())(p),
  );
  const h = await toHost(initMlp([D, ...HIDDEN, C], mulberry32(streamSeed(seed, PRETRAIN_STREAM, 1))));
  const gInf = await adamFit(
    h,
    (p, t) => {
      if (t % perEpoch === 0) {
        order = rows.map((_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const k = Math.floor(rand() * (i + 1));
          [order[i], order[k]] = [order[k], order[i]];
        }
      }
      const b = t % perEpoch;
      return grad(p as Params, ...batchOf(order.slice(b * PRETRAIN.batch, (b + 1) * PRETRAIN.batch)));
    },
    perEpoch * PRETRAIN.epochs,
    PRETRAIN.lr,
  );
  grad.dispose();
  // the 128 penultimate features of held-out images, then one head per episode
  const features = jax.jit((p: Params, X: Arr) => mlpShared(p, X, 2, true));
  const trunk = (): Params => {
    const p = fromHost(h);
    p.W2.dispose();
    p.b2.dispose();
    delete p.W2;
    delete p.b2;
    return p;
  };
  const F = HIDDEN[1];
  const N = o.ways;
  let sum = 0;
  let count = 0;
  let headIters = 0;
  for (const { e, n } of heldOutDigitChunks(pools.test, o, seed)) {
    const fs = await features(trunk(), array(e.xs, [n * e.nS, D])).data();
    const fq = await features(trunk(), array(e.xq, [n * e.nQ, D])).data();
    const label = (Y: Float32Array, row: number) => Array.from({ length: N }, (_, c) => Y[row * N + c]).indexOf(1);
    for (let k = 0; k < n; k++) {
      const labels = Array.from({ length: e.nS }, (_, r) => label(e.ys, k * e.nS + r));
      const fit = fitSoftmax(denseRows(fs, e.nS, F, k * e.nS), labels, N, PRETRAIN.headL2, { tol: 1e-6, maxIter: 500 });
      headIters += fit.iters;
      let right = 0;
      for (let r = 0; r < e.nQ; r++) {
        const row = k * e.nQ + r;
        let best = 0;
        let bestZ = -Infinity;
        for (let c = 0; c < N; c++) {
          let z = fit.theta[N * F + c];
          for (let j = 0; j < F; j++) z += fit.theta[c * F + j] * fq[row * F + j];
          if (z > bestZ) [bestZ, best] = [z, c];
        }
        if (best === label(e.yq, row)) right++;
      }
      sum += right / e.nQ;
      count++;
    }
  }
  features.dispose();
  return { value: sum / count, info: { pretrainImages: rows.length, pretrainSteps: perEpoch * PRETRAIN.epochs, pretrainFinalGradInf: gInf, meanHeadIters: headIters / count } };
}
