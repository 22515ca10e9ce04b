/** The sinusoid regression episodes of MAML (Finn et al. 2017, Sec. 5.1). */
import type { HostEpisodes } from "./episodes.js";

/** n sinusoid tasks y = A sin(x - p), A ~ U[0.1, 5], p ~ U[0, pi], x ~ U[-5, 5], K support + K query points. */
export function sinusoidEpisodes(rand: () => number, n: number, K: number): HostEpisodes & { amp: Float64Array; phase: Float64Array } {
  const xs = new Float32Array(n * K);
  const ys = new Float32Array(n * K);
  const xq = new Float32Array(n * K);
  const yq = new Float32Array(n * K);
  const amp = new Float64Array(n);
  const phase = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const A = 0.1 + 4.9 * rand();
    const p = Math.PI * rand();
    amp[t] = A;
    phase[t] = p;
    for (const [X, Y] of [
      [xs, ys],
      [xq, yq],
    ]) {
      for (let k = 0; k < K; k++) {
        const u = -5 + 10 * rand();
        X[t * K + k] = u;
        Y[t * K + k] = A * Math.sin(u - p);
      }
    }
  }
  return { n, nS: K, nQ: K, d: 1, c: 1, xs, ys, xq, yq, amp, phase };
}
