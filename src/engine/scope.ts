/**
 * Tidy-style scopes for eager code: `scope(fn)` runs `fn` and then frees every concrete array made
 * inside it that is still alive and not part of the result, so host code and eager (`BILEVEL_JIT=0`)
 * solver steps can use bilevel's borrowing operations without counting references. Nested scopes pass
 * their results to the enclosing one. Under `jit` tracing the values are tracers, which hold no
 * memory; only concrete arrays are tracked (engine patch 045's creation hook).
 */
import { _setArrayCreatedHook, type Array as JaxArray } from "./jaxjs.js";
import type { Tree } from "./tree.js";
import { tleaves } from "./tree.js";

type Arr = JaxArray;
const stack: Arr[][] = [];
const track = (a: Arr) => stack[stack.length - 1].push(a);

/** Leaves of whatever a scope returns (trees, arrays of trees, objects with tree fields). */
function resultLeaves(v: unknown, out: Set<Arr>): void {
  if (v === null || v === undefined || typeof v !== "object") return;
  try {
    for (const l of tleaves(v as Tree)) if (l && typeof l === "object") out.add(l);
  } catch {
    /* not a pytree: nothing to keep */
  }
}

const alive = (a: Arr): boolean => {
  const rc = (a as { refCount?: number }).refCount;
  return typeof rc === "number" && rc > 0;
};

/** Free every array of `made` that is alive and not in `keep`; return the kept ones made here. */
function release(made: Arr[], keep: Set<Arr>): Arr[] {
  const kept: Arr[] = [];
  const seen = new Set<Arr>();
  for (const a of made) {
    if (seen.has(a)) continue;
    seen.add(a);
    if (keep.has(a)) kept.push(a);
    else while (alive(a)) a.dispose();
  }
  return kept;
}

function open(): void {
  if (stack.length === 0) _setArrayCreatedHook(track);
  stack.push([]);
}

function close(result: unknown, extraKeep: Tree[] = []): void {
  const made = stack.pop()!;
  if (stack.length === 0) _setArrayCreatedHook(null);
  const keep = new Set<Arr>();
  resultLeaves(result, keep);
  for (const t of extraKeep) resultLeaves(t, keep);
  const kept = release(made, keep);
  if (stack.length > 0) stack[stack.length - 1].push(...kept);
}

/**
 * Run `fn` and free every array made inside it that is not part of its result (or of `keep`). The
 * result's arrays belong to the caller. Arrays made before the scope are never touched.
 */
export function scope<T>(fn: () => T, keep: Tree[] = []): T {
  open();
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    close(result, keep);
  }
}

/** `scope` for async functions: arrays made until the promise settles (awaits included) are tracked. */
export async function scopeAsync<T>(fn: () => Promise<T>, keep: Tree[] = []): Promise<T> {
  open();
  let result: T | undefined;
  try {
    result = await fn();
    return result;
  } finally {
    close(result, keep);
  }
}

/**
 * Consume `inputs` the way a consuming function would, after a body that only borrowed them: each
 * input leaf whose count is what it was at `counts` (untouched) and that is not in `result` is
 * disposed once. Used by the kit's compiled steps in eager mode.
 */
export function countsOf(inputs: Tree[]): Map<Arr, number> {
  const m = new Map<Arr, number>();
  for (const t of inputs) for (const l of tleaves(t)) if (alive(l)) m.set(l, (l as { refCount: number }).refCount);
  return m;
}

/**
 * Release the inputs recorded by `countsOf` as a consuming function would: each input leaf not in
 * `result` ends one reference below its count at entry (untouched: disposed once; consumed by the
 * body: left alone), and every leaf keeps no more than its entry count, so references left over by
 * operations that return their argument itself (e.g. `stopGradient` of a concrete array) are released.
 */
export function consumeInputs(counts: Map<Arr, number>, result: unknown): void {
  const keep = new Set<Arr>();
  resultLeaves(result, keep);
  for (const [a, c] of counts) {
    const target = keep.has(a) ? c : c - 1;
    while (alive(a) && (a as { refCount: number }).refCount > target) a.dispose();
  }
}
