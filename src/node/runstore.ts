/**
 * A bench's folder as a store of finished runs: `runs/<solver>-seed<k>-<hash>.json` holds one run's
 * spec and record, written atomically the moment the run finishes, so an interrupted or killed bench
 * loses at most the runs in progress; `bench --resume` reads them back by spec. A lock file
 * (`.bench.lock`, holding the pid and host) makes a second bench into the same folder refuse with one
 * line while the first is alive; a lock left by a dead process on this host is taken over. Node only.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BilevelInputError } from "../errors.js";
import { runSpecKey, type RunRecord, type RunSpec } from "../experiment.js";
import { mkdirs, osReason, probeWritableDir, writeFileAtomic } from "./fsio.js";

export const LOCK_FILE = ".bench.lock";
export const RUNS_DIR = "runs";

/** A short stable hash of a spec (file names, queue job ids). */
export const specHash = (spec: RunSpec): string => createHash("sha256").update(runSpecKey(spec)).digest("hex").slice(0, 16);

/** The file name of a run in `runs/`. */
export const runFileName = (spec: RunSpec): string => `${spec.solver.replace(/[^\w.-]/g, "_")}-seed${spec.seed}-${specHash(spec)}.json`;

interface StoredRun {
  key: string;
  spec: RunSpec;
  record: RunRecord;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

export class RunStore {
  readonly runsDir: string;
  private lockFile: string | null = null;
  private readonly release = () => this.unlock();

  constructor(
    readonly dir: string,
    readonly field = "--out",
  ) {
    probeWritableDir(dir, field);
    this.runsDir = path.join(dir, RUNS_DIR);
  }

  /** Take the folder's lock or throw a one-line error naming the process that holds it. */
  lock(): void {
    const file = path.join(this.dir, LOCK_FILE);
    const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() }) + "\n";
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(file, "wx");
        fs.writeSync(fd, mine);
        fs.closeSync(fd);
        this.lockFile = file;
        process.on("exit", this.release);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new BilevelInputError(`${this.field} ${this.dir}: cannot take the lock (${osReason(e)})`);
      }
      let holder: { pid?: number; host?: string; started?: string } = {};
      try {
        holder = JSON.parse(fs.readFileSync(file, "utf8"));
      } catch {
        /* half-written lock: treat as stale below only if it stays unreadable */
      }
      const sameHost = holder.host === os.hostname();
      if (typeof holder.pid === "number" && (!sameHost || alive(holder.pid))) {
        throw new BilevelInputError(
          `${this.field} ${this.dir}: another bench is writing there (pid ${holder.pid} on ${holder.host}, since ${holder.started}); wait for it or remove ${file} if it is gone`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
    throw new BilevelInputError(`${this.field} ${this.dir}: cannot take the lock ${file}`);
  }

  unlock(): void {
    if (!this.lockFile) return;
    try {
      fs.rmSync(this.lockFile, { force: true });
    } catch {
      /* leaving: nothing else to do */
    }
    this.lockFile = null;
    process.off("exit", this.release);
  }

  /** Store a finished run (atomically). */
  put(spec: RunSpec, record: RunRecord): void {
    mkdirs(this.runsDir);
    const stored: StoredRun = { key: runSpecKey(spec), spec, record };
    writeFileAtomic(path.join(this.runsDir, runFileName(spec)), JSON.stringify(stored, null, 1) + "\n");
  }

  /** Every stored run, by spec key (unreadable files are skipped). */
  all(): Map<string, RunRecord> {
    const out = new Map<string, RunRecord>();
    if (!fs.existsSync(this.runsDir)) return out;
    for (const f of fs.readdirSync(this.runsDir)) {
      if (!f.endsWith(".json")) continue;
      try {
        const s = JSON.parse(fs.readFileSync(path.join(this.runsDir, f), "utf8")) as StoredRun;
        if (typeof s.key === "string" && s.record && typeof s.record === "object") out.set(s.key, s.record);
      } catch {
        /* a foreign or damaged file: not a finished run */
      }
    }
    return out;
  }
}
