/**
 * Runtime-neutral set-up for @jax-js/jax, evaluated immediately before it (`./jaxjs.ts` imports this
 * first). It imports no runtime module and reads no environment: Node's own set-up (the Worker shim
 * over worker_threads, BILEVEL_THREADS) lives in `src/node/host.ts` and runs before this when the
 * program imports `bilevel` under Node or `bilevel/node`.
 *
 * - Iterator helpers (`Iterator.prototype.map` ...) used by `np.matvec` / `einsum`: core-js polyfill.
 * - `globalThis.Float16Array`: jax-js tests `instanceof Float16Array`; runtimes without one (Node 20)
 *   get a stub class that refuses construction (float16 is unsupported on the wasm backend anyway).
 * - `navigator`: jax-js reads `navigator.userAgent` in its kernel planner; a runtime without one gets
 *   a minimal object.
 * - The wasm thread count: jax-js builds its wasm backend when it loads, with a worker pool of
 *   `navigator.hardwareConcurrency` workers when `SharedArrayBuffer` and `Worker` exist (a
 *   cross-origin-isolated page, or Node with the worker shim), else none. Recorded here as it is.
 */
import "core-js/actual/iterator/index.js";
import { markEngineLoading } from "./host.js";

const g = globalThis as Record<string, unknown>;

if (typeof g.Float16Array === "undefined") {
  g.Float16Array = class Float16Array {
    constructor() {
      throw new Error("bilevel: float16 arrays are not supported in this runtime (use float32 or float64)");
    }
  };
}

if (typeof g.navigator === "undefined") {
  g.navigator = { userAgent: "bilevel", hardwareConcurrency: 1 };
}

/** Threads of jax-js's wasm backend in this process (1 = kernels run on the calling thread). */
export const wasmThreads: number =
  typeof SharedArrayBuffer !== "undefined" && typeof g.Worker !== "undefined"
    ? Math.max(1, (g.navigator as { hardwareConcurrency?: number }).hardwareConcurrency || 4)
    : 1;

markEngineLoading();
