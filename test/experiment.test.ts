/** runTask / resolveExperiment: --set routing between solver and task, tuned defaults, the JSON record. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { BilevelInputError } from "../src/errors.js";
import { flatOptions, resolveExperiment, runTask } from "../src/experiment.js";
import { toNumber, type Arr } from "../src/engine/index.js";
import type { TaskSpec } from "../src/problem.js";
import { tasks, getTask } from "../src/tasks/index.js";
import { getSolver } from "../src/solvers/registry.js";

await setup();

// A throw-away task sharing the key `eta` with bome and carrying tuned bome defaults (+ steps).
const fake: TaskSpec<{ eta: number; n: number; label: string }> = {
  name: "test-fake",
  description: "test only",
  defaults: { eta: 1, n: 3, label: "a" },
  help: { eta: "shared key", n: "size", label: "a string" },
  steps: 40,
  solverDefaults: { bome: { eta: 0.25, T: 4, steps: 77 } },
  create: (o, seed) => getTask("toy-sc").create({ n: o.n, random: false }, seed),
};
tasks.push(fake);

const inputError = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof BilevelInputError && re.test(e.message) && !e.message.includes("\n"));

test("tuned solver defaults and steps apply under the user's values", () => {
  const ex = resolveExperiment({ task: "test-fake", solver: "bome" });
  assert.equal(ex.steps, 77);
  assert.equal(ex.solverOptions.eta, 0.25);
  assert.equal(ex.solverOptions.T, 4);
  assert.equal(ex.solverOptions.lrX, 0.5, "untouched keys keep the solver's default");
  const ex2 = resolveExperiment({ task: "test-fake", solver: "bome", steps: 5, set: { "solver.eta": "0.125", "solver.T": "6", n: "7", label: "b" } });
  assert.equal(ex2.steps, 5);
  assert.deepEqual([ex2.solverOptions.eta, ex2.solverOptions.T], [0.125, 6]);
  assert.deepEqual(ex2.taskOptions, { eta: 1, n: 7, label: "b" });
  const ex3 = resolveExperiment({ task: "test-fake", solver: "itd" });
  assert.equal(ex3.steps, 40, "no tuned entry: the task's steps");
  assert.equal(ex3.solverOptions.T, 10);
});

test("--set routing errors name the key", () => {
  inputError(() => resolveExperiment({ task: "test-fake", solver: "bome", set: { eta: "0.1" } }), /eta.*solver\.eta or task\.eta/);
  inputError(() => resolveExperiment({ task: "test-fake", solver: "bome", set: { "solver.n": "3" } }), /solver\.n: unknown option/);
  inputError(() => resolveExperiment({ task: "test-fake", solver: "bome", set: { "task.T": "3" } }), /task\.T: unknown option/);
  inputError(() => resolveExperiment({ task: "test-fake", solver: "bome", set: { zzz: "3" } }), /zzz.*known: solver bome: .*eta.*; task test-fake: eta, n, label/);
  inputError(() => resolveExperiment({ task: "test-fake", solver: "bome", set: { T: "x" } }), /T: expected a number, got 'x'/);
  inputError(() => resolveExperiment({ task: "test-fake", solver: "bome", steps: -3 }), /steps/);
  inputError(() => resolveExperiment({ task: "nope", solver: "bome" }), /unknown task 'nope'/);
  inputError(() => resolveExperiment({ task: "toy-sc", solver: "nope" }), /unknown solver 'nope'/);
  const ex = resolveExperiment({ task: "test-fake", solver: "bome", set: { "task.eta": "2" } });
  assert.equal(ex.taskOptions.eta, 2);
  assert.equal(ex.solverOptions.eta, 0.25);
});

test("flatOptions prefixes only shared keys", () => {
  assert.deepEqual(flatOptions({ eta: 0.5, T: 10 }, { eta: 1, n: 3 }), { "solver.eta": 0.5, T: 10, "task.eta": 1, n: 3 });
});

test("runTask returns the record and frees the iterate unless asked to keep it", async () => {
  const a = await runTask({ task: "toy-sc", solver: "bome", steps: 30, seed: 3, set: { n: "4", T: "5" }, evalEvery: 10 });
  assert.equal(a.result.x, undefined);
  assert.equal(a.record.task, "toy-sc");
  assert.equal(a.record.seed, 3);
  assert.equal(a.record.steps, 30);
  assert.equal(a.record.stepsTaken, 30);
  const { steps: _tunedSteps, ...tuned } = getTask("toy-sc").solverDefaults?.bome ?? {};
  assert.deepEqual(a.record.options, { ...getSolver("bome").defaults, ...tuned, T: 5, n: 4, random: false });
  assert.deepEqual(a.record.history.map((h) => h.step), [0, 10, 20, 30]);
  assert.equal("step" in a.record.final, false);
  assert.deepEqual(a.record.final, (({ step, seconds, ...r }) => r)(a.record.history[3]));
  assert.equal(a.record.engine.dtype, "float64");
  assert.deepEqual(a.record.info, { n: 4, random: false });
  const b = await runTask({ task: "toy-sc", solver: "bome", steps: 30, seed: 3, set: { n: "4", T: "5" }, evalEvery: 10, keepIterate: true });
  assert.ok(b.result.x && b.result.y);
  // identical runs give identical iterates; F at the kept iterate is the record's final upper
  const F = await toNumber(b.problem.upper(b.result.x as Arr, b.result.y as Arr));
  assert.ok(Math.abs(F - a.record.final.upper) < 1e-12, `${F} vs ${a.record.final.upper}`);
  assert.equal(b.record.final.upper, a.record.final.upper);
});
