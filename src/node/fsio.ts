/**
 * File output that never destroys what was there: every result file, checkpoint and model is written
 * through `writeFileAtomic` (temporary file beside the target, fsync, rename), and every output path is
 * checked before work starts with `probeWritable` (creates and removes a real file there, which catches
 * /proc, /dev/full, read-only folders and missing parents). Node only.
 */
import fs from "node:fs";
import path from "node:path";
import { BilevelInputError, BilevelRunError } from "../errors.js";

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
 * `BilevelRunError` (exit 1: the work was done, the write failed) names `field`, the path and the OS
 * reason. An existing target that is not a regular file (a device such as /dev/full, a folder) is
 * never replaced.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, field?: string): void {
  const abs = path.resolve(file);
  const what = field ? `${field} ${file}` : file;
  const st = statOrNull(abs);
  if (st && !st.isFile()) throw new BilevelRunError(`${what}: cannot write (${st.isDirectory() ? "is a directory" : "not a regular file"}); nothing written`);
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
    throw new BilevelRunError(`${what}: cannot write (${osReason(e)})${st ? "; the previous file is unchanged" : ""}`);
  }
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
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
    const st = statOrNull(abs);
    if (st && st.isDirectory()) throw new Error("is a directory");
    if (st && !st.isFile()) throw new Error("not a regular file");
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

/**
 * Write a folder as one consistent set: `fill(tmp)` writes every file into a fresh temporary folder
 * beside `dir`; then the folder is renamed into place. An existing `dir` is refused unless `force`, and
 * with `force` it is replaced only after the new set is complete (renamed aside, then removed). On any
 * failure the temporary folder is removed and `dir` is left as it was. `field` names the flag in errors.
 */
export async function writeDirAtomic(dir: string, field: string, fill: (tmp: string) => Promise<void> | void, opts: { force?: boolean } = {}): Promise<void> {
  const abs = path.resolve(dir);
  checkDirTarget(dir, field, opts);
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.tmp-${stamp}`);
  const old = path.join(path.dirname(abs), `.${path.basename(abs)}.old-${stamp}`);
  try {
    mkdirs(path.dirname(abs));
    fs.mkdirSync(tmp);
    await fill(tmp);
    syncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof BilevelInputError || e instanceof BilevelRunError) throw e;
    throw new BilevelRunError(`${field} ${dir}: cannot write (${osReason(e)})${statOrNull(abs) ? "; the previous folder is unchanged" : ""}`);
  }
  try {
    const had = statOrNull(abs) !== null;
    if (had) fs.renameSync(abs, old);
    try {
      fs.renameSync(tmp, abs);
    } catch (e) {
      if (had) fs.renameSync(old, abs);
      throw e;
    }
    if (had) fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new BilevelRunError(`${field} ${dir}: cannot move the new files into place (${osReason(e)})`);
  }
}

/**
 * Check before any work that `writeDirAtomic(dir, ...)` can succeed: `dir` does not exist (or `force`
 * and it is a folder), and its parent can be created and written (probe file).
 */
export function checkDirTarget(dir: string, field: string, opts: { force?: boolean } = {}): void {
  const abs = path.resolve(dir);
  const st = statOrNull(abs);
  if (st && !st.isDirectory()) throw new BilevelInputError(`${field} ${dir}: exists and is not a folder`);
  if (st && !opts.force) throw new BilevelInputError(`${field} ${dir}: already exists; pass --force to replace it`);
  try {
    mkdirs(path.dirname(abs));
    probeDir(path.dirname(abs));
  } catch (e) {
    throw new BilevelInputError(`${field} ${dir}: cannot write there (${osReason(e)})`);
  }
}

/** fsync every file of a folder and the folder itself (best effort for the folder). */
function syncDir(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const f = path.join(dir, name);
    if (!fs.statSync(f).isFile()) continue;
    const fd = fs.openSync(f, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
