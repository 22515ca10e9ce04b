/**
 * Benches that survive: each finished run is stored in --out/runs when it ends; SIGINT writes the
 * report of the finished runs and exits 130; `bench --resume` runs only the missing (solver, seed)
 * pairs, so every run appears exactly once; a second bench into the same --out refuses (a lock).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertOneLineInputError, cli, root } from "./cli-helpers.js";

const main = path.join(root, "dist/src/cli/main.js");
const bench = (out: string, ...more: string[]) => ["bench", "toy-quadratic", "--solvers", "soba,bamm", "--steps", "150", "--seeds", "3", "--out", out, "--quiet", ...more];

function spawnCli(args: string[]) {
  const child = spawn(process.execPath, [main, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.on("exit", (code) => res({ code, stderr })));
  return { child, done };
}

const runFiles = (out: string) => (fs.existsSync(path.join(out, "runs")) ? fs.readdirSync(path.join(out, "runs")).filter((f) => f.endsWith(".json")) : []);
const until = async (ok: () => boolean) => {
  while (!ok()) await new Promise((r) => setTimeout(r, 25));
};

test("bench: SIGINT after two runs -> report of those, exit 130; --resume runs only the other four; --log has every run", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-bench-"));
  const out = path.join(dir, "out");
  const log = path.join(dir, "log.jsonl");
  const b = spawnCli(bench(out, "--log", log));
  await until(() => runFiles(out).length >= 2);
  b.child.kill("SIGINT");
  const stopped = await b.done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /^bilevel: SIGINT: (\d)\/6 runs finished and stored in .*runs \(report of them written to .*\); continue with --resume\n$/);
  const nStopped = Number(/(\d)\/6/.exec(stopped.stderr)![1]);
  assert.ok(nStopped >= 2 && nStopped < 6, `stopped after ${nStopped} runs`);
  const partial = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
  assert.equal(partial.runs.length, nStopped);
  assert.equal(partial.interrupted, true);
  assert.ok(!fs.existsSync(path.join(out, ".bench.lock")), "the lock is released");
  const before = new Map(runFiles(out).map((f) => [f, fs.readFileSync(path.join(out, "runs", f), "utf8")]));

  const resumed = await cli(bench(out, "--resume", "--log", log));
  assert.equal(resumed.code, 0, resumed.stderr);
  const full = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
  const pairs = full.runs.map((r: { solver: string; seed: number }) => `${r.solver}/${r.seed}`);
  assert.deepEqual(pairs, ["soba/0", "soba/1", "soba/2", "bamm/0", "bamm/1", "bamm/2"], "every run exactly once, solver-major");
  assert.equal(full.interrupted, undefined);
  assert.equal(runFiles(out).length, 6);
  for (const [f, text] of before) assert.equal(fs.readFileSync(path.join(out, "runs", f), "utf8"), text, `${f} was not run again`);
  // each run's evaluations are in the log; the runs finished before the stop are not logged twice
  const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  for (const p of pairs) {
    const [solver, seed] = p.split("/");
    const finals = lines.filter((l) => l.solver === solver && l.seed === Number(seed) && l.step === 150);
    assert.ok(finals.length >= 1, `${p} final evaluation logged`);
  }
  const again = await cli(bench(out, "--resume"));
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8")).runs.length, 6, "a resume of a complete bench runs nothing");
  fs.rmSync(dir, { recursive: true });
});

test("bench: a second bench into the same --out refuses with one line; a stale lock is taken over", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-lock-"));
  const out = path.join(dir, "out");
  const first = spawnCli(bench(out));
  await until(() => fs.existsSync(path.join(out, ".bench.lock")));
  await assertOneLineInputError(bench(out), /--out .*: another bench is writing there \(pid \d+ on .*\); wait for it or remove .*\.bench\.lock if it is gone/);
  first.child.kill("SIGTERM");
  assert.equal((await first.done).code, 143);
  // a lock left by a process that is gone (kill -9) does not block the next bench
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
  fs.writeFileSync(path.join(out, ".bench.lock"), JSON.stringify({ pid: dead, host: os.hostname(), started: "earlier" }));
  const r = await cli(bench(out, "--resume", "--steps", "20", "--solvers", "soba", "--seeds", "1"));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!fs.existsSync(path.join(out, ".bench.lock")));
  fs.rmSync(dir, { recursive: true });
});
