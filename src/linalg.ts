/**
 * The one host linear-algebra module: small dense float64 matrices (row-major Float64Array) for closed-form
 * optima of toy problems, computed independently of the engine, and dense solves on the host.
 */
export type Mat = { rows: number; cols: number; data: Float64Array };

export const mat = (rows: number, cols: number, data?: ArrayLike<number>): Mat => ({
  rows,
  cols,
  data: data ? Float64Array.from(data) : new Float64Array(rows * cols),
});
export const eye = (n: number): Mat => {
  const m = mat(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
};
export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const c = mat(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++)
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k];
      if (v === 0) continue;
      for (let j = 0; j < b.cols; j++) c.data[i * b.cols + j] += v * b.data[k * b.cols + j];
    }
  return c;
}
export function transpose(a: Mat): Mat {
  const t = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j];
  return t;
}
export function add(a: Mat, b: Mat): Mat {
  return mat(a.rows, a.cols, a.data.map((v, i) => v + b.data[i]));
}
export const matvec = (a: Mat, v: ArrayLike<number>): Float64Array => matmul(a, mat(a.cols, 1, v)).data;

/** Solve A X = B by Gaussian elimination with partial pivoting (A square). */
export function solve(a: Mat, b: Mat): Mat {
  const n = a.rows;
  const A = Float64Array.from(a.data);
  const B = Float64Array.from(b.data);
  const m = b.cols;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[piv * n + c])) piv = r;
    if (Math.abs(A[piv * n + c]) < 1e-300) throw new Error("solve: singular matrix");
    if (piv !== c) {
      for (let j = 0; j < n; j++) [A[c * n + j], A[piv * n + j]] = [A[piv * n + j], A[c * n + j]];
      for (let j = 0; j < m; j++) [B[c * m + j], B[piv * m + j]] = [B[piv * m + j], B[c * m + j]];
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r * n + c] / A[c * n + c];
      if (f === 0) continue;
      for (let j = c; j < n; j++) A[r * n + j] -= f * A[c * n + j];
      for (let j = 0; j < m; j++) B[r * m + j] -= f * B[c * m + j];
    }
  }
  const X = mat(n, m);
  for (let r = 0; r < n; r++) for (let j = 0; j < m; j++) X.data[r * m + j] = B[r * m + j] / A[r * n + r];
  return X;
}

/**
 * Conjugate gradient for A s = rhs, A symmetric positive definite given by its product `apply(v, out)`
 * (out = A v): from s = 0, at most `maxIter` iterations while ||r|| > tol; stops early when p'Ap <= 0
 * (A not positive definite along p). Returns s.
 */
export function solveCG(apply: (v: Float64Array, out: Float64Array) => void, rhs: ArrayLike<number>, maxIter: number, tol: number): Float64Array {
  const n = rhs.length;
  const s = new Float64Array(n);
  const r = Float64Array.from(rhs);
  const p = Float64Array.from(r);
  const Ap = new Float64Array(n);
  let rr = 0;
  for (let i = 0; i < n; i++) rr += r[i] * r[i];
  for (let k = 0; k < maxIter && Math.sqrt(rr) > tol; k++) {
    apply(p, Ap);
    let pAp = 0;
    for (let i = 0; i < n; i++) pAp += p[i] * Ap[i];
    if (!(pAp > 0)) break;
    const a = rr / pAp;
    for (let i = 0; i < n; i++) {
      s[i] += a * p[i];
      r[i] -= a * Ap[i];
    }
    let rr2 = 0;
    for (let i = 0; i < n; i++) rr2 += r[i] * r[i];
    const beta = rr2 / rr;
    rr = rr2;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
  }
  return s;
}

