/**
 * The engine: the only module that sets up `@jax-js/jax`. Everything else in bilevel imports jax-js
 * through here, so the polyfills in `./setup.ts` are always in place first. Runtime-neutral: host
 * settings (device, jit, threads) come from `./host.ts`, which the Node set-up (`src/node/host.ts`:
 * BILEVEL_DEVICE, BILEVEL_JIT, BILEVEL_THREADS) or a page fills in.
 *
 * Threads: the wasm pool size is fixed when jax-js loads: under Node by BILEVEL_THREADS (default
 * min(2, cores); 1 = kernels run on the main thread, fastest for small problems), in a browser by
 * jax-js's own workers, which exist only in a cross-origin-isolated page.
 *
 * Ownership: jax-js arrays are reference counted. Every function here follows the jax-js rule — an
 * array passed as an argument is consumed (its count drops by one); pass `a.ref` to keep using `a`.
 */
import * as jax from "./jaxjs.js";
import { wasmThreads } from "./jaxjs.js";
import { BilevelInputError } from "../errors.js";
import { configureHost, DEVICES, engineHost, type DeviceName } from "./host.js";

export { jax, wasmThreads };
export { engineHost, configureHost, DEVICES, type DeviceName, type EngineHost } from "./host.js";
export const np = jax.numpy;
export type Arr = jax.Array;
export type { JsTree } from "./jaxjs.js";

/** Floating-point precision of problem data and iterates. */
export type FloatDtype = "float32" | "float64";

export interface EngineOptions {
  /**
   * Compute device. Default: the device the engine already runs on, else the host's default (under
   * Node the BILEVEL_DEVICE environment variable), else `wasm`. Arrays stay on the device they were
   * made on: switch devices between runs, not within one.
   */
  device?: DeviceName;
  /** Default float dtype for arrays made through the engine (default `float32`; webgpu has no float64). */
  dtype?: FloatDtype;
  /** Compile solver steps with jit (default on; under Node BILEVEL_JIT=0 turns it off). */
  jit?: boolean;
}

let started = false;
let switching: Promise<void> = Promise.resolve();
let currentDevice: DeviceName = "wasm";
let currentDtype: FloatDtype = "float32";

async function useDevice(device: DeviceName): Promise<void> {
  if (started && device === currentDevice) return;
  await engineHost().prepareDevice?.(device);
  const got = await jax.init(device);
  if (!got.includes(device)) {
    const why = device === "webgpu" ? " (no WebGPU adapter: in Chromium start it with --enable-unsafe-webgpu where WebGPU is not enabled by default)" : "";
    throw new BilevelInputError(`device: '${device}' is not available on this host${why} (have: ${got.join(", ") || "none"})`);
  }
  jax.defaultDevice(device);
  currentDevice = device;
  started = true;
}

/**
 * Start the engine, or change its device or dtype. Must be awaited once before any array is made.
 * Throws a one-line `BilevelInputError` for an invalid host setting (e.g. BILEVEL_THREADS=abc), an
 * unknown device, or a device this host does not have.
 */
export async function initEngine(opts: EngineOptions = {}): Promise<void> {
  const host = engineHost();
  if (host.problems.length > 0) throw new BilevelInputError(host.problems[0]);
  if (opts.device !== undefined && !DEVICES.includes(opts.device)) {
    throw new BilevelInputError(`device: expected one of ${DEVICES.join(", ")}, got '${String(opts.device)}'`);
  }
  if (opts.jit !== undefined) {
    if (typeof opts.jit !== "boolean") throw new BilevelInputError(`jit: expected true or false, got '${String(opts.jit)}'`);
    configureHost({ jit: opts.jit });
  }
  const run = switching.then(async () => {
    const device = opts.device ?? (started ? currentDevice : (host.defaultDevice ?? "wasm"));
    const dtype = opts.dtype ?? currentDtype;
    if (device === "webgpu" && dtype === "float64") throw new BilevelInputError("dtype: float64 is not supported on webgpu (use float32)");
    await useDevice(device);
    if (opts.dtype !== undefined) setFloatDtype(opts.dtype);
  });
  switching = run.catch(() => {});
  await run;
}

