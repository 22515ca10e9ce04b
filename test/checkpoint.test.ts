/**
 * Checkpoint and resume: a run interrupted after any step and resumed from its checkpoint ends with
 * bitwise the same final record and iterate as an uninterrupted run (three solvers, one stochastic);
 * a checkpoint made with other settings is refused with one line; the file format keeps the bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { tdispose, treeToFloat64 } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { solve, RunInterrupted, type Checkpoint, type CheckpointStore, type SolveResult } from "../src/run.js";
import { decodeCheckpoint, encodeCheckpoint, fileCheckpointStore } from "../src/node/checkpoint.js";
import { toyQuadratic } from "../src/tasks/toys.js";
import { assertOneLineInputError, cli, root } from "./cli-helpers.js";
import { setup } from "./helpers.js";

await setup("float32");

/** A store that keeps the encoded file text in memory (so the file format is exercised too). */
function memoryStore(): CheckpointStore & { text: string | null; saves: number } {
  const st = {
    text: null as string | null,
    saves: 0,
    name: "memory",
    load: () => (st.text === null ? null : decodeCheckpoint(st.text, "memory")),
    save: (c: Checkpoint) => {
      st.text = encodeCheckpoint(c);
      st.saves++;
    },
  };
  return st;
}

const STEPS = 40;
const problem = () => toyQuadratic(5, 10, 0, 0.05);

async function finish(r: SolveResult) {
  const xy = [...(await treeToFloat64(r.x)), ...(await treeToFloat64(r.y))];
  return { final: r.final, history: r.history.map(({ seconds: _s, ...h }) => h), xy, steps: r.steps };
}

for (const [solver, options] of [
  ["soba", { lrX: 2 }],
  ["bamm", {}],
  ["ufo", {}],
] as const) {
  test(`${solver}: interrupted after step 17 and resumed = the uninterrupted run, bitwise`, async () => {
    const whole = await finish(await solve(problem(), solver, { steps: STEPS, seed: 3, evalEvery: 10, options }));
    const store = memoryStore();
    const ctl = new AbortController();
    await assert.rejects(
      solve(problem(), solver, {
        steps: STEPS,
        seed: 3,
        evalEvery: 10,
        options,
        checkpoint: { store, every: 7 },
        signal: ctl.signal,
        onStep: (k) => k === 17 && ctl.abort(),
      }),
      (e: unknown) => e instanceof RunInterrupted && e.step === 17,
    );
    assert.equal(decodeCheckpoint(store.text!, "memory").step, 17, "the interruption saved a checkpoint at step 17");
    const resumed = await finish(await solve(problem(), solver, { steps: STEPS, seed: 3, evalEvery: 10, options, checkpoint: { store, every: 7 } }));
    assert.equal(resumed.steps, STEPS);
    assert.ok(Object.is(resumed.final.upper, whole.final.upper), `final.upper ${resumed.final.upper} vs ${whole.final.upper}`);
    assert.ok(Object.is(resumed.final.lower, whole.final.lower), `final.lower ${resumed.final.lower} vs ${whole.final.lower}`);
    assert.deepEqual(resumed.history, whole.history);
    assert.deepEqual(resumed.xy, whole.xy);
    // resuming a finished run returns the same record again without stepping
    const again = await finish(await solve(problem(), solver, { steps: STEPS, seed: 3, evalEvery: 10, options, checkpoint: { store } }));
    assert.deepEqual(again.history, whole.history);
    assert.deepEqual(again.xy, whole.xy);
  });
}

test("a checkpoint made with other settings is refused with one line naming the setting", async () => {
  const store = memoryStore();
  const r = await solve(problem(), "soba", { steps: 20, seed: 1, checkpoint: { store } });
  tdispose(r.x);
  tdispose(r.y);
  for (const [opts, field] of [
    [{ seed: 2 }, /seed: 1 in the checkpoint, 2 now/],
    [{ steps: 30 }, /steps: 20 in the checkpoint, 30 now/],
    [{ options: { lrX: 0.5 } }, /options: .*"lrX":0\.1.* in the checkpoint, .*"lrX":0\.5/],
  ] as const) {
    await assert.rejects(
      solve(problem(), "soba", Object.assign({ steps: 20, seed: 1, checkpoint: { store } }, opts)),
      (e: unknown) => e instanceof BilevelInputError && field.test(e.message) && !e.message.includes("\n"),
    );
  }
  const same = await solve(problem(), "soba", { steps: 20, seed: 1, checkpoint: { store } });
  assert.equal(same.final.upper, r.final.upper, "the same settings resume");
  tdispose(same.x);
  tdispose(same.y);
  await assert.rejects(solve(problem(), "bome", { steps: 20, seed: 1, checkpoint: { store } }), /solver: "soba" in the checkpoint, "bome" now/);
});