/** Orthonormalize the k columns of an n x k row-major matrix in place (modified Gram-Schmidt). */
export function orthonormalizeColumns(m: Float64Array, n: number, k: number): Float64Array {
  for (let j = 0; j < k; j++) {
    for (let p = 0; p < j; p++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += m[i * k + j] * m[i * k + p];
      for (let i = 0; i < n; i++) m[i * k + j] -= d * m[i * k + p];
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += m[i * k + j] ** 2;
    s = Math.sqrt(s);
    if (s > 0) for (let i = 0; i < n; i++) m[i * k + j] /= s;
  }
  return m;
}

/** A random orthogonal matrix (Gram-Schmidt on Gaussian columns). */
export function randomOrthogonal(n: number, normal: (k: number) => Float64Array): Mat {
  const q = mat(n, n, normal(n * n));
  orthonormalizeColumns(q.data, n, n);
  return q;
}

/** A random SPD matrix with eigenvalues spread log-uniformly in [1, cond]. */
export function randomSPD(n: number, cond: number, normal: (k: number) => Float64Array): Mat {
  const q = randomOrthogonal(n, normal);
  const d = mat(n, n);
  for (let i = 0; i < n; i++) d.data[i * n + i] = n === 1 ? 1 : Math.pow(cond, i / (n - 1));
  return matmul(matmul(q, d), transpose(q));
}

export const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, a) => s + a * a, 0));

/** An LU factorization with partial pivoting of an n x n matrix (row-major, in place in `lu`). */
export interface LU {
  n: number;
  lu: Float64Array;
  perm: Int32Array;
}

export function luFactor(A: ArrayLike<number>, n: number): LU {
  const M = Float64Array.from(A);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i * n + k]) > Math.abs(M[p * n + k])) p = i;
    if (p !== k) {
      for (let j = 0; j < n; j++) [M[k * n + j], M[p * n + j]] = [M[p * n + j], M[k * n + j]];
      [perm[k], perm[p]] = [perm[p], perm[k]];
    }
    const piv = M[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const f = (M[i * n + k] /= piv);
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) M[i * n + j] -= f * M[k * n + j];
    }
  }
  return { n, lu: M, perm };
}

/** Solve A x = b from an LU factorization of A. */
export function luSolve(f: LU, b: ArrayLike<number>): Float64Array {
  const { n, lu, perm } = f;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = b[perm[i]];
    for (let j = 0; j < i; j++) v -= lu[i * n + j] * x[j];
    x[i] = v;
  }
  for (let i = n - 1; i >= 0; i--) {
    let v = x[i];
    for (let j = i + 1; j < n; j++) v -= lu[i * n + j] * x[j];
    x[i] = v / lu[i * n + i];
  }
  return x;
}

/** Solve A x = b (A n x n row-major; both copied) by LU with partial pivoting. */
export function solveLinear(A: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  return luSolve(luFactor(A, n), b);
}

/**
 * The `k` leading eigenpairs of a symmetric n x n matrix `a` (row-major), by subspace iteration
 * (Golub & Van Loan, Sec. 8.2.4): Q <- orth(A Q), `iters` times, then the Rayleigh-Ritz values
 * diag(Q^T A Q), sorted by decreasing |value|. `start(k)` gives n x k start columns (row-major).
 */
export function topEigen(a: Float64Array, n: number, k: number, iters: number, start: Float64Array): { values: number[]; vectors: Float64Array } {
  let q: Float64Array = Float64Array.from(start);
  const times = (m: Float64Array): Float64Array => {
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const row = i * n;
      for (let l = 0; l < n; l++) {
        const v = a[row + l];
        if (v === 0) continue;
        for (let j = 0; j < k; j++) out[i * k + j] += v * m[l * k + j];
      }
    }
    return out;
  };
  const orth = (m: Float64Array): Float64Array => orthonormalizeColumns(m, n, k);
  q = orth(q);
  for (let t = 0; t < iters; t++) q = orth(times(q));
  const aq = times(q);
  const values = Array.from({ length: k }, (_, j) => {
    let d = 0;
    for (let i = 0; i < n; i++) d += q[i * k + j] * aq[i * k + j];
    return d;
  });
  const order = values.map((_, j) => j).sort((x, y) => Math.abs(values[y]) - Math.abs(values[x]));
  const vectors = new Float64Array(n * k);
  for (let i = 0; i < n; i++) order.forEach((j, c) => (vectors[i * k + c] = q[i * k + j]));
  return { values: order.map((j) => values[j]), vectors };
}
