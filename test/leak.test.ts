/** Memory: a long run keeps the live jax-js buffer count flat after warm-up (no leak per step). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { liveBuffers, tdispose, trackBuffers } from "../src/engine/index.js";
import { solve } from "../src/run.js";
import { toySC } from "../src/tasks/toys.js";
import { setup } from "./helpers.js";

await setup("float32");

for (const [solver, steps] of [
  ["bome", 2000],
  ["aid-cg", 600],
] as const) {
  test(`${solver}: ${steps} outer steps on toy-sc leave live buffers flat after warm-up`, async () => {
    await trackBuffers();
    const samples: Record<number, { count: number; bytes: number }> = {};
    const r = await solve(toySC(10, false, 0), solver, {
      steps,
      evalEvery: 250,
      onStep: (k) => {
        if (k === 100 || k === steps / 2 || k === steps) samples[k] = liveBuffers();
      },
    });
    tdispose(r.x);
    tdispose(r.y);
    assert.equal(r.status, "completed");
    const warm = samples[100];
    const mid = samples[steps / 2];
    const end = samples[steps];
    assert.ok(warm && mid && end, "sampled");
    assert.equal(end.count, warm.count, `live buffers: ${warm.count} after warm-up, ${mid.count} mid-run, ${end.count} at the end`);
    assert.equal(end.bytes, warm.bytes);
  });
}

test("runTask frees the problem's captured data after a run (hpo-l2-imdb: dense matrices of 100 MB at full size)", async () => {
  const { runTask } = await import("../src/experiment.js");
  await trackBuffers();
  const opts = { task: "hpo-l2-imdb", solver: "itd", steps: 2, set: { nTrain: "200", nVal: "100", nTest: "100", vocab: "300", T: "2" } };
  await runTask(opts); // warm-up: compiled kernels and engine caches
  const before = liveBuffers();
  await runTask({ ...opts, seed: 1 });
  const after = liveBuffers();
  assert.equal(after.bytes, before.bytes, `live buffer bytes ${before.bytes} before a run, ${after.bytes} after`);
  assert.equal(after.count, before.count);
});
