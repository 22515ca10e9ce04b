/**
 * Node.js set-up for @jax-js/jax. This is the ONE place in bilevel that prepares the host for jax-js;
 * it must be imported (for its side effects) before `@jax-js/jax` evaluates, which `src/engine/index.ts`
 * guarantees by importing it first.
 *
 * - Iterator helpers (`Iterator.prototype.map` ...) used by `np.matvec` / `einsum`: core-js polyfill.
 * - `globalThis.Float16Array`: jax-js tests `instanceof Float16Array`; Node 20 has none. A stub class
 *   that refuses construction (float16 is unsupported on the wasm backend anyway).
 * - `navigator`: jax-js reads `navigator.userAgent` in its kernel planner and
 *   `navigator.hardwareConcurrency` to size its wasm worker pool.
 * - `Worker`: a Web Worker shim over `node:worker_threads` so the wasm backend can run kernels on a
 *   pool of threads sharing one `WebAssembly.Memory`. Installed by `configureThreads(n)` for n > 1.
 */
import "core-js/actual/iterator/index.js";
import { Worker as NodeWorker } from "node:worker_threads";
import { resolveObjectURL } from "node:buffer";
import os from "node:os";

const g = globalThis as Record<string, unknown>;

if (typeof g.Float16Array === "undefined") {
  g.Float16Array = class Float16Array {
    constructor() {
      throw new Error("bilevel: float16 arrays are not supported on Node.js (use float32 or float64)");
    }
  };
}

/**
 * Wasm threads from the BILEVEL_THREADS environment variable, or null when unset. 1 = no worker pool
 * (kernels run synchronously on the main thread: fastest for small problems); 2+ = a worker pool.
 */
export function envThreads(): number | null {
  const env = process.env.BILEVEL_THREADS;
  if (env === undefined || env === "") return null;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`BILEVEL_THREADS: expected an integer from 1 to 64, got '${env}'`);
  }
  return n;
}

/** Cores available to this process. */
export const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);

if (typeof g.navigator === "undefined") {
  g.navigator = { userAgent: `Node.js/${process.version}`, hardwareConcurrency: 1 };
}

/** The prelude that makes a worker_threads thread look like a Web Worker to jax-js' worker source. */
const WORKER_PRELUDE = `
const { parentPort } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (data) => parentPort.postMessage(data);
parentPort.on("message", (data) => { if (typeof self.onmessage === "function") self.onmessage({ data }); });
`;

/**
 * Minimal Web Worker over worker_threads: enough for jax-js' WasmWorkerPool (blob URL source,
 * postMessage, onmessage, onerror). The thread is ref'd only while replies are outstanding, so an idle
 * pool never keeps the process alive and a pending reply always does.
 */
class NodeWebWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  #worker: NodeWorker | null = null;
  #queue: unknown[] = [];
  #pending = 0;
  #keepAlive: NodeJS.Timeout | null = null;

  constructor(url: string | URL) {
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`bilevel engine: worker source ${String(url)} is not a blob URL`);
    this.#hold();
    blob.text().then(
      (src) => {
        const w = new NodeWorker(WORKER_PRELUDE + src, { eval: true });
        w.on("message", (data) => {
          this.#pending--;
          if (this.#pending <= 0) this.#release();
          this.onmessage?.({ data });
        });
        w.on("error", (err) => this.onerror?.({ message: String(err?.message ?? err) }));
        w.unref(); // after the listeners: adding a 'message' listener refs the port again
        this.#worker = w;
        for (const m of this.#queue) w.postMessage(m);
        this.#queue = [];
        if (this.#pending <= 0) this.#release();
      },
      (err) => this.onerror?.({ message: String(err) }),
    );
  }

  postMessage(data: unknown): void {
    this.#pending++;
    this.#hold();
    if (this.#worker) this.#worker.postMessage(data);
    else this.#queue.push(data);
  }

  terminate(): void {
    this.#release();
    void this.#worker?.terminate();
  }

  // A ref'd interval keeps the event loop alive while a reply is outstanding (worker.ref() would too,
  // but the worker may not exist yet while its source is being read).
  #hold(): void {
    if (!this.#keepAlive) this.#keepAlive = setInterval(() => {}, 1 << 30);
  }
  #release(): void {
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }
}

/**
 * Give jax-js a pool of `threads` wasm workers (or none for 1). jax-js builds its wasm backend (shared
 * memory or not, pool size) when its module loads, so this runs here, before that import.
 */
function configureThreads(threads: number): void {
  try {
    Object.defineProperty(g.navigator as object, "hardwareConcurrency", { value: threads, configurable: true });
  } catch {
    /* read-only navigator: jax-js then sizes the pool from the host's value */
  }
  if (threads > 1) g.Worker = NodeWebWorker;
  else if (g.Worker === NodeWebWorker) delete g.Worker;
}

/**
 * The wasm thread count of this process: BILEVEL_THREADS, else min(2, cores). Fixed at start-up.
 * 1 runs kernels synchronously on the main thread, several times faster for small problems (each kernel
 * sent to a worker costs a message round trip); 2 pays off on large matrices.
 */
export const wasmThreads = envThreads() ?? Math.min(2, cores);
configureThreads(wasmThreads);
