/**
 * Bitwise snapshots of jax-js pytrees for checkpoints (runtime-neutral): a tree's skeleton (objects
 * with their keys in order, `{ $leaf: i }` for arrays) and each array's dtype, shape and raw bytes;
 * rebuilding checks the saved arrays against a freshly initialised tree (paths, dtypes, shapes).
 * Also the settings check of a resume and the error an interrupted loop throws.
 */
import { jax, np, tdispose, type Arr, type Tree } from "./engine/index.js";
import { BilevelInputError } from "./errors.js";

/** One saved array of the solver state: its dtype, shape and raw bytes (bitwise exact). */
export interface CheckpointLeaf {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Thrown by `solve` when its `signal` was aborted; the run's checkpoint (if any) is saved. */
export class RunInterrupted extends Error {
  override name = "RunInterrupted";
  constructor(readonly step: number) {
    super(`interrupted after step ${step}`);
  }
}

/** JSON with sorted keys: equal settings give equal strings. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** Throw a one-line error naming the first setting where the checkpoint and this run differ. */
export function checkIdentity(where: string, saved: Record<string, unknown>, now: Record<string, unknown>): void {
  const keys = [...new Set([...Object.keys(now), ...Object.keys(saved ?? {})])];
  for (const k of keys) {
    const a = canonicalJson(saved?.[k]);
    const b = canonicalJson(now[k]);
    if (a !== b) {
      throw new BilevelInputError(
        `${where}: made with other settings (${k}: ${a} in the checkpoint, ${b} now); resume with the same settings or use a new checkpoint`,
      );
    }
  }
}

/** A state's tree skeleton: objects keep their key order, a leaf is `{ $leaf: i }` (walk order). */
export type Skeleton = { $leaf: number } | Skeleton[] | { [k: string]: Skeleton } | number | string | boolean | null;

const isArr = (v: unknown): v is Arr => v instanceof jax.Array;

/** Walk a state tree: its skeleton and its leaves in walk order. */
function skeletonOf(t: unknown, leaves: Arr[]): Skeleton {
  if (isArr(t)) {
    leaves.push(t);
    return { $leaf: leaves.length - 1 };
  }
  if (Array.isArray(t)) return t.map((v) => skeletonOf(v, leaves));
  if (t && typeof t === "object") {
    const out: Record<string, Skeleton> = {};
    for (const [k, v] of Object.entries(t)) out[k] = skeletonOf(v, leaves);
    return out;
  }
  return (t ?? null) as Skeleton;
}

/** Path -> "dtype[shape]" of every leaf, for comparing a saved state with the solver's (key order aside). */
function leafSignatures(sk: Skeleton, sig: (i: number) => string, at = "state", out = new Map<string, string>()): Map<string, string> {
  if (sk && typeof sk === "object" && !Array.isArray(sk) && typeof (sk as { $leaf?: unknown }).$leaf === "number") {
    out.set(at, sig((sk as { $leaf: number }).$leaf));
  } else if (Array.isArray(sk)) sk.forEach((v, i) => leafSignatures(v, sig, `${at}[${i}]`, out));
  else if (sk && typeof sk === "object") for (const [k, v] of Object.entries(sk)) leafSignatures(v, sig, `${at}.${k}`, out);
  else out.set(at, JSON.stringify(sk));
  return out;
}

/** The state's skeleton and leaves as bytes (borrows the state). */
export async function snapshotTree(state: Tree): Promise<{ skeleton: Skeleton; leaves: CheckpointLeaf[] }> {
  const arrs: Arr[] = [];
  const skeleton = skeletonOf(state, arrs);
  const leaves: CheckpointLeaf[] = [];
  for (const l of arrs) {
    const d = (await l.ref.data()) as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
    leaves.push({ dtype: String(l.dtype), shape: [...l.shape], bytes: new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) });
  }
  return { skeleton, leaves };
}

const typedFor: Record<string, (b: ArrayBuffer) => ArrayLike<number>> = {
  float32: (b) => new Float32Array(b),
  float64: (b) => new Float64Array(b),
  int32: (b) => new Int32Array(b),
  uint32: (b) => new Uint32Array(b),
};

/**
 * The saved state rebuilt from its skeleton and bytes; `fresh` (a state `init` just made, consumed)
 * must have the same leaves (paths, dtypes, shapes) or a one-line error says where they differ.
 */
export function restoreTree(where: string, fresh: Tree, saved: { skeleton: Skeleton; leaves: CheckpointLeaf[] }): Tree {
  const arrs: Arr[] = [];
  const mine = leafSignatures(skeletonOf(fresh, arrs), (i) => `${arrs[i].dtype}[${arrs[i].shape.join(", ")}]`);
  const theirs = leafSignatures(saved.skeleton, (i) => (saved.leaves[i] ? `${saved.leaves[i].dtype}[${saved.leaves[i].shape.join(", ")}]` : "missing"));
  tdispose(fresh);
  for (const k of new Set([...mine.keys(), ...theirs.keys()])) {
    if (mine.get(k) !== theirs.get(k)) {
      throw new BilevelInputError(`${where}: the saved solver state does not fit this run (${k}: saved ${theirs.get(k) ?? "nothing"}, the solver has ${mine.get(k) ?? "nothing"})`);
    }
  }
  const build = (sk: Skeleton): unknown => {
    if (Array.isArray(sk)) return sk.map(build);
    if (sk && typeof sk === "object") {
      const leaf = (sk as { $leaf?: unknown }).$leaf;
      if (typeof leaf === "number") {
        const s = saved.leaves[leaf];
        const make = typedFor[s.dtype];
        if (!make) throw new BilevelInputError(`${where}: array of dtype ${s.dtype} cannot be restored`);
        const buf = s.bytes.buffer.slice(s.bytes.byteOffset, s.bytes.byteOffset + s.bytes.byteLength) as ArrayBuffer;
        return np.array(make(buf) as never, { dtype: s.dtype as never }).reshape(s.shape);
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(sk)) out[k] = build(v);
      return out;
    }
    return sk;
  };
  return build(saved.skeleton) as Tree;
}

