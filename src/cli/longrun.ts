/**
 * What `run` (and `train-lm`) add for long runs: `--checkpoint DIR [--checkpoint-every N] [--resume]`,
 * `--log FILE.jsonl`, and SIGINT/SIGTERM handling that stops between two steps, saves the checkpoint
 * and exits 130 / 143. A second signal exits at once.
 */
import { BilevelInputError } from "../errors.js";
import type { CheckpointStore, HistoryPoint, Progress } from "../run.js";
import { RunInterrupted } from "../run.js";
import { fileCheckpointStore } from "../node/checkpoint.js";
import { JsonlLog } from "../node/jsonl.js";
import { RunStore } from "../node/runstore.js";
import type { RunRecord } from "../experiment.js";
import type { BenchExecutor } from "../report/bench.js";

export interface LongRunFlags {
  checkpoint?: string;
  checkpointEvery?: number;
  resume?: boolean;
  log?: string;
}

/** Exit code of a process stopped by `signal` (128 + its number). */
export const signalExitCode = (signal: NodeJS.Signals): number => (signal === "SIGTERM" ? 143 : 130);

/**
 * Stop work when SIGINT / SIGTERM arrives: `signal` aborts (the work saves and returns), a second
 * signal exits at once. `dispose()` removes the handlers.
 */
export function interruptOnSignals(): { signal: AbortSignal; received: () => NodeJS.Signals | null; dispose: () => void } {
  const ctl = new AbortController();
  let got: NodeJS.Signals | null = null;
  const on = (s: NodeJS.Signals) => {
    if (got) process.exit(signalExitCode(s));
    got = s;
    ctl.abort();
  };
  const onInt = () => on("SIGINT");
  const onTerm = () => on("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return {
    signal: ctl.signal,
    received: () => got,
    dispose: () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    },
  };
}

export interface LongRun<H = HistoryPoint> {
  checkpoint?: { store: CheckpointStore<H>; every?: number; resume: boolean };
  signal?: AbortSignal;
  /** Write one log line per evaluation (when --log was given). */
  onProgress(p: Progress): void;
  /** Write one object as a log line (when --log was given). */
  logLine(obj: Record<string, unknown>): void;
  /** For an error thrown by the run: the exit code and message of an interruption, else null. */
  interrupted(e: unknown): { code: number; message: string } | null;
  close(): void;
}

/** One-line errors for long-run flags that need --checkpoint. */
export function checkLongRunFlags(f: LongRunFlags): void {
  if (f.resume && f.checkpoint === undefined) throw new BilevelInputError("--resume: needs --checkpoint DIR (the folder of the run to continue)");
  if (f.checkpointEvery !== undefined && f.checkpoint === undefined) throw new BilevelInputError("--checkpoint-every: needs --checkpoint DIR");
}

/** Check the long-run flags (one-line errors before any work) and set up the store, log and signals. */
export function startLongRun<H = HistoryPoint>(f: LongRunFlags, label: Record<string, unknown>): LongRun<H> {
  checkLongRunFlags(f);
  let checkpoint: LongRun<H>["checkpoint"];
  let sig: ReturnType<typeof interruptOnSignals> | null = null;
  if (f.checkpoint !== undefined) {
    const store = fileCheckpointStore<H>(f.checkpoint);
    if (store.exists() && !f.resume) {
      throw new BilevelInputError(`--checkpoint ${f.checkpoint}: holds the checkpoint of an earlier run; pass --resume to continue it, or use another folder`);
    }
    checkpoint = { store, every: f.checkpointEvery, resume: f.resume === true };
    sig = interruptOnSignals();
  }
  const log = f.log !== undefined ? new JsonlLog(f.log, { append: f.resume === true }) : null;
  if (log && f.resume) log.write({ event: "resume", ...label });
  return {
    checkpoint,
    signal: sig?.signal,
    onProgress: (p) => log?.write({ ...label, ...p.metrics, steps: p.steps }),
    logLine: (obj) => log?.write({ ...label, ...obj }),
    interrupted(e) {
      if (!(e instanceof RunInterrupted) || !sig) return null;
      const s = sig.received() ?? "SIGINT";
      return {
        code: signalExitCode(s),
        message: `${s}: stopped after step ${e.step}; checkpoint saved in ${f.checkpoint} (continue with --resume)`,
      };
    },
    close() {
      sig?.dispose();
      log?.close();
    },
  };
}

/** What a sweep (`bench`, `tune`) holds open while it runs. */
export interface Sweep {
  /** The queue's executor with `--queue`, else undefined (run locally). */
  execute?: BenchExecutor;
  /** The locked run store in `out` (one file per finished run). */
  store: RunStore;
  /** With `--resume`, the runs `out` already holds. */
  done?: Map<string, RunRecord>;
  log: JsonlLog | null;
  sig: ReturnType<typeof interruptOnSignals>;
  /** Signal handlers off, log closed, queue connection closed, lock released. */
  close(): Promise<void>;
}

/** Open a sweep into `out`: the queue client (`--queue`), the locked run store, `--resume`, `--log`, signals. */
export async function openSweep(out: string, f: { queue?: string; quiet?: boolean; resume?: boolean; log?: string }): Promise<Sweep> {
  let execute: BenchExecutor | undefined;
  let closeQueue: (() => Promise<void>) | undefined;
  if (f.queue !== undefined) {
    const { queueExecutor } = await import("../node/queue.js");
    const q = await queueExecutor(f.queue, { quiet: f.quiet });
    execute = q.execute;
    closeQueue = q.close;
  }
  let store: RunStore;
  try {
    store = new RunStore(out);
    store.lock();
  } catch (e) {
    await closeQueue?.();
    throw e;
  }
  const done = f.resume ? store.all() : undefined;
  const log = f.log !== undefined ? new JsonlLog(f.log, { append: f.resume === true }) : null;
  const sig = interruptOnSignals();
  return {
    execute,
    store,
    done,
    log,
    sig,
    async close() {
      sig.dispose();
      log?.close();
      await closeQueue?.();
      store.unlock();
    },
  };
}
