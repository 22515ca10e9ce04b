/** Host logistic regression in float64 (sparse rows): loss, accuracy and a Newton-CG fit, for baselines and reference solutions. */
import { csrMatvec, csrTMatvec, type Csr } from "../data/bow.js";
import { solveCG } from "../linalg.js";

const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
const sigm = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Mean CE of the linear model (w, b) on sparse rows X with 0/1 labels t. */
export function logisticLoss(X: Csr, t: ArrayLike<number>, w: ArrayLike<number>, b: number): number {
  const z = csrMatvec(X, w, b);
  let s = 0;
  for (let i = 0; i < X.rows; i++) s += softplus(z[i]) - t[i] * z[i];
  return s / X.rows;
}

/** Fraction of rows where (w'a + b > 0) equals the 0/1 label. */
export function linearAccuracy(X: Csr, t: ArrayLike<number>, w: ArrayLike<number>, b: number): number {
  const z = csrMatvec(X, w, b);
  let c = 0;
  for (let i = 0; i < X.rows; i++) if ((z[i] > 0 ? 1 : 0) === t[i]) c++;
  return X.rows ? c / X.rows : 0;
}

export interface LogisticFit {
  w: Float64Array;
  b: number;
  iters: number;
  gradNorm: number;
}

/**
 * Minimize mean_i CE(w'a_i + b, t_i) + sum_j lam_j w_j^2 (lam a scalar or one weight per feature) by
 * Newton-CG with an Armijo backtracking line search, to ||grad|| < tol. Float64 on the host.
 */
export function fitLogistic(
  X: Csr,
  t: ArrayLike<number>,
  lam: number | ArrayLike<number>,
  opts: { tol?: number; maxIter?: number; maxCg?: number; w0?: ArrayLike<number>; b0?: number } = {},
): LogisticFit {
  const n = X.rows;
  const d = X.cols;
  const tol = opts.tol ?? 1e-8;
  const maxIter = opts.maxIter ?? 200;
  const maxCg = opts.maxCg ?? 500;
  const L = typeof lam === "number" ? new Float64Array(d).fill(lam) : Float64Array.from(lam);
  const w = opts.w0 ? Float64Array.from(opts.w0) : new Float64Array(d);
  let b = opts.b0 ?? 0;
  const obj = (ww: Float64Array, bb: number) => {
    let s = logisticLoss(X, t, ww, bb);
    for (let j = 0; j < d; j++) s += L[j] * ww[j] * ww[j];
    return s;
  };
  const z = new Float64Array(n);
  const r = new Float64Array(n);
  const D = new Float64Array(n);
  const gw = new Float64Array(d);
  const tmpN = new Float64Array(n);
  let iters = 0;
  let gradNorm = Infinity;
  let f = obj(w, b);
  for (; iters < maxIter; iters++) {
    csrMatvec(X, w, b, z);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const p = sigm(z[i]);
      r[i] = (p - t[i]) / n;
      D[i] = (p * (1 - p)) / n;
      gb += r[i];
    }
    csrTMatvec(X, r, gw);
    let gg = gb * gb;
    for (let j = 0; j < d; j++) {
      gw[j] += 2 * L[j] * w[j];
      gg += gw[j] * gw[j];
    }
    gradNorm = Math.sqrt(gg);
    if (gradNorm < tol) break;
    // CG on H s = -g in the order (b, w): H = [1' D 1, 1' D X; X' D 1, X' D X + 2 diag(L)].
    const hv = (v: Float64Array, out: Float64Array): void => {
      csrMatvec(X, v.subarray(1), v[0], tmpN);
      let ob = 0;
      for (let i = 0; i < n; i++) {
        tmpN[i] *= D[i];
        ob += tmpN[i];
      }
      const outW = out.subarray(1);
      csrTMatvec(X, tmpN, outW);
      for (let j = 0; j < d; j++) outW[j] += 2 * L[j] * v[1 + j];
      out[0] = ob;
    };
    const negG = new Float64Array(d + 1);
    negG[0] = -gb;
    for (let j = 0; j < d; j++) negG[1 + j] = -gw[j];
    const s = solveCG(hv, negG, maxCg, Math.min(0.5, Math.sqrt(gradNorm)) * gradNorm);
    const sw = s.subarray(1);
    let sb = s[0];
    let slope = gb * sb;
    for (let j = 0; j < d; j++) slope += gw[j] * sw[j];
    if (!(slope < 0)) {
      // Not a descent direction (CG stopped at once): fall back to the gradient.
      for (let j = 0; j < d; j++) sw[j] = -gw[j];
      sb = -gb;
      slope = -gg;
    }
    let step = 1;
    const wn = new Float64Array(d);
    let fn = f;
    for (let ls = 0; ls < 60; ls++) {
      for (let j = 0; j < d; j++) wn[j] = w[j] + step * sw[j];
      fn = obj(wn, b + step * sb);
      if (fn <= f + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(fn < f) && fn !== f) break;
    w.set(wn);
    b += step * sb;
    const progress = f - fn;
    f = fn;
    if (progress === 0) break;
  }
  return { w, b, iters, gradNorm };
}
