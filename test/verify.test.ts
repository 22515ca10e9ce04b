/**
 * `verifyHypergradient` / `bilevel verify` (src/verify.ts, src/cli/verify.ts): a solver's hypergradient
 * estimate against the closed form and against float64 finite differences, on tasks where the answer
 * is known; the check must also flag an estimate that is wrong (ITD with too few inner steps).
 */
import "../src/node/host.js"; // the Node set-up (worker threads, data files) before the engine loads
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { BilevelInputError, verifyHypergradient } from "../src/index.js";
import { assertOneLineInputError, cli } from "./cli-helpers.js";

test("toy-sc (random A, B, D): aid-cg after 5 steps matches the closed form to 1e-4, and finite differences agree", async () => {
  const set = { random: "true" };
  const closed = await verifyHypergradient({ task: "toy-sc", solver: "aid-cg", steps: 5, set });
  assert.equal(closed.reference, "closed-form");
  assert.equal(closed.step, 5);
  assert.ok(closed.relError <= 1e-4, `relError ${closed.relError}`);
  assert.ok(closed.relError > 0, "the estimate is not exact after 5 steps (T = 40 inner steps)");
  assert.ok(closed.cosine > 1 - 1e-8);
  const fd = await verifyHypergradient({ task: "toy-sc", solver: "aid-cg", steps: 5, set, reference: "finite-differences" });
  assert.equal(fd.reference, "finite-differences");
  assert.equal(fd.directions, 10, "x has 10 entries: every coordinate direction");
  assert.ok(Math.abs(fd.relError - closed.relError) <= 1e-7, `finite differences ${fd.relError} vs closed form ${closed.relError}`);
});

test("finite differences along sampled directions (x with more than 16 entries) agree with the closed form", async () => {
  const set = { random: "true", n: "20" };
  const closed = await verifyHypergradient({ task: "toy-sc", solver: "aid-cg", steps: 2, set });
  const fd = await verifyHypergradient({ task: "toy-sc", solver: "aid-cg", steps: 2, set, reference: "finite-differences", directions: 3 });
  assert.equal(fd.directions, 4, "the estimate's direction and 3 random ones");
  // the same estimate measured two ways: its full error vs the closed form, its error along 4 directions
  assert.ok(closed.relError <= 1e-3 && fd.relError <= closed.relError * 2, `closed form ${closed.relError}, finite differences ${fd.relError}`);
  assert.ok(fd.cosine > 1 - 1e-8);
});

test("toy-quadratic: itd with 60 inner steps matches the closed form to 1e-3; with the default 10 it is flagged", async () => {
  const good = await verifyHypergradient({ task: "toy-quadratic", solver: "itd", steps: 3, set: { T: "60", innerLr: "0.18", noise: "0" } });
  assert.ok(good.relError <= 1e-3, `relError ${good.relError}`);
  const poor = await verifyHypergradient({ task: "toy-quadratic", solver: "itd", steps: 0, set: { noise: "0" } });
  assert.ok(poor.relError > 1e-2, `T = 10 from y = 0 should be visibly wrong, got ${poor.relError}`);
});

test("hyperclean-mnist: aid-cg (40 CG iterations, float32) from a converged inner solve matches float64 finite differences to 1e-2", async () => {
  // x has 5000 entries: the estimate's direction and a random one; the lower level (7850 unknowns,
  // condition ~1e3) is solved by the reference in float64 to ||grad_y f|| <= 1e-9 (1 + ||grad at y0||).
  // From y*(x0) the inner gradient steps have nothing to do (T = 1); 40 CG iterations leave ~5e-4.
  const r = await verifyHypergradient({ task: "hyperclean-mnist", solver: "aid-cg", set: { iters: "40", T: "1" }, dtype: "float32", startAtSolution: true, directions: 1 });
  assert.equal(r.reference, "finite-differences");
  assert.equal(r.size, 5000);
  assert.equal(r.directions, 2);
  assert.equal(r.dtype, "float32");
  assert.ok(r.lowerResidual! <= 1e-9 * 1.5, `lower residual ${r.lowerResidual}`);
  assert.ok(r.relError <= 1e-2, `relError ${r.relError}`);
  assert.ok(r.relError > 0 && r.cosine > 0.9999, `relError ${r.relError}, cosine ${r.cosine}`);
});

test("verify: solvers without a hypergradient estimate and constrained lower levels are input errors", async () => {
  await assert.rejects(verifyHypergradient({ task: "toy-sc", solver: "bome" }), (e: unknown) => e instanceof BilevelInputError && /bome does not estimate a hypergradient/.test((e as Error).message));
  await assert.rejects(verifyHypergradient({ task: "toy-constrained", solver: "aid-cg" }), /coupled lower-level constraint/);
  await assert.rejects(verifyHypergradient({ task: "toy-sc", solver: "itd", steps: -1 }), /steps: expected a non-negative integer/);
});

test("bilevel verify: prints the verdict, writes the JSON record, exit 2 on bad input", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-verify-"));
  const file = path.join(dir, "v.json");
  const r = await cli(["verify", "toy-sc", "--solver", "aid-cg", "--set", "random=true", "--steps", "2", "--json", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /aid-cg on toy-sc at step 2 .*reference: closed form/);
  assert.match(r.stdout, /relative error \S+ +cosine 1\.0000/);
  const rec = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.deepEqual(Object.keys(rec).slice(0, 7), ["task", "solver", "step", "relError", "cosine", "reference", "seconds"]);
  assert.equal(rec.task, "toy-sc");
  assert.equal(rec.step, 2);
  assert.ok(rec.relError <= 1e-4 && rec.seconds > 0);
  const r32 = await cli(["verify", "toy-sc", "--solver", "aid-cg", "--set", "random=true", "--dtype", "float32", "--start-at-solution"]);
  assert.equal(r32.code, 0, r32.stderr);
  assert.match(r32.stdout, /aid-cg on toy-sc at step 0 \(solver in float32\)/);
  const rel32 = Number(/relative error (\S+)/.exec(r32.stdout)![1]);
  assert.ok(rel32 <= 1e-4, `float32 from y*(x0): relative error ${rel32}`);
  await assertOneLineInputError(["verify", "toy-sc", "--solver", "aid-cg", "--eps", "-1"], /--eps: expected a positive number/);
  await assertOneLineInputError(["verify", "toy-sc", "--solver", "bome"], /bome does not estimate a hypergradient/);
  await assertOneLineInputError(["verify", "toy-sc", "--solver", "aid-cg", "--json", path.join(dir, "missing", "v.json")], /--json .*cannot write there/);
  await assertOneLineInputError(["verify", "no-such-task", "--solver", "aid-cg"], /no-such-task/);
  fs.rmSync(dir, { recursive: true, force: true });
});
