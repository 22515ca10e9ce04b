/** The host linear L2-SVM in float64 (dense row-major rows, +-1 labels): accuracy and an exact generalized-Newton fit. */
import { mat, solve as denseSolve } from "../linalg.js";

/** Fraction of rows with t (w'a + b) > 0. */
export function svmAccuracy(X: Float64Array, t: Float64Array, w: ArrayLike<number>, b: number): number {
  const d = w.length;
  let c = 0;
  for (let i = 0; i < t.length; i++) {
    let s = b;
    for (let j = 0; j < d; j++) s += X[i * d + j] * w[j];
    if (t[i] * s > 0) c++;
  }
  return t.length ? c / t.length : 0;
}

/**
 * The plain L2-SVM with one penalty C: min 1/2 ||w||^2 + C/2 sum_i max(0, 1 - t_i (w'a_i + b))^2 (the
 * lower level with every c_i = C and xi at its optimum), by generalized Newton with backtracking.
 */
export function fitL2Svm(X: Float64Array, t: Float64Array, d: number, C: number, iters = 100): { w: Float64Array; b: number } {
  const n = t.length;
  const p = d + 1;
  const th = new Float64Array(p);
  const margin = (v: Float64Array, i: number) => {
    let s = v[d];
    for (let j = 0; j < d; j++) s += X[i * d + j] * v[j];
    return t[i] * s;
  };
  const obj = (v: Float64Array) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += 0.5 * v[j] * v[j];
    for (let i = 0; i < n; i++) s += 0.5 * C * Math.max(0, 1 - margin(v, i)) ** 2;
    return s;
  };
  let f = obj(th);
  for (let it = 0; it < iters; it++) {
    const g = new Float64Array(p);
    const H = mat(p, p);
    for (let j = 0; j < d; j++) {
      g[j] = th[j];
      H.data[j * p + j] = 1;
    }
    H.data[d * p + d] = 1e-10;
    for (let i = 0; i < n; i++) {
      const r = 1 - margin(th, i);
      if (r <= 0) continue;
      for (let j = 0; j <= d; j++) {
        const aj = j < d ? X[i * d + j] : 1;
        g[j] -= C * r * t[i] * aj;
        for (let k = 0; k <= d; k++) H.data[j * p + k] += C * aj * (k < d ? X[i * d + k] : 1);
      }
    }
    const gn = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
    if (gn < 1e-10) break;
    const s = denseSolve(H, mat(p, 1, g.map((v) => -v))).data;
    let step = 1;
    let slope = 0;
    for (let j = 0; j < p; j++) slope += g[j] * s[j];
    const cand = new Float64Array(p);
    let fc = f;
    for (let ls = 0; ls < 50; ls++) {
      for (let j = 0; j < p; j++) cand[j] = th[j] + step * s[j];
      fc = obj(cand);
      if (fc <= f + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(fc <= f)) break;
    th.set(cand);
    if (f - fc < 1e-15 * Math.max(1, Math.abs(f))) {
      f = fc;
      break;
    }
    f = fc;
  }
  return { w: th.slice(0, d), b: th[d] };
}
