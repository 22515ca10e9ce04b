/**
 * `bilevel/node`: the Node-only parts of bilevel, and the whole core with them. Importing it prepares
 * Node for the engine (`./host.ts`: the worker-thread pool, BILEVEL_THREADS / BILEVEL_JIT /
 * BILEVEL_DEVICE, `webgpu` via the optional npm package, file loaders as the tasks' data sources);
 * under Node, `import "bilevel"` resolves to the same set-up, so the two can be mixed.
 *
 * - Data files: `loadMnist`, `loadFashionMnist`, `loadIdxImageDir`, `readIdx`, `loadBreastCancer`, `loadImdb`.
 * - Outputs that never destroy an earlier file: `writeFileAtomic`, `probeWritable`, `probeWritableDir`.
 * - Benchmarks and their reports: `runBench`, `writeBench`, `summarize`, plots (`bilevel bench`).
 * - Environment: `nodeEnvProblems()` (one line per invalid variable), `readEngineEnv(env)`.
 * Model files of layer-wise quantization are in `bilevel/quant` (Node only as well).
 *
 * @packageDocumentation
 */
import "./host.js";
export * from "../index.js";
export { nodeEnvProblems, readEngineEnv, cores, type NodeEnvSettings } from "./host.js";
export {
  readMaybeGzip,
  readIdx,
  clearIdxCache,
  loadIdxImageDir,
  mnistDataDir,
  loadMnist,
  loadFashionMnist,
  FASHION_MNIST_DIR,
  BREAST_CANCER_PATHS,
  loadBreastCancer,
  imdbDataFile,
  loadImdb,
  nodeDataSources,
} from "./data.js";
export { writeFileAtomic, probeWritable, probeWritableDir, osReason, mkdirs } from "./fsio.js";
export * from "../report/index.js";
