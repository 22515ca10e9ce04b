/**
 * Node.js host set-up for the engine: imported for its side effects before jax-js evaluates (by
 * `bilevel` under Node, `bilevel/node`, `bilevel/jax`, `bilevel/quant` and the CLI). The runtime-neutral
 * part of the set-up is `src/engine/setup.ts`; this adds what only Node has:
 *
 * - `navigator` with Node's version and the wasm thread count (jax-js sizes its worker pool from it).
 * - `Worker`: a Web Worker shim over `node:worker_threads`, so the wasm backend can run kernels on a
 *   pool of threads sharing one `WebAssembly.Memory`; installed only for 2+ threads.
 * - The environment: BILEVEL_THREADS (wasm threads, 1..64, default min(2, cores)), BILEVEL_JIT
 *   (1 = compiled solver steps, the default; 0 = eager, for debugging) and BILEVEL_DEVICE (wasm,
 *   webgpu or cpu: the device `initEngine()` starts on). An invalid value is never thrown here (that
 *   would break every command at import): it is recorded, `initEngine` refuses with that one line,
 *   and the CLI prints it and exits 2 (`nodeEnvProblems`).
 * - `--device webgpu` under Node: the optional npm package `webgpu` (Dawn), loaded only on request.
 * - File loaders for the data sets the tasks use (`./data.ts`).
 */
import { Worker as NodeWorker } from "node:worker_threads";
import { resolveObjectURL } from "node:buffer";
import os from "node:os";
import { BilevelInputError } from "../errors.js";
import { configureHost, DEVICES, engineLoaded, type DeviceName } from "../engine/host.js";
import { setDataSources } from "../data/sources.js";
import { nodeDataSources } from "./data.js";

const g = globalThis as Record<string, unknown>;

/** The engine settings read from the environment, with a one-line message per invalid variable. */
export interface NodeEnvSettings {
  threads: number | null;
  jit: boolean;
  device: DeviceName | null;
  problems: string[];
}

/** Read BILEVEL_THREADS, BILEVEL_JIT and BILEVEL_DEVICE (unset or empty = the default). Never throws. */
export function readEngineEnv(env: Record<string, string | undefined>): NodeEnvSettings {
  const out: NodeEnvSettings = { threads: null, jit: true, device: null, problems: [] };
  const t = env.BILEVEL_THREADS;
  if (t !== undefined && t !== "") {
    const n = Number(t);
    if (/^\s*\d+\s*$/.test(t) && Number.isInteger(n) && n >= 1 && n <= 64) out.threads = n;
    else out.problems.push(`BILEVEL_THREADS: expected an integer from 1 to 64, got '${t}'`);
  }
  const j = env.BILEVEL_JIT;
  if (j !== undefined && j !== "") {
    if (j === "0" || j === "1") out.jit = j === "1";
    else out.problems.push(`BILEVEL_JIT: expected 0 (eager solver steps) or 1 (compiled, the default), got '${j}'`);
  }
  const d = env.BILEVEL_DEVICE;
  if (d !== undefined && d !== "") {
    if ((DEVICES as readonly string[]).includes(d)) out.device = d as DeviceName;
    else out.problems.push(`BILEVEL_DEVICE: expected one of ${DEVICES.join(", ")}, got '${d}'`);
  }
  return out;
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

/** Cores available to this process. */
export const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);

const settings = readEngineEnv(process.env);

/** Invalid engine environment variables, one line each (empty when all are valid). */
export function nodeEnvProblems(): string[] {
  return [...settings.problems];
}

/**
 * The wasm thread count: BILEVEL_THREADS, else min(2, cores). Applied only when this runs before
 * jax-js evaluates (jax-js fixes its worker pool when it loads); engineInfo() reports what runs.
 */
const threads = settings.threads ?? Math.min(2, cores);
if (typeof g.navigator === "undefined") g.navigator = { userAgent: `Node.js/${process.version}`, hardwareConcurrency: threads };
if (!engineLoaded()) {
  try {
    Object.defineProperty(g.navigator as object, "hardwareConcurrency", { value: threads, configurable: true });
  } catch {
    /* read-only navigator: jax-js then sizes the pool from the host's value */
  }
  if (threads > 1 && typeof g.Worker === "undefined") g.Worker = NodeWebWorker;
}

/** Load the optional `webgpu` package (Dawn) and expose it as `navigator.gpu`, once. */
let gpuReady: Promise<void> | null = null;
async function prepareWebGpu(): Promise<void> {
  const nav = g.navigator as { gpu?: unknown };
  if (nav.gpu) return;
  let mod: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    const name = "webgpu"; // an optional package: never bundled, loaded only on request
    mod = (await import(name)) as typeof mod;
  } catch (e) {
    throw new BilevelInputError(
      `device: webgpu under Node needs the optional npm package 'webgpu' (npm install webgpu): ${(e as Error).message.split("\n")[0]}`,
    );
  }
  Object.assign(globalThis, mod.globals);
  try {
    Object.defineProperty(nav, "gpu", { value: mod.create([]), configurable: true });
  } catch {
    (nav as Record<string, unknown>).gpu = mod.create([]);
  }
}

configureHost({
  name: "node",
  jit: settings.jit,
  problems: settings.problems,
  ...(settings.device ? { defaultDevice: settings.device } : {}),
  prepareDevice: async (device) => {
    if (device !== "webgpu") return;
    gpuReady ??= prepareWebGpu();
    gpuReady.catch(() => (gpuReady = null));
    await gpuReady;
  },
});
setDataSources(nodeDataSources);
