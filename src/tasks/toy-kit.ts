/**
 * What the toy problems share (the closed-form correctness suite, src/tasks/toys.ts): the memory limit of
 * an instance, the distance-to-optimum metrics `distanceToOptimum` = ||z - z*|| / max(1, ||z*||) over
 * z = (x, y) and `distanceX`, and small helpers (squared norms, host-to-device copies).
 */
import { array, treeToFloat64, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { norm, type Mat } from "../linalg.js";

/**
 * Memory limit of a toy instance: 4 GiB, the most a wasm32 engine memory (and so one run's device
 * arrays) can address; the host float64 copies are counted against it too, so a size that cannot run is
 * refused in one line before anything is allocated.
 */
export const TOY_MEMORY_LIMIT = 2 ** 32;

const gib = (b: number) => (b >= 2 ** 40 ? `${(b / 2 ** 40).toPrecision(3)} TiB` : b >= 2 ** 30 ? `${(b / 2 ** 30).toPrecision(3)} GiB` : `${(b / 2 ** 20).toPrecision(3)} MiB`);

/** Throw a one-line `BilevelInputError` when the estimated `bytes` of an instance exceed the limit. */
export function checkMemory(task: string, size: string, bytes: number, what: string): void {
  if (!(bytes <= TOY_MEMORY_LIMIT)) {
    throw new BilevelInputError(`task ${task}: ${size} needs about ${gib(bytes)} (${what}), more than the limit ${gib(TOY_MEMORY_LIMIT)}; use a smaller size`);
  }
}

/** The lower variable of toy-lls and toy-constrained. */
export type Pair = { y1: Arr; y2: Arr };
/** 1/2 ||a||^2 and ||a||^2 (consume a). */
export const half = (a: Arr) => a.ref.mul(a).sum().mul(0.5);
export const sq = (a: Arr) => a.ref.mul(a).sum();

/** ||z - z*|| / max(1, ||z*||) for flat float64 vectors. */
export function relativeDistance(z: Float64Array, zStar: Float64Array): number {
  let d = 0;
  for (let i = 0; i < z.length; i++) d += (z[i] - zStar[i]) ** 2;
  return Math.sqrt(d) / Math.max(1, norm(zStar));
}

/** distanceToOptimum over z = (x, y) and distanceX, against the optimum (xs, ys). Consumes x and y. */
export async function distanceMetrics(x: Tree, y: Tree, xs: Float64Array, ys: Float64Array): Promise<Record<string, number>> {
  const zx = await treeToFloat64(x);
  const zy = await treeToFloat64(y);
  const z = Float64Array.from([...zx, ...zy]);
  const zs = Float64Array.from([...xs, ...ys]);
  return { distanceToOptimum: relativeDistance(z, zs), distanceX: relativeDistance(zx, xs) };
}

/** Device copies of a host matrix and a host vector. */
export const toArr = (m: Mat): Arr => array(m.data, [m.rows, m.cols]);
export const vec = (v: ArrayLike<number>): Arr => array(Float64Array.from(v));
