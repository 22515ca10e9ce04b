/**
 * GPTQ: Frantar, Ashkboos, Hoefler, Alistarh, "GPTQ: Accurate Post-Training Quantization for Generative
 * Pre-trained Transformers" (ICLR 2023, arXiv 2210.17323).
 *
 * For a linear layer y = x W (W [in, out], GPT-2 Conv1D layout) and calibration inputs X [n, in], GPTQ
 * minimizes ||X W - X W_q||^2 one input row of W at a time (the paper's "columns" of the [out, in]
 * PyTorch layout), spreading each row's rounding error over the rows not yet quantized:
 *
 *     H = (2 / n) X^T X + lambda I,   lambda = percdamp * mean(diag H)   (percdamp 0.01, the paper's default)
 *     U = upper Cholesky factor of H^{-1}  (H^{-1} = U^T U)
 *     for i = 0 .. in-1:
 *         (at the start of each group of `groupSize` rows: scales / zero points from the current rows)
 *         q_i = quant(W[i, :]);  e = (W[i, :] - deq(q_i)) / U[i, i]
 *         W[k, :] -= U[i, k] * e   for k > i
 *
 * The paper's Algorithm 1 with the Cholesky reformulation (Section 3, "Step 3"); the lazy block updates
 * (Step 2) only change speed and are omitted. Rows never active (H_ii = 0) are set to 0 with H_ii = 1,
 * as in the reference code. Host float64 linear algebra; quantizer and packing of `quantize.ts`. Inputs
 * are the full-precision model's (not the sequential variant): see docs/quantization.md.
 */
import { BilevelInputError } from "../errors.js";
import { np, type Arr, toFloat64 } from "../engine/index.js";
import { checkBits, checkGroupSize, groupParamsOf, numGroups, packCodes, quantizeValue, type QuantizedTensor } from "./quantize.js";

export interface GPTQOptions {
  /** Damping as a fraction of the mean diagonal of H (default 0.01, the paper's). */
  percdamp?: number;
}

/** H = (2 / n) X^T X from calibration inputs X [n, in] (consumes X). Returns a row-major [in, in] Float64Array. */
export async function hessianOf(X: Arr): Promise<Float64Array> {
  const [n] = X.shape;
  const xtx = np.matmul(X.ref.transpose(), X);
  const h = await toFloat64(xtx);
  for (let k = 0; k < h.length; k++) h[k] *= 2 / n;
  return h;
}

/** Host version of `hessianOf` for a row-major X [n, in]. */
export function hessianHost(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const h = new Float64Array(d * d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let i = 0; i < d; i++) {
      const xi = x[o + i];
      if (xi === 0) continue;
      const hi = i * d;
      for (let j = i; j < d; j++) h[hi + j] += xi * x[o + j];
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = (2 / n) * h[i * d + j];
      h[i * d + j] = v;
      h[j * d + i] = v;
    }
  }
  return h;
}

/** In-place lower Cholesky factor of a symmetric positive-definite row-major [n, n] matrix; false if not PD. */
export function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = a[rj + j];
    for (let k = 0; k < j; k++) s -= a[rj + k] * a[rj + k];
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    a[rj + j] = d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = a[ri + j];
      for (let k = 0; k < j; k++) t -= a[ri + k] * a[rj + k];
      a[ri + j] = t / d;
    }
    for (let k = j + 1; k < n; k++) a[rj + k] = 0;
  }
  return true;
}

/** Upper Cholesky factor U of H^{-1} (H^{-1} = U^T U), or null when H is not positive definite. */
export function upperCholeskyOfInverse(h: Float64Array, n: number): Float64Array | null {
  const L = Float64Array.from(h);
  if (!choleskyInPlace(L, n)) return null;
  // Linv = L^{-1}, lower triangular, column by column (forward substitution on unit vectors).
  const Li = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    Li[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      const ri = i * n;
      for (let k = j; k < i; k++) s += L[ri + k] * Li[k * n + j];
      Li[ri + j] = -s / L[ri + i];
    }
  }
  // Hinv = Linv^T Linv (symmetric): Hinv[i][j] = sum_{k >= max(i, j)} Linv[k][i] Linv[k][j].
  const Hi = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const a = Li[rk + i];
      if (a === 0) continue;
      const ri = i * n;
      for (let j = i; j <= k; j++) Hi[ri + j] += a * Li[rk + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) Hi[j * n + i] = Hi[i * n + j];
  if (!choleskyInPlace(Hi, n)) return null;
  // Transpose the lower factor into the upper one.
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) U[j * n + i] = Hi[i * n + j];
  return U;
}