test("the file format keeps state bytes, -0, NaN and Infinity; a bad file is one line", () => {
  const c: Checkpoint = {
    format: 1,
    identity: { a: 1 },
    step: 3,
    solverSeconds: 0.5,
    history: [{ step: 0, seconds: 0, upper: -0, lower: NaN, m: -Infinity }],
    skeleton: { x: { $leaf: 0 } },
    leaves: [{ dtype: "float32", shape: [2], bytes: new Uint8Array(new Float32Array([-0, 1.5]).buffer) }],
  };
  const back = decodeCheckpoint(encodeCheckpoint(c), "f");
  assert.ok(Object.is(back.history[0].upper, -0));
  assert.ok(Number.isNaN(back.history[0].lower));
  assert.equal(back.history[0].m, -Infinity);
  assert.deepEqual([...back.leaves[0].bytes], [...c.leaves[0].bytes]);
  assert.throws(() => decodeCheckpoint("{oops", "ck/checkpoint.json"), (e: unknown) => e instanceof BilevelInputError && /^ck\/checkpoint.json: not a bilevel checkpoint/.test(e.message));
  assert.throws(() => decodeCheckpoint('{"format":1}', "f"), /not a bilevel checkpoint/);
  // the store writes atomically: no temporary file is left next to the checkpoint
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-ck-"));
  const store = fileCheckpointStore(path.join(dir, "sub"));
  assert.equal(store.load(), null);
  store.save(c);
  store.save({ ...c, step: 4 });
  assert.deepEqual(fs.readdirSync(path.join(dir, "sub")), ["checkpoint.json"]);
  assert.equal((store.load() as Checkpoint).step, 4);
  fs.rmSync(dir, { recursive: true });
});

/** Spawn the CLI; resolve with its exit code once it ends. */
function spawnCli(args: string[]) {
  const child = spawn(process.execPath, [path.join(root, "dist/src/cli/main.js"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stderr: string }>((res) => child.on("exit", (code) => res({ code, stderr })));
  return { child, done };
}

test("CLI: run --checkpoint, SIGINT (exit 130), run --resume: the --json record equals an uninterrupted run's; --log follows", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-ckcli-"));
  const common = ["run", "toy-quadratic", "--solver", "soba", "--steps", "600", "--seed", "1", "--quiet"];
  const whole = await cli([...common, "--json", path.join(dir, "whole.json")]);
  assert.equal(whole.code, 0, whole.stderr);
  const ck = path.join(dir, "ck");
  const log = path.join(dir, "log.jsonl");
  const run = spawnCli([...common, "--checkpoint", ck, "--checkpoint-every", "20", "--log", log, "--json", path.join(dir, "part.json")]);
  while (!fs.existsSync(path.join(ck, "checkpoint.json"))) await new Promise((r) => setTimeout(r, 20));
  run.child.kill("SIGINT");
  const stopped = await run.done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /^bilevel: SIGINT: stopped after step \d+; checkpoint saved in .* \(continue with --resume\)\n$/);
  assert.ok(!fs.existsSync(path.join(dir, "part.json")), "an interrupted run writes no record");
  const atStop = Number(/step (\d+)/.exec(stopped.stderr)![1]);
  assert.ok(atStop > 0 && atStop < 600);
  const linesBefore = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(linesBefore[0].step, 0);
  assert.equal(linesBefore[0].solver, "soba");
  // a second run into the same folder without --resume is refused
  await assertOneLineInputError([...common, "--checkpoint", ck], /--checkpoint .*holds the checkpoint of an earlier run; pass --resume/);
  await assertOneLineInputError([...common, "--steps", "100", "--checkpoint", ck, "--resume"], /made with other settings \(steps: 600 in the checkpoint, 100 now\)/);
  await assertOneLineInputError([...common, "--resume"], /--resume: needs --checkpoint DIR/);
  const resumed = await cli([...common, "--checkpoint", ck, "--resume", "--log", log, "--json", path.join(dir, "part.json")]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const a = JSON.parse(fs.readFileSync(path.join(dir, "whole.json"), "utf8"));
  const b = JSON.parse(fs.readFileSync(path.join(dir, "part.json"), "utf8"));
  assert.deepEqual(b.final, a.final);
  assert.deepEqual(
    b.history.map((h: { seconds: number }) => ({ ...h, seconds: 0 })),
    a.history.map((h: { seconds: number }) => ({ ...h, seconds: 0 })),
  );
  const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.event === "resume"));
  assert.equal(lines[lines.length - 1].step, 600);
  fs.rmSync(dir, { recursive: true });
});
