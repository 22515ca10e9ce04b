/**
 * Episode batches of the meta-learning tasks (docs/tasks/meta-learning.md): a leading axis of episodes,
 * each with a support set (xs, ys) and a query set (xq, yq); host copies, device transfer and independent
 * seeded host streams (training episodes, the fixed meta-batch, held-out episodes, initializations).
 */
import { array, type Arr } from "../engine/index.js";

/** Episode data, leading axis = episodes. */
export type Episodes = { xs: Arr; ys: Arr; xq: Arr; yq: Arr };
/** Host-side episodes (row-major, shapes [n, nS, d] ...). */
export interface HostEpisodes {
  n: number;
  nS: number;
  nQ: number;
  d: number;
  c: number;
  xs: Float32Array;
  ys: Float32Array;
  xq: Float32Array;
  yq: Float32Array;
}

/** Device copies of host episodes. */
export const toDevice = (h: HostEpisodes): Episodes => ({
  xs: array(h.xs, [h.n, h.nS, h.d]),
  ys: array(h.ys, [h.n, h.nS, h.c]),
  xq: array(h.xq, [h.n, h.nQ, h.d]),
  yq: array(h.yq, [h.n, h.nQ, h.c]),
});
/** A new reference to every array of `e` (the episodes stay usable). */
export const refEp = (e: Episodes): Episodes => ({ xs: e.xs.ref, ys: e.ys.ref, xq: e.xq.ref, yq: e.yq.ref });

/** A seed for an independent host stream: (seed, stream, index) hashed. */
export function streamSeed(seed: number, stream: number, index: number): number {
  let h = Math.imul((seed | 0) + 0x632be5ab, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}
/** The host streams: training episodes, the fixed meta-batch, held-out episodes, initializations, baselines' pre-training. */
export const TRAIN_STREAM = 1;
export const FIXED_STREAM = 2;
export const TEST_STREAM = 3;
export const INIT_STREAM = 4;
export const PRETRAIN_STREAM = 5;