/**
 * GPTQ-quantize W [in, out] (row-major) given H [in, in] (from `hessianOf`). Returns the packed matrix and
 * the proxy loss sum_i ||W[i,:] - Q[i,:]||^2 / (2 U_ii^2) the algorithm accumulates.
 */
export function quantizeGPTQ(
  w: ArrayLike<number>,
  shape: [number, number],
  hessian: Float64Array,
  bits: number,
  groupSize: number,
  opts: GPTQOptions = {},
): { q: QuantizedTensor; loss: number } {
  checkBits(bits);
  checkGroupSize(groupSize);
  const [rows, cols] = shape;
  if (w.length !== rows * cols) throw new BilevelInputError(`gptq: weights of length ${w.length} do not match shape [${shape.join(", ")}]`);
  if (hessian.length !== rows * rows) throw new BilevelInputError(`gptq: Hessian of length ${hessian.length}, expected ${rows}x${rows}`);
  const percdamp = opts.percdamp ?? 0.01;
  if (!(percdamp >= 0)) throw new BilevelInputError(`gptq: percdamp must be >= 0, got ${percdamp}`);

  const W = Float64Array.from(w);
  const H = Float64Array.from(hessian);
  for (let i = 0; i < rows; i++) {
    if (H[i * rows + i] === 0) {
      H[i * rows + i] = 1;
      for (let j = 0; j < cols; j++) W[i * cols + j] = 0;
    }
  }
  let meanDiag = 0;
  for (let i = 0; i < rows; i++) meanDiag += H[i * rows + i];
  meanDiag /= rows;
  // Damping; if H + damp I is numerically not PD, raise the damping tenfold (at most 6 times).
  let U: Float64Array | null = null;
  let damp = percdamp * meanDiag;
  for (let attempt = 0; attempt < 7 && U === null; attempt++) {
    const Hd = Float64Array.from(H);
    for (let i = 0; i < rows; i++) Hd[i * rows + i] += damp;
    U = upperCholeskyOfInverse(Hd, rows);
    damp = damp > 0 ? damp * 10 : 1e-8 * Math.max(meanDiag, 1);
  }
  if (U === null) throw new Error("gptq: the damped Hessian is not positive definite");

  const maxq = (1 << bits) - 1;
  const ng = numGroups(rows, groupSize);
  const scales = new Float32Array(ng * cols);
  const zeros = new Uint8Array(ng * cols);
  const codes = new Uint8Array(rows * cols);
  const err = new Float64Array(cols);
  let loss = 0;
  let gs: Float64Array = new Float64Array(cols);
  let gz: Uint8Array = new Uint8Array(cols);
  for (let i = 0; i < rows; i++) {
    if (i % groupSize === 0) {
      const g = i / groupSize;
      const p = groupParamsOf(W, cols, i, Math.min(rows, i + groupSize), bits);
      gs = p.scales;
      gz = p.zeros;
      scales.set(gs, g * cols);
      zeros.set(gz, g * cols);
    }
    const d = U[i * rows + i];
    const ri = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = W[ri + j];
      const c = quantizeValue(v, gs[j], gz[j], maxq);
      codes[ri + j] = c;
      const dq = (c - gz[j]) * gs[j];
      const e = (v - dq) / d;
      err[j] = e;
      loss += ((v - dq) * (v - dq)) / (2 * d * d);
    }
    for (let k = i + 1; k < rows; k++) {
      const u = U[i * rows + k];
      if (u === 0) continue;
      const rk = k * cols;
      for (let j = 0; j < cols; j++) W[rk + j] -= u * err[j];
    }
  }
  return { q: { shape: [rows, cols], bits, groupSize, codes: packCodes(codes, bits), scales, zeros }, loss };
}
