/**
 * Checkpoints on disk: `fileCheckpointStore(dir)` keeps one run's last checkpoint in
 * `dir/checkpoint.json`, replaced atomically at every save (temporary file, fsync, rename through
 * `writeFileAtomic`), so a run killed at any moment leaves the previous checkpoint intact. The solver
 * state's arrays are stored as base64 of their raw bytes and the history's numbers keep -0, NaN and
 * +-Infinity, so a resumed run continues from bitwise the same state. Node only.
 */
import fs from "node:fs";
import path from "node:path";
import { BilevelInputError } from "../errors.js";
import type { Checkpoint, CheckpointStore, HistoryPoint } from "../run.js";
import { mkdirs, osReason, probeWritableDir, writeFileAtomic } from "./fsio.js";

/** The file a checkpoint folder holds. */
export const CHECKPOINT_FILE = "checkpoint.json";

/** JSON.stringify replacer / JSON.parse reviver that keep numbers JSON cannot write (-0, NaN, +-Infinity). */
export function exactNumbers(_k: string, v: unknown): unknown {
  if (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0))) return { $num: Object.is(v, -0) ? "-0" : String(v) };
  return v;
}
export function reviveNumbers(_k: string, v: unknown): unknown {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "$num" && typeof o.$num === "string") return Number(o.$num);
  }
  return v;
}

interface StoredLeaf {
  dtype: string;
  shape: number[];
  base64: string;
}

/** Encode a checkpoint as the JSON text `fileCheckpointStore` writes. */
export function encodeCheckpoint(c: Checkpoint<unknown>): string {
  const leaves: StoredLeaf[] = c.leaves.map((l) => ({
    dtype: l.dtype,
    shape: l.shape,
    base64: Buffer.from(l.bytes.buffer, l.bytes.byteOffset, l.bytes.byteLength).toString("base64"),
  }));
  return JSON.stringify({ ...c, leaves }, exactNumbers) + "\n";
}

/** Parse checkpoint JSON text; `where` names the file in the one-line error for anything malformed. */
export function decodeCheckpoint<H = HistoryPoint>(text: string, where: string): Checkpoint<H> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text, reviveNumbers) as Record<string, unknown>;
  } catch (e) {
    throw new BilevelInputError(`${where}: not a bilevel checkpoint (${e instanceof Error ? e.message : String(e)})`);
  }
  const ok =
    raw &&
    raw.format === 1 &&
    typeof raw.identity === "object" &&
    Number.isInteger(raw.step) &&
    typeof raw.solverSeconds === "number" &&
    Array.isArray(raw.history) &&
    raw.skeleton !== undefined &&
    Array.isArray(raw.leaves) &&
    (raw.leaves as unknown[]).every((l) => {
      const s = l as StoredLeaf;
      return s && typeof s.dtype === "string" && Array.isArray(s.shape) && typeof s.base64 === "string";
    });
  if (!ok) throw new BilevelInputError(`${where}: not a bilevel checkpoint (expected format 1 with identity, step, history, skeleton and leaves)`);
  const leaves = (raw.leaves as StoredLeaf[]).map((l) => ({ dtype: l.dtype, shape: l.shape, bytes: new Uint8Array(Buffer.from(l.base64, "base64")) }));
  return { ...(raw as unknown as Checkpoint<H>), leaves };
}

/**
 * A checkpoint store in folder `dir` (created when missing; probed for writing before any work).
 * `load()` returns null when the folder holds no checkpoint.
 */
export function fileCheckpointStore<H = HistoryPoint>(dir: string, field = "--checkpoint"): CheckpointStore<H> & { file: string; exists(): boolean } {
  probeWritableDir(dir, field);
  const file = path.join(dir, CHECKPOINT_FILE);
  return {
    name: dir,
    file,
    exists: () => fs.existsSync(file),
    load() {
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw new BilevelInputError(`${field} ${file}: cannot read (${osReason(e)})`);
      }
      return decodeCheckpoint<H>(text, `${field} ${file}`);
    },
    save(c) {
      mkdirs(dir);
      writeFileAtomic(file, encodeCheckpoint(c));
    },
  };
}
