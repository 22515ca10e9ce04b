/**
 * The engine: the only module that sets up `@jax-js/jax`. Everything else in bilevel imports jax-js
 * through here, so the Node.js polyfills in `./setup.ts` are always in place first.
 *
 * Threads: the wasm pool size is fixed when the process starts, by BILEVEL_THREADS (default min(2, cores);
 * 1 = kernels run on the main thread, fastest for small problems).
 *
 * Ownership: jax-js arrays are reference counted. Every function here follows the jax-js rule — an
 * array passed as an argument is consumed (its count drops by one); pass `a.ref` to keep using `a`.
 */
import * as jax from "./jaxjs.js";
import { wasmThreads } from "./jaxjs.js";

export { jax, wasmThreads };
export const np = jax.numpy;
export type Arr = jax.Array;
export type { JsTree } from "./jaxjs.js";

/** Devices bilevel can run on. `wasm` is the CPU default; `webgpu` where the host provides it. */
export type DeviceName = "wasm" | "webgpu" | "cpu";
/** Floating-point precision of problem data and iterates. */
export type FloatDtype = "float32" | "float64";

export interface EngineOptions {
  /** Compute device (default `wasm`, or the BILEVEL_DEVICE environment variable). */
  device?: DeviceName;
  /** Default float dtype for arrays made through the engine (default `float32`). */
  dtype?: FloatDtype;
}

let ready: Promise<void> | null = null;
let currentDevice: DeviceName = "wasm";
let currentDtype: FloatDtype = "float32";

/**
 * Start the engine (idempotent; later calls may change the dtype). Must be awaited once before any
 * array is made. Throws a one-line error when the device is not available on this host.
 */
export async function initEngine(opts: EngineOptions = {}): Promise<void> {
  const device = opts.device ?? (process.env.BILEVEL_DEVICE as DeviceName | undefined) ?? "wasm";
  if (!["wasm", "webgpu", "cpu"].includes(device)) {
    throw new Error(`device: expected one of wasm, webgpu, cpu, got '${device}'`);
  }
  if (opts.dtype !== undefined) setFloatDtype(opts.dtype);
  if (!ready) {
    ready = (async () => {
      const got = await jax.init(device);
      if (!got.includes(device)) throw new Error(`device: '${device}' is not available on this host (have: ${got.join(", ") || "none"})`);
      jax.defaultDevice(device);
      currentDevice = device;
    })();
    ready.catch(() => (ready = null));
  } else if (device !== currentDevice) {
    throw new Error(`device: the engine already runs on '${currentDevice}'; cannot switch to '${device}'`);
  }
  await ready;
}

/** Set the float dtype used by `array`, `zeros`, ... (problem builders call these). */
export function setFloatDtype(dtype: FloatDtype): void {
  if (dtype !== "float32" && dtype !== "float64") throw new Error(`dtype: expected float32 or float64, got '${dtype}'`);
  currentDtype = dtype;
}
export function floatDtype(): FloatDtype {
  return currentDtype;
}
export function engineInfo(): { device: DeviceName; dtype: FloatDtype; threads: number; jax: string; enginePatches: string[] } {
  return {
    device: currentDevice,
    dtype: currentDtype,
    threads: currentDevice === "wasm" ? wasmThreads : 1,
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
