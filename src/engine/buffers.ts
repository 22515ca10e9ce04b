/**
 * Live-buffer accounting for leak tests and diagnostics. jax-js 0.1.25 exposes no public count of
 * allocated device buffers, so `trackBuffers()` mirrors the backend's reference counts by wrapping
 * its `malloc` / `incRef` / `decRef` (the backend object comes from `_getBackend`, which bilevel's
 * engine patch 020 exports). Off by default; costs one Map
 * operation per buffer event when on.
 */
import { _getBackend } from "./jaxjs.js";

interface BackendLike {
  malloc(size: number, init?: Uint8Array): number;
  incRef(slot: number): void;
  decRef(slot: number): void;
}

const live = new Map<number, { refs: number; bytes: number }>();
let tracking = false;
let liveBytes = 0;
let peakBytes = 0;

/**
 * Start counting live device buffers of the default backend (idempotent). Buffers allocated before
 * the first call are not counted.
 */
export async function trackBuffers(): Promise<void> {
  if (tracking) return;
  const b: BackendLike = _getBackend();
  const malloc = b.malloc.bind(b);
  const incRef = b.incRef.bind(b);
  const decRef = b.decRef.bind(b);
  b.malloc = (size, init) => {
    const slot = malloc(size, init);
    live.set(slot, { refs: 1, bytes: size });
    liveBytes += size;
    if (liveBytes > peakBytes) peakBytes = liveBytes;
    return slot;
  };
  b.incRef = (slot) => {
    incRef(slot);
    const e = live.get(slot);
    if (e) e.refs++;
  };
  b.decRef = (slot) => {
    decRef(slot);
    const e = live.get(slot);
    if (e && --e.refs <= 0) {
      live.delete(slot);
      liveBytes -= e.bytes;
    }
  };
  tracking = true;
}

/** Live buffers allocated since `trackBuffers()` and their total bytes. */
export function liveBuffers(): { count: number; bytes: number } {
  if (!tracking) throw new Error("liveBuffers: call `await trackBuffers()` first");
  let bytes = 0;
  for (const e of live.values()) bytes += e.bytes;
  return { count: live.size, bytes };
}

/**
 * The largest total of live buffer bytes since `trackBuffers()` or the last `resetPeakBuffers()` (the
 * engine's own high-water mark; the wasm heap behind it may be larger, it never shrinks).
 */
export function peakBufferBytes(): number {
  if (!tracking) throw new Error("peakBufferBytes: call `await trackBuffers()` first");
  return peakBytes;
}

/** Start a new high-water mark at the bytes live now. */
export function resetPeakBuffers(): void {
  peakBytes = liveBytes;
}
