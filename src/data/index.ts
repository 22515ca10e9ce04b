/**
 * Data sets (layer `data`: imported by tasks; imports only errors). Runtime-neutral: parsers of the
 * file formats and the data sources the tasks read (`setDataSources`); the file loaders are Node's
 * (`src/node/data.ts`, entry `bilevel/node`).
 */
export { parseIdx, checkIdxDims, type IdxArray } from "./idx.js";
export { imageDatasetFromArrays, imageDatasetFromBytes, IDX_FILES, type IdxPart, type ImageDataset } from "./mnist.js";
export { parseSklearnCsv, type TabularDataset } from "./breastcancer.js";
export { parseImdbJson, type TextDataset } from "./imdb.js";
export { setDataSources, dataset, type DataSources } from "./sources.js";