/** The device arrays are made on now. */
export function currentDeviceName(): DeviceName {
  return currentDevice;
}

/** True when solver steps are compiled with jit (host setting; `initEngine({ jit })` changes it). */
export function jitEnabled(): boolean {
  return engineHost().jit;
}

/** Set the float dtype used by `array`, `zeros`, ... (problem builders call these). */
export function setFloatDtype(dtype: FloatDtype): void {
  if (dtype !== "float32" && dtype !== "float64") throw new BilevelInputError(`dtype: expected float32 or float64, got '${dtype}'`);
  if (dtype === "float64" && started && currentDevice === "webgpu") throw new BilevelInputError("dtype: float64 is not supported on webgpu (use float32)");
  currentDtype = dtype;
}
export function floatDtype(): FloatDtype {
  return currentDtype;
}
/** What the engine runs on: device, dtype, wasm threads, jit, host runtime, jax-js version and patches. */
export interface EngineInfo {
  device: DeviceName;
  dtype: FloatDtype;
  /** Threads computing kernels: the wasm worker pool size (1 = the calling thread); 1 off wasm. */
  threads: number;
  /** Solver steps compiled with jit. */
  jit: boolean;
  /** The runtime: node, browser, worker or unknown. */
  host: string;
  jax: string;
  enginePatches: string[];
}
export function engineInfo(): EngineInfo {
  return {
    device: currentDevice,
    dtype: currentDtype,
    threads: currentDevice === "wasm" ? wasmThreads : 1,
    jit: engineHost().jit,
    host: engineHost().name,
    jax: jax.ENGINE.version,
    enginePatches: [...jax.ENGINE.patches],
  };
}

const dt = () => (currentDtype === "float64" ? np.float64 : np.float32);

/** An array in the engine's float dtype from nested numbers or a typed array, with an optional shape. */
export function array(data: number | number[] | number[][] | Float32Array | Float64Array, shape?: number[]): Arr {
  let a: Arr;
  if (data instanceof Float32Array || data instanceof Float64Array) {
    const buf = currentDtype === "float64" ? Float64Array.from(data) : Float32Array.from(data);
    a = np.array(buf);
    if (!shape) shape = [data.length];
  } else {
    a = np.array(data as number[], { dtype: dt() });
  }
  return shape ? a.reshape(shape) : a;
}
export const zeros = (shape: number[]): Arr => np.zeros(shape, { dtype: dt() });
export const ones = (shape: number[]): Arr => np.ones(shape, { dtype: dt() });
export const full = (shape: number[], v: number): Arr => np.full(shape, v, { dtype: dt() });
export const scalar = (v: number): Arr => np.array(v, { dtype: dt() });

/** Read a scalar array into a JS number (consumes it). */
export async function toNumber(a: Arr): Promise<number> {
  const d = await a.data();
  if (d.length !== 1) throw new Error(`toNumber: expected a scalar, got shape [${a.shape.join(", ")}]`);
  return Number(d[0]);
}
/** Read an array into a Float64Array (consumes it). */
export async function toFloat64(a: Arr): Promise<Float64Array> {
  return Float64Array.from(await a.data() as ArrayLike<number>);
}

/** A seeded 32-bit PRNG (mulberry32) for host-side randomness; the spec in shared/TASKS.md. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    let t = (a = (a + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a host PRNG (Box-Muller), for reproducible problem data. */
export function gaussian(rand: () => number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-300);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** A jax-js PRNG key from an integer seed. */
export const prngKey = (seed: number): Arr => jax.random.key(seed);

export * from "./tree.js";
import { tleaves as _tleaves } from "./tree.js";
export * from "./buffers.js";
export * from "./scope.js";

/** All leaves of a tree, read and concatenated into one Float64Array (consumes the tree). */
export async function treeToFloat64(t: import("./tree.js").Tree): Promise<Float64Array> {
  const parts: Float64Array[] = [];
  for (const l of _tleaves(t)) parts.push(await toFloat64(l));
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
