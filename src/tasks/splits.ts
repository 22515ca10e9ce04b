/** Seeded data splits: a mulberry32-driven Fisher-Yates permutation cut into consecutive parts. */
import { mulberry32 } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";

/** A seeded permutation of 0..n-1: mulberry32(seed) drives a Fisher-Yates shuffle (i = n-1 .. 1, j = floor(u (i + 1))). */
export function seededPermutation(n: number, seed: number): Int32Array {
  const u = mulberry32(seed);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** Consecutive parts of seededPermutation(n, seed) with the given sizes (their sum must be <= n). */
export function seededSplit(n: number, seed: number, sizes: number[]): Int32Array[] {
  const total = sizes.reduce((s, v) => s + v, 0);
  if (total > n) throw new BilevelInputError(`split: ${sizes.join(" + ")} = ${total} samples requested, the data has ${n}`);
  const perm = seededPermutation(n, seed);
  const parts: Int32Array[] = [];
  let o = 0;
  for (const s of sizes) {
    parts.push(perm.slice(o, o + s));
    o += s;
  }
  return parts;
}

/** np.array_split sizes of n into 3 parts: the first n mod 3 parts get one more. */
export const thirds = (n: number): number[] => [0, 1, 2].map((i) => Math.floor(n / 3) + (i < n % 3 ? 1 : 0));
