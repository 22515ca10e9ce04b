/**
 * Text features for hpo-l2-imdb (shared/TASKS.md): lowercase tokens matching [a-z']+, a vocabulary of
 * the most frequent training tokens, and binary bag-of-words vectors normalized to unit L2 norm, kept
 * as sparse rows (CSR) on the host. Also the host-side sparse products used by baselines and metrics.
 */
import { BilevelInputError } from "../errors.js";

/** Lowercase `text`, then every maximal run of [a-z'] is a token (in order, repeats kept). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z']+/g) ?? [];
}

/**
 * The `size` most frequent tokens over `docs` (total occurrences, repeats within a document count),
 * ordered by count descending, ties broken by the token's code-unit order ascending (deterministic).
 * Fewer than `size` distinct tokens give a shorter vocabulary.
 */
export function buildVocabulary(docs: string[][], size: number): string[] {
  if (!Number.isInteger(size) || size < 1) throw new BilevelInputError(`vocab: expected a positive integer, got ${size}`);
  const counts = new Map<string, number>();
  for (const doc of docs) for (const t of doc) counts.set(t, (counts.get(t) ?? 0) + 1);
  const entries = [...counts.entries()];
  entries.sort((a, b) => (b[1] !== a[1] ? b[1] - a[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return entries.slice(0, size).map((e) => e[0]);
}

/** Sparse rows: row i has column indices `indices[indptr[i] .. indptr[i+1])` (ascending) and `values`. */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

/**
 * Binary bag-of-words of each document over `vocab` (feature j = vocab[j]), each row scaled to unit
 * L2 norm (1 / sqrt(number of distinct vocabulary tokens)); a document with none is the zero row.
 */
export function bagOfWords(docs: string[][], vocab: string[]): Csr {
  const index = new Map<string, number>();
  vocab.forEach((t, j) => index.set(t, j));
  const indptr = new Int32Array(docs.length + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < docs.length; i++) {
    const present = new Set<number>();
    for (const t of docs[i]) {
      const j = index.get(t);
      if (j !== undefined) present.add(j);
    }
    const cols = [...present].sort((a, b) => a - b);
    const v = cols.length ? 1 / Math.sqrt(cols.length) : 0;
    for (const j of cols) {
      idx.push(j);
      val.push(v);
    }
    indptr[i + 1] = idx.length;
  }
  return { rows: docs.length, cols: vocab.length, indptr, indices: Int32Array.from(idx), values: Float64Array.from(val) };
}

/** Row-major dense copy of a CSR matrix as float32 (the engine's default dtype). */
export function csrToDense(m: Csr): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) for (let p = m.indptr[i]; p < m.indptr[i + 1]; p++) out[i * m.cols + m.indices[p]] = m.values[p];
  return out;
}

/** out = M v + b (b a scalar added to every row). */
export function csrMatvec(m: Csr, v: ArrayLike<number>, b = 0, out: Float64Array<ArrayBufferLike> = new Float64Array(m.rows)): Float64Array<ArrayBufferLike> {
  for (let i = 0; i < m.rows; i++) {
    let s = b;
    for (let p = m.indptr[i]; p < m.indptr[i + 1]; p++) s += m.values[p] * v[m.indices[p]];
    out[i] = s;
  }
  return out;
}

/** out = M' u. */
export function csrTMatvec(m: Csr, u: ArrayLike<number>, out: Float64Array<ArrayBufferLike> = new Float64Array(m.cols)): Float64Array<ArrayBufferLike> {
  out.fill(0);
  for (let i = 0; i < m.rows; i++) {
    const ui = u[i];
    if (ui === 0) continue;
    for (let p = m.indptr[i]; p < m.indptr[i + 1]; p++) out[m.indices[p]] += m.values[p] * ui;
  }
  return out;
}
