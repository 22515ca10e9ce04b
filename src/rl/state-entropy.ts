/**
 * PEBBLE's unsupervised pre-training reward (Lee, Smith, Abbeel 2021, Sec. 4.1, after Liu & Abbeel 2021,
 * APT): a particle estimate of the state entropy, r_int(s) = ||s - s^(k)|| / sd, with s^(k) the k-th
 * nearest neighbour of s among a sample of stored states (k = 5) and sd the running standard deviation
 * of the distances seen so far (Welford's algorithm), so the scale stays fixed while the buffer grows.
 */
export class StateEntropyReward {
  private n = 0;
  private mean = 0;
  private m2 = 0;

  constructor(readonly k = 5) {}

  /** The k-th nearest-neighbour distance of each of the `n` states in `S` [n, d] among the rows of `ref` [m, d]. */
  static knnDistance(S: ArrayLike<number>, n: number, ref: ArrayLike<number>, m: number, d: number, k: number): Float64Array {
    const out = new Float64Array(n);
    const best = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      best.fill(Infinity);
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) {
          const v = S[i * d + c] - ref[j * d + c];
          s += v * v;
        }
        if (s < best[k - 1]) {
          let p = k - 1;
          while (p > 0 && best[p - 1] > s) (best[p] = best[p - 1]), p--;
          best[p] = s;
        }
      }
      out[i] = Math.sqrt(best[Math.min(k, m) - 1]);
    }
    return out;
  }

  /** Normalised intrinsic rewards of `n` states against the reference sample (updates the running std). */
  rewards(S: ArrayLike<number>, n: number, ref: ArrayLike<number>, m: number, d: number): Float64Array {
    const r = StateEntropyReward.knnDistance(S, n, ref, m, d, this.k);
    for (const v of r) {
      this.n++;
      const delta = v - this.mean;
      this.mean += delta / this.n;
      this.m2 += delta * (v - this.mean);
    }
    const sd = this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 1;
    return r.map((v) => v / (sd > 0 ? sd : 1));
  }
}
