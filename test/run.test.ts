/** The shared outer loop: evaluation schedule, time limit, NaN/Inf guard, bad-problem errors. */
import type { SolverName } from "../src/solvers/registry.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { tdispose, treeToFloat64, zeros, type Arr } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { DivergenceError, solve, solveOrThrow } from "../src/run.js";
import type { BilevelProblem } from "../src/problem.js";
import { toySC } from "../src/tasks/toys.js";
import { setup } from "./helpers.js";

await setup("float32");

test("evaluates at step 0, every evalEvery steps and at the end", async () => {
  const r = await solve(toySC(4, false, 0), "aid-cg", { steps: 23, evalEvery: 10 });
  tdispose(r.x);
  tdispose(r.y);
  assert.deepEqual(
    r.history.map((h) => h.step),
    [0, 10, 20, 23],
  );
  assert.equal(r.steps, 23);
  assert.ok(r.history.every((h) => Number.isFinite(h.upper) && Number.isFinite(h.lower) && h.seconds >= 0));
  assert.ok(r.history[3].distanceToOptimum < r.history[0].distanceToOptimum);
});

test("a diverging run stops with a one-line error naming the step, keeping the last finite iterate", async () => {
  // x steps of size 50 on a problem with curvature 2 blow up geometrically (factor ~99 per step)
  const r = await solve(toySC(4, false, 0), "aid-cg", { steps: 500, options: { lrX: 50 } });
  assert.equal(r.status, "diverged");
  assert.match(r.error!, /^step \d+: /);
  assert.ok(!r.error!.includes("\n"));
  assert.ok(r.steps < 500);
  const x = await treeToFloat64(r.x);
  const y = await treeToFloat64(r.y);
  assert.ok([...x, ...y].every(Number.isFinite), "kept iterate is finite");
  assert.ok(Math.max(...x.map(Math.abs)) > 1e10, "and it is the last one before the blow-up");
  await assert.rejects(solveOrThrow(toySC(4, false, 0), "aid-cg", { steps: 500, options: { lrX: 50 } }), DivergenceError);
});

test("a time limit ends the run early with status time-limit", async () => {
  const r = await solve(toySC(4, false, 0), "bome", { steps: 1_000_000, timeLimit: 0.5, evalEvery: 1_000_000 });
  tdispose(r.x);
  tdispose(r.y);
  assert.equal(r.status, "time-limit");
  assert.ok(r.steps > 0 && r.steps < 1_000_000);
  assert.equal(r.final.step, r.steps);
});

test("bad input: a non-scalar objective, unknown options and negative steps are one-line input errors", async () => {
  const bad: BilevelProblem<Arr, Arr> = {
    name: "bad",
    upper: (x, y) => x.add(y), // not a scalar
    lower: (x, y) => x.mul(y).sum(),
    init: () => ({ x: zeros([3]), y: zeros([3]) }),
  };
  await assert.rejects(solve(bad, "bome", { steps: 1 }), (e: Error) => e instanceof BilevelInputError && /problem.upper: expected a scalar/.test(e.message));
  await assert.rejects(solve(toySC(2, false, 0), "bome", { options: { nosuch: 1 } as never }), /unknown option 'nosuch'/);
  await assert.rejects(solve(toySC(2, false, 0), "bome", { options: { eta: "x" as never } }), /bome.eta: expected a number/);
  await assert.rejects(solve(toySC(2, false, 0), "bome", { steps: -1 }), /steps: expected a non-negative integer/);
  await assert.rejects(solve(toySC(2, false, 0), "nope" as SolverName), /unknown solver 'nope'/);
});
