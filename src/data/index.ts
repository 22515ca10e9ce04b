/** Loaders for shipped data sets (layer `data`: imported by tasks; imports only errors). */
export { parseIdx, readIdx, readMaybeGzip, clearIdxCache, type IdxArray } from "./idx.js";
export { loadMnist, loadFashionMnist, loadIdxImageDir, mnistDataDir, FASHION_MNIST_DIR, type ImageDataset } from "./mnist.js";
export { loadBreastCancer, parseSklearnCsv, BREAST_CANCER_PATHS, type TabularDataset } from "./breastcancer.js";
export { loadImdb, parseImdbJson, imdbDataFile, type TextDataset } from "./imdb.js";
