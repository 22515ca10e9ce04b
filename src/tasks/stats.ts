/** Summary statistics of per-episode scores. */

/** Mean and 95% CI half-width (normal approximation) of a sample. */
export function meanCI(v: ArrayLike<number>): { mean: number; ci: number } {
  const n = v.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i] - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  return { mean, ci: (1.96 * sd) / Math.sqrt(n) };
}
