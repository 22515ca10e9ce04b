/**
 * `bilevel worker --queue redis://host:port/db [--concurrency N] [--stall-seconds S] [--quiet]`: take
 * runs from the queue that `bench --queue` / `tune --queue` fill, one at a time per process, until
 * SIGINT/SIGTERM (which let the current run finish; a second signal exits at once). `--concurrency N`
 * starts N worker processes (each has its own engine; N = cores is a good choice). Start workers on
 * any number of machines that have bilevel and the task data installed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import { Command, Option } from "commander";
import { fileURLToPath } from "node:url";
import { intArg, positiveNumber } from "./args.js";
import { signalExitCode } from "./longrun.js";

interface WorkerFlags {
  queue: string;
  concurrency?: number;
  stallSeconds?: number;
  quiet?: boolean;
}

async function workerCommand(f: WorkerFlags): Promise<number> {
  const { checkReachable, startWorker } = await import("../node/queue.js");
  await checkReachable(f.queue); // one line, exit 2, before anything starts
  const n = f.concurrency ?? 1;
  if (n > 1) return supervise(f, n);
  const tag = `worker ${os.hostname()}:${process.pid}`;
  const say = (s: string) => !f.quiet && process.stderr.write(`${tag}: ${s}\n`);
  const w = await startWorker(f.queue, {
    stallSeconds: f.stallSeconds,
    onJob: (what, spec, detail) => {
      const set = Object.entries(spec.set).map(([k, v]) => ` ${k}=${v}`).join("");
      say(`${what} ${spec.task} / ${spec.solver}${set} seed ${spec.seed}${detail ? ` (${detail})` : ""}`);
    },
  });
  say(`waiting for runs on ${f.queue}`);
  const got = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.on(s, () => process.exit(signalExitCode(s))); // a second signal: now
      resolve(s);
    };
    process.once("SIGINT", () => on("SIGINT"));
    process.once("SIGTERM", () => on("SIGTERM"));
  });
  say(`${got}: finishing the current run, then stopping`);
  await w.close();
  return signalExitCode(got);
}

/** N child worker processes; signals are passed on; ends when they all have. */
async function supervise(f: WorkerFlags, n: number): Promise<number> {
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  const args = ["worker", "--queue", f.queue, "--concurrency", "1", ...(f.stallSeconds !== undefined ? ["--stall-seconds", String(f.stallSeconds)] : []), ...(f.quiet ? ["--quiet"] : [])];
  const kids: ChildProcess[] = [];
  const exits: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    // Own process group: a Ctrl-C reaches the children once, through the forwarding below.
    const c = spawn(process.execPath, [main, ...args], { stdio: ["ignore", "inherit", "inherit"], detached: true });
    kids.push(c);
    exits.push(new Promise((res) => c.on("exit", (code, sig) => res(code ?? (sig ? 128 : 1)))));
  }
  let got: NodeJS.Signals | null = null;
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    process.on(s, () => {
      got = s;
      for (const c of kids) c.kill(s);
    });
  }
  process.on("exit", () => {
    for (const c of kids) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  });
  const codes = await Promise.all(exits);
  return got ? signalExitCode(got) : Math.max(...codes);
}

export function registerWorkerCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command("worker")
    .description("run bench/tune jobs from a Redis queue (start on any number of machines)")
    .requiredOption("--queue <redis://host:port/db>", "the queue's Redis server")
    .option("--concurrency <N>", "worker processes on this machine (default 1)", intArg("concurrency", 1, 64))
    .addOption(new Option("--stall-seconds <S>", "a silent worker's job goes back to the queue after S seconds (default 30)").argParser(positiveNumber("stall-seconds")))
    .option("--quiet", "no job lines")
    .action(async (f: WorkerFlags) => {
      setCode(await workerCommand(f));
    });
}
