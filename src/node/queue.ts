/**
 * Distributed runs on BullMQ over Redis. The coordinator (`bench --queue URL`, `tune --queue URL`)
 * adds one job per run spec to the queue `bilevel-runs`, with the job id derived from the spec's hash:
 * adding a spec twice (a restarted coordinator, a second bench of the same runs) finds the existing
 * job instead of making a second one, so every run is done once. Workers (`bilevel worker`) take
 * jobs, run them with `runSpec` and return the record; the coordinator polls its jobs, hands each
 * finished record to the bench once, and removes the job. A worker that dies mid-job stops renewing
 * the job's lock; after the stall interval another worker's stalled check puts the job back in the
 * queue and it runs again (once: maxStalledCount 1). Bad input inside a job is not retried.
 * Node only.
 */
import os from "node:os";
import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { BilevelInputError } from "../errors.js";
import { runSpec, type RunRecord, type RunSpec } from "../experiment.js";
import type { BenchExecutor } from "../report/bench.js";
import { specHash } from "./runstore.js";

export const QUEUE_NAME = "bilevel-runs";

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
}

/** Parse `redis://host[:port][/db]`; a one-line error naming `field` otherwise. */
export function parseQueueUrl(url: string, field = "--queue"): RedisTarget {
  let u: URL;
  const bad = (why: string) => new BilevelInputError(`${field} ${url}: ${why}; expected redis://host:port/db, e.g. redis://127.0.0.1:6379/0`);
  try {
    u = new URL(url);
  } catch {
    throw bad("not a URL");
  }
  if (u.protocol !== "redis:") throw bad(`unsupported scheme '${u.protocol.replace(/:$/, "")}'`);
  if (!u.hostname) throw bad("no host");
  const port = u.port === "" ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`bad port '${u.port}'`);
  const path = u.pathname.replace(/^\//, "");
  const db = path === "" ? 0 : Number(path);
  if (!/^\d*$/.test(path) || !Number.isInteger(db) || db < 0 || db > 15) throw bad(`bad database '${path}' (0..15)`);
  if (u.search || u.hash) throw bad("unexpected query or fragment");
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port, db };
}

/** Connection options for BullMQ (workers need maxRetriesPerRequest null). */
const connectionOf = (t: RedisTarget) => ({ host: t.host, port: t.port, db: t.db, maxRetriesPerRequest: null });

/** Fail fast with one line when the server cannot be reached (within `timeoutMs`). */
export async function checkReachable(url: string, field = "--queue", timeoutMs = 3000): Promise<RedisTarget> {
  const t = parseQueueUrl(url, field);
  const r = new Redis({ host: t.host, port: t.port, db: t.db, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let last: Error | null = null;
  r.on("error", (e: Error) => (last = e)); // reported below
  try {
    await r.connect();
    const pong = await r.ping();
    if (pong !== "PONG") throw new Error(`unexpected reply to PING: ${pong}`);
  } catch (e) {
    const err = (last ?? e) as NodeJS.ErrnoException;
    const why = err.code ?? (err instanceof Error ? err.message : String(err));
    throw new BilevelInputError(`${field} ${url}: cannot reach a Redis server there (${why})`);
  } finally {
    r.disconnect();
  }
  return t;
}

/** The job id of a spec: stable across coordinators and machines. */
export const jobIdOf = (spec: RunSpec): string => `run-${specHash(spec)}`;

export interface QueueExecutorOptions {
  /** No progress lines. */
  quiet?: boolean;
  /** How often the coordinator looks at its jobs (default 500 ms). */
  pollMs?: number;
}

/**
 * A `BenchExecutor` that runs the specs on the workers of queue `url`: enqueue (idempotent by job id),
 * poll, yield each finished record once. Progress goes to stderr (a line whenever the counts change).
 */
export async function queueExecutor(url: string, opts: QueueExecutorOptions = {}): Promise<{ execute: BenchExecutor; close: () => Promise<void> }> {
  const target = await checkReachable(url);
  const queue = new Queue(QUEUE_NAME, { connection: connectionOf(target) });
  queue.on("error", () => {});
  const pollMs = opts.pollMs ?? 500;
  const execute: BenchExecutor = async function* (specs, ctx) {
    const pending = new Map<string, RunSpec>();
    for (const spec of specs) {
      const id = jobIdOf(spec);
      const job = await queue.add("run", spec, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
      if ((await job.getState()) === "failed") await job.retry(); // left failed by an earlier bench: run again
      pending.set(id, spec);
    }
    let shown = "";
    const total = specs.length;
    let collected = 0;
    while (pending.size > 0 && !ctx.signal?.aborted) {
      let active = 0;
      for (const [id, spec] of [...pending]) {
        const job: Job | undefined = await queue.getJob(id);
        if (!job) {
          // removed by someone else: add it again (the same id, so still once)
          await queue.add("run", spec, { jobId: id, attempts: 1, removeOnComplete: false, removeOnFail: false });
          continue;
        }
        const state = await job.getState();
        if (state === "completed") {
          // the job was read before its state: read it again for the return value
          const record = ((await queue.getJob(id))?.returnvalue ?? null) as RunRecord | null;
          if (!record) continue;
          pending.delete(id);
          collected++;
          yield { spec, record };
          await job.remove().catch(() => {});
        } else if (state === "failed") {
          throw new Error(`queue job ${id} (${spec.task} / ${spec.solver} seed ${spec.seed}) failed on a worker: ${job.failedReason}`);
        } else if (state === "active") active++;
      }
      const line = `queue ${QUEUE_NAME}: ${collected}/${total} runs done, ${active} running, ${pending.size - active} waiting`;
      if (!opts.quiet && line !== shown) {
        process.stderr.write(process.stderr.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
        shown = line;
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
    }
    if (!opts.quiet && shown && process.stderr.isTTY) process.stderr.write("\n");
  };
  return { execute, close: () => queue.close() };
}

export interface WorkerOptions {
  /** Seconds after which the job of a silent (killed) worker goes back to the queue (default 30). */
  stallSeconds?: number;
  /** Called when a job starts and ends (for the worker's log lines). */
  onJob?: (what: "start" | "done" | "failed", spec: RunSpec, detail?: string) => void;
}

/**
 * One worker process taking jobs one at a time. Resolves to a handle whose `close()` finishes the
 * current job and stops.
 */
export async function startWorker(url: string, opts: WorkerOptions = {}): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const target = await checkReachable(url);
  const stallMs = Math.round((opts.stallSeconds ?? 30) * 1000);
  const worker = new Worker<RunSpec, RunRecord>(
    QUEUE_NAME,
    async (job) => {
      const spec = job.data;
      opts.onJob?.("start", spec);
      try {
        const { record } = await runSpec(spec);
        opts.onJob?.("done", spec, `${record.status}, ${record.wallSeconds.toFixed(1)} s`);
        return { ...record, host: os.hostname() };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        opts.onJob?.("failed", spec, msg);
        // bad input fails the same way everywhere: do not retry it
        if (e instanceof BilevelInputError) throw new UnrecoverableError(msg);
        throw e;
      }
    },
    { connection: connectionOf(target), concurrency: 1, lockDuration: stallMs, stalledInterval: stallMs, maxStalledCount: 1, drainDelay: 1 },
  );
  worker.on("error", () => {});
  await worker.waitUntilReady();
  return { worker, close: () => worker.close() };
}
