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

/** Two-sided 97.5% quantiles of Student's t for df = 1..30 (then the normal 1.96 is within 2%). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/**
 * Mean and 95% interval half-width over a few independent runs (seeds): Student's t with n - 1 degrees
 * of freedom, t * sd / sqrt(n); half-width 0 for one value (no spread measured), NaN mean for none.
 */
export function ci95(v: ArrayLike<number>): { mean: number; ci: number; n: number } {
  const n = v.length;
  if (n === 0) return { mean: NaN, ci: NaN, n: 0 };
  const { mean, ci } = meanCI(v);
  if (n === 1) return { mean, ci: 0, n };
  const t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
  return { mean, ci: (ci / 1.96) * t, n };
}
