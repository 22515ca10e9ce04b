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

/** Check the long-run flags (one-line errors before any work) and set up the store, log and signals. */
export function startLongRun<H = HistoryPoint>(f: LongRunFlags, label: Record<string, unknown>): LongRun<H> {
  if (f.resume && f.checkpoint === undefined) throw new BilevelInputError("--resume: needs --checkpoint DIR (the folder of the run to continue)");
  if (f.checkpointEvery !== undefined && f.checkpoint === undefined) throw new BilevelInputError("--checkpoint-every: needs --checkpoint DIR");
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
