/**
 * What the host runtime tells the engine. The core reads no environment variable and imports no
 * runtime module: a host set-up (bilevel's Node set-up, `src/node/host.ts`, or a page) fills this in,
 * and `initEngine` reads it when it is called. Without a host set-up the engine runs on wasm with
 * compiled solver steps, and takes threads from jax-js's own worker pool where the runtime offers one
 * (a cross-origin-isolated page).
 *
 * This module imports nothing, so a host set-up can fill it in before jax-js evaluates.
 */

/** Devices bilevel can run on. `wasm` is the CPU default; `webgpu` where the host provides it. */
export type DeviceName = "wasm" | "webgpu" | "cpu";
export const DEVICES: readonly DeviceName[] = ["wasm", "webgpu", "cpu"];

export interface EngineHost {
  /** The runtime, as engineInfo() reports it: "node", "browser", "worker" or "unknown". */
  name: string;
  /** Device `initEngine()` starts on when none is given (Node: BILEVEL_DEVICE). Default wasm. */
  defaultDevice?: DeviceName;
  /** Compile solver steps with jit (Node: BILEVEL_JIT, default on). */
  jit: boolean;
  /** Invalid host settings, one line each (e.g. a bad BILEVEL_THREADS); `initEngine` refuses to start. */
  problems: string[];
  /** Make `device` available before jax-js initialises it (Node: load the optional `webgpu` package). */
  prepareDevice?: (device: DeviceName) => Promise<void>;
}

function detect(): string {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.window === "object" && typeof g.document === "object") return "browser";
  if (typeof g.importScripts === "function" || typeof g.WorkerGlobalScope === "function") return "worker";
  return "unknown";
}

const host: EngineHost = { name: detect(), jit: true, problems: [] };

/** The current host settings (live object). */
export function engineHost(): EngineHost {
  return host;
}

/** Change host settings (a host set-up calls this once, before `initEngine`). */
export function configureHost(settings: Partial<EngineHost>): void {
  Object.assign(host, settings);
}

let loaded = false;
/** True once the engine module (jax-js) has started to evaluate: its wasm worker pool is then fixed. */
export function engineLoaded(): boolean {
  return loaded;
}
/** Called by `./setup.ts`, which runs immediately before jax-js evaluates. */
export function markEngineLoading(): void {
  loaded = true;
}
