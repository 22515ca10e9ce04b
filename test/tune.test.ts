/**
 * `bilevel tune`: points from grids and seeded random ranges, successive halving budgets, and a grid
 * whose best point is known: on toy-quadratic, soba with lrX = 0.01 barely moves in 150 steps,
 * lrX = 1000 diverges (a step far beyond 2 / curvature), lrX = 2 (the task's tuned value) gets close.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BilevelInputError } from "../src/errors.js";
import { parseGrid, parseRandom, tunePoints } from "../src/cli/tune.js";
import { assertOneLineInputError, cli } from "./cli-helpers.js";

test("points: the grid's product times the random draws, seeded; bad specs are one line", () => {
  const pts = tunePoints(parseGrid(["a=1,2", "b=x,y,z"]));
  assert.equal(pts.length, 6);
  assert.deepEqual(pts[0], { a: "1", b: "x" });
  assert.deepEqual(pts[5], { a: "2", b: "z" });
  const r = parseRandom(["4", "lr=1e-3:1:log", "m=0:1"]);
  const rp = tunePoints(parseGrid(["a=1,2"]), r);
  assert.equal(rp.length, 8);
  assert.deepEqual(tunePoints([], r), tunePoints([], r), "the same flags give the same points");
  for (const p of rp) {
    assert.ok(Number(p.lr) >= 1e-3 && Number(p.lr) <= 1);
    assert.ok(Number(p.m) >= 0 && Number(p.m) <= 1);
  }
  const logs = tunePoints([], parseRandom(["200", "lr=1e-4:1:log"])).map((p) => Math.log10(Number(p.lr)));
  assert.ok(logs.filter((v) => v < -2).length > 60, "log-uniform: about half the draws below 1e-2");
  for (const bad of [["a"], ["a="], ["=1"], ["a=1,,2"], ["a=1", "a=2"]]) assert.throws(() => parseGrid(bad), BilevelInputError);
  for (const bad of [["x"], ["3"], ["3", "lr=1:0"], ["3", "lr=0:1:log"], ["3", "lr=a:b"]]) assert.throws(() => parseRandom(bad), BilevelInputError);
});

test("tune finds the known best grid point, reports mean ± std from the stored runs, writes table and plot", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-tune-"));
  const r = await cli(["tune", "toy-quadratic", "--solver", "soba", "--grid", "lrX=0.01,2,1000", "--seeds", "2", "--budget-steps", "150", "--out", out, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^best soba on toy-quadratic by distanceToOptimum \(lower is better\), mean ± std over 2 seeds at 150 steps:\n/);
  assert.match(r.stdout, /\n  --set lrX=2\n/);
  assert.match(r.stdout, /solverDefaults: soba: \{ lrX: 2 \}/);
  const rep = JSON.parse(fs.readFileSync(path.join(out, "tune.json"), "utf8"));
  assert.deepEqual(rep.best.set, { lrX: "2" });
  const byLr = Object.fromEntries(rep.points.map((p: { set: { lrX: string } }) => [p.set.lrX, p]));
  assert.equal(byLr["1000"].ok, 0, "lrX = 1000 diverges on both seeds");
  assert.ok(byLr["0.01"].mean > 2 * byLr["2"].mean, `lrX 0.01 (${byLr["0.01"].mean}) is far behind lrX 2 (${byLr["2"].mean})`);
  // the reported mean ± std is that of the stored run records
  const runs = fs.readdirSync(path.join(out, "runs")).map((f) => JSON.parse(fs.readFileSync(path.join(out, "runs", f), "utf8")));
  assert.equal(runs.length, 6);
  const finals = runs.filter((s) => s.spec.set.lrX === "2").map((s) => s.record.final.distanceToOptimum);
  const m = (finals[0] + finals[1]) / 2;
  assert.ok(Math.abs(rep.best.mean - m) < 1e-15);
  assert.ok(Math.abs(rep.best.std - Math.abs(finals[0] - finals[1]) / Math.SQRT2) < 1e-15);
  const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
  assert.match(html, /<table>/);
  assert.match(html, /<svg/);
  assert.ok(fs.readFileSync(path.join(out, "lrX.svg"), "utf8").startsWith("<svg"));
  assert.equal(fs.readFileSync(path.join(out, "tune.csv"), "utf8").trim().split("\n").length, 4);
  // --resume reuses every stored run
  const again = await cli(["tune", "toy-quadratic", "--solver", "soba", "--grid", "lrX=0.01,2,1000", "--seeds", "2", "--budget-steps", "150", "--out", out, "--resume"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /3 points x 2 seeds at 150 steps, 0 runs to do/);
  fs.rmSync(out, { recursive: true });
});

test("tune: bad input is one line, exit 2", async () => {
  await assertOneLineInputError(["tune", "toy-quadratic", "--solver", "soba"], /tune: give at least one --grid/);
  await assertOneLineInputError(["tune", "toy-quadratic", "--solver", "soba", "--grid", "nope=1,2"], /--set nope: unknown option/);
  await assertOneLineInputError(["tune", "toy-quadratic", "--solver", "soba", "--grid", "lrX=a,b"], /--set lrX: expected a number, got 'a'/);
});
