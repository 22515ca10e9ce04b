/**
 * File output that never destroys what was there: every result file, checkpoint and model is written
 * through `writeFileAtomic` (temporary file beside the target, fsync, rename), and every output path is
 * checked before work starts with `probeWritable` (creates and removes a real file there, which catches
 * /proc, /dev/full, read-only folders and missing parents). Node only.
 */
import fs from "node:fs";
import path from "node:path";
import { BilevelInputError } from "../errors.js";

/** The OS reason of a failed file operation, e.g. `EACCES: permission denied`. */
export function osReason(e: unknown): string {
  if (e && typeof e === "object" && "code" in e) {
    const err = e as NodeJS.ErrnoException;
    const msg = (err.message ?? "").replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "");
    return `${err.code}${msg ? `: ${msg}` : ""}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** `mkdir -p` one level at a time (Node 20's recursive mkdir loops forever under /proc). */
export function mkdirs(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    missing.push(d);
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) fs.mkdirSync(m);
}

/**
 * Write `data` to `file` atomically: a temporary file in the same folder, fsync, rename over the
 * target. On any failure the temporary file is removed, the previous `file` is left as it was, and a
 * `BilevelInputError` names the path and the OS reason.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.tmp-${process.pid}-${Date.now()}`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, "w");
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw new BilevelInputError(`${file}: cannot write (${osReason(e)})`);
  }
}

/**
 * Check before any work that `file` can be written: its folder exists (or, with `createDir`, can be
 * made) and a probe file there can be created, written and removed. Throws a one-line
 * `BilevelInputError` naming `field` (e.g. `--json`) otherwise.
 */
export function probeWritable(file: string, field: string, opts: { createDir?: boolean } = {}): void {
  const abs = path.resolve(file);
  try {
    if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new Error("is a directory");
    const dir = path.dirname(abs);
    if (opts.createDir) mkdirs(dir);
    probeDir(dir);
  } catch (e) {
    throw new BilevelInputError(`${field} ${file}: cannot write there (${osReason(e)})`);
  }
}

/** Throw unless a small file can be created, written, fsynced and removed in `dir`. */
function probeDir(dir: string): void {
  if (!fs.existsSync(dir)) throw Object.assign(new Error("no such folder"), { code: "ENOENT" });
  if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  const probe = path.join(dir, `.bilevel-write-test-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(probe, "w");
  try {
    fs.writeSync(fd, "probe\n");
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(probe);
  }
}

/** Like `probeWritable` for an output folder: create it (level by level) if missing and probe inside. */
export function probeWritableDir(dir: string, field: string): void {
  const abs = path.resolve(dir);
  try {
    if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) throw new Error("not a directory");
    mkdirs(abs);
    probeDir(abs);
  } catch (e) {
    throw new BilevelInputError(`${field} ${dir}: cannot write there (${osReason(e)})`);
  }
}
