/**
 * train-lm checkpoints: a step-ended training interrupted after step 4 and resumed from its
 * checkpoint ends with bitwise the same weights and losses as an uninterrupted one (the checkpoint
 * holds params and both AdamW moments; the batch stream is replayed to its position). CLI: --log
 * writes one line per step, --checkpoint saves the last step; --resume needs --checkpoint.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RunInterrupted, type Checkpoint, type CheckpointStore } from "../src/run.js";
import { decodeCheckpoint, encodeCheckpoint } from "../src/node/checkpoint.js";
import { trainLM, type TrainPoint } from "../src/quant/train.js";
import { disposeWeights } from "../src/quant/model.js";
import { assertOneLineInputError, cli } from "./cli-helpers.js";
import { setup } from "./helpers.js";

await setup("float32");

const tiny = { layers: 1, d: 16, heads: 2, ctx: 16, batch: 2, steps: 8, evalEvery: 3, evalWindows: 2, finalEvalWindows: 4, timeBudget: 1e6, seed: 5 };

async function bytes(w: Record<string, { ref: { data(): Promise<unknown> } }>) {
  const out: Record<string, number[]> = {};
  for (const [k, a] of Object.entries(w)) out[k] = [...new Uint8Array(((await a.ref.data()) as Float32Array).buffer.slice(0))];
  return out;
}

test("train-lm: interrupted after step 4 and resumed = uninterrupted, bitwise", async () => {
  const whole = await trainLM(tiny);
  const wantW = await bytes(whole.weights as never);
  disposeWeights(whole.weights);
  let text: string | null = null;
  const store: CheckpointStore<TrainPoint> = {
    load: () => (text === null ? null : decodeCheckpoint<TrainPoint>(text, "memory")),
    save: (c: Checkpoint<TrainPoint>) => void (text = encodeCheckpoint(c)),
  };
  const ctl = new AbortController();
  await assert.rejects(
    trainLM({ ...tiny, checkpoint: { store, every: 100 }, signal: ctl.signal, onProgress: (p) => p.step === 4 && ctl.abort() }),
    (e: unknown) => e instanceof RunInterrupted && e.step === 4,
  );
  assert.equal(decodeCheckpoint(text!, "memory").step, 4);
  const resumed = await trainLM({ ...tiny, checkpoint: { store } });
  assert.deepEqual(await bytes(resumed.weights as never), wantW);
  disposeWeights(resumed.weights);
  assert.equal(resumed.log.steps, 8);
  assert.equal(resumed.log.finalValLoss, whole.log.finalValLoss);
  assert.equal(resumed.log.finalTrainLoss, whole.log.finalTrainLoss);
  assert.deepEqual(
    resumed.log.history.map((h) => ({ ...h, seconds: 0 })),
    whole.log.history.map((h) => ({ ...h, seconds: 0 })),
  );
  await assert.rejects(trainLM({ ...tiny, seed: 6, checkpoint: { store } }), /seed: 5 in the checkpoint, 6 now/);
});

test("bilevel train-lm --log: one JSON line per step, --checkpoint saves; --resume alone is one line", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-lmck-"));
  const args = ["train-lm", "--out", path.join(dir, "m"), "--layers", "1", "--d", "16", "--heads", "2", "--ctx", "16", "--batch", "2", "--steps", "3", "--eval-every", "2", "--quiet"];
  const r = await cli([...args, "--log", path.join(dir, "log.jsonl"), "--checkpoint", path.join(dir, "ck")]);
  assert.equal(r.code, 0, r.stderr);
  const lines = fs.readFileSync(path.join(dir, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.step), [1, 2, 3]);
  assert.ok(lines.every((l) => l.what === "train-lm" && Number.isFinite(l.trainLoss)));
  assert.ok(Number.isFinite(lines[1].valLoss));
  assert.ok(fs.existsSync(path.join(dir, "ck", "checkpoint.json")));
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "ck", "checkpoint.json"), "utf8")).step, 3);
  await assertOneLineInputError([...args, "--resume"], /--resume: needs --checkpoint DIR/);
  fs.rmSync(dir, { recursive: true });
});
