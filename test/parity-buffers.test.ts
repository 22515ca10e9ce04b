/**
 * The host-computed schedules and the official-behaviour options pass scalars into the compiled steps:
 * check that runs with them keep the live jax-js buffer count flat after warm-up (no leak per step).
 */
import { getSolver } from "../src/solvers/registry.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { liveBuffers, tdispose, trackBuffers } from "../src/engine/index.js";
import type { BilevelProblem, Options } from "../src/problem.js";
import { solve } from "../src/run.js";
import { toyConstrained, toyLLS, toySC, toyUFO } from "../src/tasks/toys.js";
import { setup } from "./helpers.js";

await setup("float32");

const cases: [string, () => BilevelProblem, Options][] = [
  ["bamm", () => toyLLS(4, 0.01), { phiWeight: "fixed", etaNorm: "per-tensor" }],
  ["bamm", () => toyLLS(4), { adaptiveEta: false }],
  ["lvhba", () => toyConstrained(4, true), { multipliers: "signed", projection: "equality", lambda0: -1, z0: 1 }],
  ["soba", () => toySC(4, false, 0), {}],
  ["ufo", () => toyUFO(), { exactProb: 0.5, lrX: 1, lrPower: 1 }],
  ["borep", () => toySC(4, true, 0), { hvpAt: "previous", lowerUpdate: "accumulated", lrDecay: 0.5, lrDecayEvery: 25, lrX: 0.01 }],
  ["bda", () => toyLLS(4), { fWeight: "fixed" }],
];

for (const [solver, make, options] of cases) {
  test(`${solver} ${JSON.stringify(options)}: 200 steps leave live buffers flat after warm-up`, async () => {
    await trackBuffers();
    const samples: Record<number, { count: number; bytes: number }> = {};
    const r = await solve(make(), getSolver(solver), { steps: 200, evalEvery: 100, options, onStep: (k) => void ((k === 50 || k === 200) && (samples[k] = liveBuffers())) });
    tdispose(r.x);
    tdispose(r.y);
    assert.ok(samples[50] && samples[200], "sampled");
    assert.equal(samples[200].count, samples[50].count, `live buffers ${samples[50].count} at step 50, ${samples[200].count} at 200`);
  });
}
