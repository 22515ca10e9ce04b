/**
 * pebble (PEBBLE-style alternation, no score-function term) on parl-gridworld: >= 95% of the optimal true
 * return with its queries recorded; reproducible by seed; its reward direction approaches the true one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runReleased, setup } from "./helpers.js";
import { getTask } from "../src/tasks/index.js";
import { getSolver } from "../src/solvers/registry.js";
import { liveBuffers, tdispose, trackBuffers } from "../src/engine/index.js";
import { parlGridworld, parlGridworldDefaults } from "../src/tasks/parl.js";
import { solve } from "../src/run.js";

await setup();

test("pebble on parl-gridworld reaches >= 95% of the optimal true return; queries = steps x pairs", async () => {
  const tuned = getTask("parl-gridworld").solverDefaults!.pebble as Record<string, number>;
  const r = await runReleased("parl-gridworld", "pebble");
  assert.equal(r.status, "completed");
  assert.ok(r.final.returnRatio >= 0.95, `returnRatio ${r.final.returnRatio}`);
  assert.ok(r.final.rewardCosine > 0.8, `cosine(nu, wTrue) ${r.final.rewardCosine}`);
  assert.equal(r.final.queries, r.steps * tuned.pairs);
  assert.equal(r.history[0].queries, 0);
  assert.ok(r.history[0].returnRatio < 0.5);
  // the held-out preference NLL drops from log 2 (nu = 0)
  assert.ok(Math.abs(r.history[0].upper - Math.log(2)) < 1e-6, `NLL at nu = 0: ${r.history[0].upper}`); // float64 log/exp are ~1e-7 accurate in jax-js
  assert.ok(r.final.upper < 0.5, `held-out NLL ${r.final.upper}`);
});

test("pebble: the same seed gives the same run; capabilities mark it a preference solver", async () => {
  const a = await runReleased("parl-gridworld", "pebble", {}, { steps: 4 }, 3);
  const b = await runReleased("parl-gridworld", "pebble", {}, { steps: 4 }, 3);
  assert.deepEqual(
    a.history.map((h) => [h.queries, h.trueReturn, h.upper]),
    b.history.map((h) => [h.queries, h.trueReturn, h.upper]),
  );
  assert.equal(getSolver("pebble").capabilities.preference, true);
  assert.equal(getSolver("aparl").capabilities.preference, true);
  assert.ok(!getSolver("itd").capabilities.preference);
});

test("aparl and pebble leave no live jax-js buffers behind (padded replay buffer, Adam moments, hooks)", async () => {
  await trackBuffers();
  const p = await parlGridworld({ ...parlGridworldDefaults, size: 5, features: 4, featureScale: 0.5 }, 0);
  for (const solver of ["pebble", "aparl"]) {
    const before = liveBuffers().count;
    const r = await solve(p, getSolver(solver), { steps: 12, seed: 0, evalEvery: 1 });
    tdispose([r.x, r.y]);
    assert.equal(r.status, "completed");
    // frees of the last pending worker kernels land asynchronously (later on a loaded machine): wait for them
    for (let t = 0; t < 50 && liveBuffers().count !== before; t++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(liveBuffers().count, before, `${solver}: live buffers ${before} -> ${liveBuffers().count}`);
  }
});
