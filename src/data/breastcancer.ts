/**
 * sklearn's breast_cancer data (Wisconsin diagnostic, 569 samples x 30 features, classes
 * 0 = malignant, 1 = benign): the parser of the CSV that Debian's python3-sklearn installs (reading
 * the file is Node's part, `src/node/data.ts`):
 *   /usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv
 * Format: a header line "n_samples,n_features,class names...", then one row per sample: the features
 * and the integer target last.
 */
import { BilevelInputError, printable } from "../errors.js";

export const BREAST_CANCER_PATHS = [
  "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv",
  "/usr/share/python3-sklearn/datasets/data/breast_cancer.csv",
];

export interface TabularDataset {
  name: string;
  file: string;
  n: number;
  d: number;
  /** Features, row-major [n, d]. */
  X: Float64Array;
  /** Integer class labels. */
  y: Uint8Array;
  classNames: string[];
}

/** Parse sklearn's bundled CSV format (header "n,d,names..."); validates every count and value. */
export function parseSklearnCsv(text: string, file: string, name: string): TabularDataset {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new BilevelInputError(`${file}: empty file`);
  const head = lines[0].split(",");
  const n = Number(head[0]);
  const d = Number(head[1]);
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1) {
    throw new BilevelInputError(`${file}: bad header '${printable(lines[0], 60)}' (expected n_samples,n_features,class names)`);
  }
  if (lines.length - 1 !== n) throw new BilevelInputError(`${file}: ${lines.length - 1} data rows, header says ${n}`);
  const classNames = head.slice(2);
  // Every row must have d + 1 fields: check the first before allocating n x d (a header can claim any d).
  const first = lines[1].split(",").length;
  if (first !== d + 1) throw new BilevelInputError(`${file}: row 1 has ${first} fields, expected ${d + 1}`);
  const X = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1].split(",");
    if (cells.length !== d + 1) throw new BilevelInputError(`${file}: row ${i + 1} has ${cells.length} fields, expected ${d + 1}`);
    for (let j = 0; j < d; j++) {
      const v = Number(cells[j]);
      if (cells[j].trim() === "" || !Number.isFinite(v)) throw new BilevelInputError(`${file}: row ${i + 1}, column ${j + 1}: '${printable(cells[j], 30)}' is not a number`);
      X[i * d + j] = v;
    }
    const t = Number(cells[d]);
    if (!Number.isInteger(t) || t < 0 || (classNames.length > 0 && t >= classNames.length)) {
      throw new BilevelInputError(`${file}: row ${i + 1}: target '${printable(cells[d], 30)}' is not a class index`);
    }
    y[i] = t;
  }
  return { name, file, n, d, X, y, classNames };
}
