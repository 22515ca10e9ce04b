/**
 * HQQ: Half-Quadratic Quantization (Badri & Shaji 2023, "Half-Quadratic Quantization of Large Machine
 * Learning Models", mobiusml.github.io/hqq_blog): a data-free quantizer that keeps each group's
 * min-max scale and fits a float zero point z to a sparsity-promoting l_p loss (p < 1), so outliers do
 * not pull the grid:
 *
 *     min_z  || W - (Q_z(W) - z) s ||_p^p,   Q_z(W) = clamp(round(W / s + z), 0, 2^bits - 1)
 *
 * solved by half-quadratic splitting with an auxiliary error W_e (beta grows by kappa each step):
 *     W_q = Q_z(W),  W_r = (W_q - z) s
 *     W_e = shrink_p(W - W_r, beta),  shrink_p(x, beta) = sign(x) max(|x| - |x|^(p-1) / beta, 0)
 *     z   = mean over the group of (W_q - (W - W_e) / s)
 * Defaults p = 0.7, beta = 10, kappa = 1.01, 20 iterations: those of the reference implementation,
 * which also stops when the mean |W - W_r| stops falling; the zero point with the lowest error is kept.
 * Groups as in `quantize.ts` (groupSize input rows per output column); the zero points are stored as
 * float32, so a group costs 8 bytes instead of RTN's 5.
 */
import { checkBits, checkGroupSize, numGroups, packCodes, type QuantizedTensor } from "./quantize.js";
import { BilevelInputError } from "../errors.js";

export interface HQQOptions {
  lpNorm?: number;
  beta?: number;
  kappa?: number;
  iters?: number;
}

/** HQQ-quantize W [in, out] (row-major) with groups of `groupSize` input rows (host, float64). */
export function quantizeHQQ(w: ArrayLike<number>, shape: [number, number], bits: number, groupSize: number, opts: HQQOptions = {}): QuantizedTensor {
  checkBits(bits);
  checkGroupSize(groupSize);
  const [rows, cols] = shape;
  if (w.length !== rows * cols) throw new BilevelInputError(`hqq: weights of length ${w.length} do not match shape [${shape.join(", ")}]`);
  const p = opts.lpNorm ?? 0.7;
  const beta0 = opts.beta ?? 10;
  const kappa = opts.kappa ?? 1.01;
  const iters = opts.iters ?? 20;
  const maxq = (1 << bits) - 1;
  const ng = numGroups(rows, groupSize);
  const scales = new Float32Array(ng * cols);
  const zerosF32 = new Float32Array(ng * cols);
  const codes = new Uint8Array(rows * cols);
  const n = Math.min(groupSize, rows);
  const v = new Float64Array(n);
  const q = new Float64Array(n);
  for (let g = 0; g < ng; g++) {
    const r0 = g * groupSize;
    const r1 = Math.min(rows, r0 + groupSize);
    const m = r1 - r0;
    for (let j = 0; j < cols; j++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < m; i++) {
        v[i] = w[(r0 + i) * cols + j];
        if (!Number.isFinite(v[i])) throw new BilevelInputError(`hqq: weight ${(r0 + i) * cols + j} is not finite (${v[i]})`);
        lo = Math.min(lo, v[i]);
        hi = Math.max(hi, v[i]);
      }
      const s = Math.fround(hi > lo ? (hi - lo) / maxq : 1);
      let z = -lo / s;
      const code = (x: number, zz: number) => Math.min(maxq, Math.max(0, Math.round(x / s + zz)));
      let bestZ = Math.fround(z);
      let bestErr = Infinity;
      let beta = beta0;
      for (let it = 0; it < iters; it++) {
        let err = 0;
        let acc = 0;
        for (let i = 0; i < m; i++) {
          q[i] = code(v[i], z);
          const e = v[i] - (q[i] - z) * s;
          err += Math.abs(e);
          const a = Math.abs(e);
          const we = a > 0 ? Math.sign(e) * Math.max(a - a ** (p - 1) / beta, 0) : 0;
          acc += q[i] - (v[i] - we) / s;
        }
        err /= m;
        if (err < bestErr) {
          bestErr = err;
          bestZ = Math.fround(z);
        } else break;
        z = acc / m;
        beta *= kappa;
      }
      // the last update may still improve: score it too
      let errLast = 0;
      for (let i = 0; i < m; i++) errLast += Math.abs(v[i] - (code(v[i], Math.fround(z)) - Math.fround(z)) * s);
      if (errLast / m < bestErr) bestZ = Math.fround(z);
      scales[g * cols + j] = s;
      zerosF32[g * cols + j] = bestZ;
      for (let i = 0; i < m; i++) codes[(r0 + i) * cols + j] = code(v[i], bestZ);
    }
  }
  return { shape: [rows, cols], bits, groupSize, codes: packCodes(codes, bits), scales, zeros: new Uint8Array(0), zerosF32 };
}
