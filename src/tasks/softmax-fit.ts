/**
 * Host multinomial logistic regression in float64 on byte images (pixels / 255, rows stored sparse),
 * for the hyper-cleaning baselines: min over (W [c, d], b [c]) of
 *   (1/|S|) sum_{i in S} CE(W a_i + b, label_i) + l2 ||W||_F^2      (b not penalized)
 * by L-BFGS (memory 10, Armijo backtracking) to ||grad||_inf < tol. Strongly convex for l2 > 0.
 */

/** Rows of byte images as CSR (pixel / 255), only the listed rows. */
export interface PixelRows {
  d: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

export function pixelRows(images: Uint8Array, d: number, rows: ArrayLike<number>): PixelRows {
  let nnz = 0;
  for (let r = 0; r < rows.length; r++) for (let j = 0; j < d; j++) if (images[rows[r] * d + j] !== 0) nnz++;
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let k = 0;
  for (let r = 0; r < rows.length; r++) {
    for (let j = 0; j < d; j++) {
      const v = images[rows[r] * d + j];
      if (v !== 0) {
        indices[k] = j;
        values[k++] = v / 255;
      }
    }
    indptr[r + 1] = k;
  }
  return { d, indptr, indices, values };
}

/** Loss and gradient of the objective above at theta = [W (row-major c x d), b (c)]. */
export function softmaxObjective(X: PixelRows, labels: ArrayLike<number>, c: number, l2: number, theta: Float64Array, grad?: Float64Array): number {
  const { d, indptr, indices, values } = X;
  const n = labels.length;
  const W = theta;
  const bOff = c * d;
  if (grad) grad.fill(0);
  const z = new Float64Array(c);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) z[k] = theta[bOff + k];
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const j = indices[p];
      const v = values[p];
      for (let k = 0; k < c; k++) z[k] += W[k * d + j] * v;
    }
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, z[k]);
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.exp(z[k] - m);
    const lse = m + Math.log(s);
    loss += lse - z[labels[i]];
    if (grad) {
      for (let k = 0; k < c; k++) {
        const r = (Math.exp(z[k] - lse) - (k === labels[i] ? 1 : 0)) / n;
        if (r === 0) continue;
        grad[bOff + k] += r;
        for (let p = indptr[i]; p < indptr[i + 1]; p++) grad[k * d + indices[p]] += r * values[p];
      }
    }
  }
  let reg = 0;
  for (let q = 0; q < bOff; q++) {
    reg += W[q] * W[q];
    if (grad) grad[q] += 2 * l2 * W[q];
  }
  return loss / n + l2 * reg;
}

/** Fit (W, b) from zero by L-BFGS; returns theta and the final ||grad||_inf and iterations. */
export function fitSoftmax(X: PixelRows, labels: ArrayLike<number>, c: number, l2: number, opts: { tol?: number; maxIter?: number } = {}): { theta: Float64Array; gradInf: number; iters: number } {
  const tol = opts.tol ?? 1e-6;
  const maxIter = opts.maxIter ?? 2000;
  const p = c * X.d + c;
  let th = new Float64Array(p);
  let g = new Float64Array(p);
  let f = softmaxObjective(X, labels, c, l2, th, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  const inf = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let it = 0;
  for (; it < maxIter && inf(g) >= tol; it++) {
    // two-loop recursion: direction = -H g
    const q = Float64Array.from(g);
    const al: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const a = dot(S[k], q) / dot(Y[k], S[k]);
      al[k] = a;
      for (let i = 0; i < p; i++) q[i] -= a * Y[k][i];
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(inf(g), 1);
    for (let i = 0; i < p; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const bta = dot(Y[k], q) / dot(Y[k], S[k]);
      for (let i = 0; i < p; i++) q[i] += S[k][i] * (al[k] - bta);
    }
    let slope = -dot(g, q);
    if (!(slope < 0)) {
      // not a descent direction: restart with steepest descent
      S.length = 0;
      Y.length = 0;
      for (let i = 0; i < p; i++) q[i] = g[i] / Math.max(inf(g), 1);
      slope = -dot(g, q);
    }
    let t = 1;
    const thN = new Float64Array(p);
    const gN = new Float64Array(p);
    let fN = Infinity;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < p; i++) thN[i] = th[i] - t * q[i];
      fN = softmaxObjective(X, labels, c, l2, thN, gN);
      if (fN <= f + 1e-4 * t * slope) break;
      t *= 0.5;
    }
    if (!(fN <= f)) break; // no decrease possible at float64 precision
    const s = new Float64Array(p);
    const y = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      s[i] = thN[i] - th[i];
      y[i] = gN[i] - g[i];
    }
    if (dot(s, y) > 1e-16) {
      S.push(s);
      Y.push(y);
      if (S.length > 10) {
        S.shift();
        Y.shift();
      }
    }
    th = thN;
    g = gN;
    f = fN;
  }
  return { theta: th, gradInf: inf(g), iters: it };
}

/** Accuracy of theta on byte images (all rows of `images`). */
export function softmaxAccuracy(images: Uint8Array, labels: ArrayLike<number>, d: number, c: number, theta: Float64Array): number {
  const n = labels.length;
  let right = 0;
  const z = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) z[k] = theta[c * d + k];
    for (let j = 0; j < d; j++) {
      const v = images[i * d + j];
      if (v === 0) continue;
      for (let k = 0; k < c; k++) z[k] += (theta[k * d + j] * v) / 255;
    }
    let best = 0;
    for (let k = 1; k < c; k++) if (z[k] > z[best]) best = k;
    if (best === labels[i]) right++;
  }
  return n ? right / n : 0;
}
