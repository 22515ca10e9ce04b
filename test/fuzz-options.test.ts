/**
 * Property tests (fast-check) of option input: the `--set` parser, `resolveOptions` with option specs,
 * `resolveExperiment` on every task x solver, and the seed / integer validators. Every outcome is either
 * a valid result or a one-line BilevelInputError; never another exception.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseSets } from "../src/cli/args.js";
import { BilevelInputError } from "../src/errors.js";
import { resolveExperiment } from "../src/experiment.js";
import { checkSpec, expectSeed, int, num, choice, parseOptionValue, resolveOptions, SEED_MAX, UNROLL_MAX } from "../src/options.js";
import type { Options } from "../src/problem.js";
import { solvers } from "../src/solvers/registry.js";
import { tasks } from "../src/tasks/index.js";

const SEED = 0x5eed;
const RUNS = 300;

/** Run `fn`; return its value, or null after checking the error is a one-line BilevelInputError. */
function inputErrorOr<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof BilevelInputError, `expected a BilevelInputError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.ok(e.message.length > 0 && !e.message.includes("\n"), `not one line: ${JSON.stringify(e.message)}`);
    return null;
  }
}

/** Keys that look like options, plus the prototype names that must stay unknown. */
const keyArb = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "T", "n", "iters", "truncate", "solver.T", "task.n", "seed", ""),
  fc.string({ maxLength: 12 }),
);
/** Values as a user would type them, and hostile ones. */
const rawArb = fc.oneof(
  fc.constantFrom("", " ", "1.5", "-3", "1e7", "NaN", "Infinity", "-0", "0x10", "1e400", "true", "false", "4294967296", "9007199254740993", "10 ", "\u0000"),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 10 }),
);

test("fuzz --set parser: key=value items parse to trimmed keys (later wins); anything else is a one-line error", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.tuple(keyArb, rawArb).map(([k, v]) => `${k}=${v}`), fc.string({ maxLength: 16 })), { maxLength: 6 }), (items) => {
      const out = inputErrorOr(() => parseSets(items));
      const valid = items.every((it) => it.indexOf("=") > 0 && it.slice(0, it.indexOf("=")).trim() !== "");
      assert.equal(out !== null, valid, `items ${JSON.stringify(items)}`);
      if (!out) return;
      const want = new Map<string, string>();
      for (const it of items) want.set(it.slice(0, it.indexOf("=")).trim(), it.slice(it.indexOf("=") + 1));
      assert.deepEqual(Object.keys(out).sort(), [...want.keys()].sort());
      for (const [k, v] of want) {
        assert.ok(Object.prototype.hasOwnProperty.call(out, k), `own key ${k}`);
        assert.equal(out[k], v);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test("fuzz resolveOptions: unknown keys (incl. __proto__, constructor) and ill-typed or out-of-spec values are one-line errors; results satisfy the spec", () => {
  const defaults = { T: 10, lr: 0.1, truncate: 0, mode: "a", flag: true };
  const spec = { T: int(1, 100), lr: num(0, 1, { minOpen: true }), truncate: int(0, "T"), mode: choice("a", "b") };
  const valueArb = fc.oneof(fc.integer({ min: -200, max: 200 }), fc.double(), fc.constantFrom("a", "b", "c", "10"), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer(), { maxLength: 2 }));
  fc.assert(
    fc.property(fc.dictionary(fc.oneof(fc.constantFrom("T", "lr", "truncate", "mode", "flag"), keyArb), valueArb, { maxKeys: 5 }), (overrides) => {
      const r = inputErrorOr(() => resolveOptions("solver x", defaults, overrides as Partial<Options>, spec));
      if (!r) return;
      assert.deepEqual(Object.keys(r).sort(), Object.keys(defaults).sort());
      assert.ok(Number.isInteger(r.T) && r.T >= 1 && r.T <= 100, `T ${r.T}`);
      assert.ok(Number.isInteger(r.truncate) && r.truncate >= 0 && r.truncate <= r.T, `truncate ${r.truncate}`);
      assert.ok(r.lr > 0 && r.lr <= 1, `lr ${r.lr}`);
      assert.ok(r.mode === "a" || r.mode === "b");
      assert.equal(typeof r.flag, "boolean");
      // undefined values mean "not given"; every other key must be a known option
      for (const [k, v] of Object.entries(overrides)) if (v !== undefined && !Object.prototype.hasOwnProperty.call(defaults, k)) assert.fail(`accepted unknown key ${k}`);
    }),
    { seed: SEED, numRuns: RUNS },
  );
  for (const bad of ['{"__proto__": 1}', '{"constructor": 1}', '{"toString": 1}']) {
    assert.throws(() => resolveOptions("solver x", defaults, JSON.parse(bad), spec), /solver x: unknown option/, bad);
  }
  assert.throws(() => resolveOptions("solver x", defaults, { truncate: 11 }, spec), /solver x\.truncate: expected a non-negative integer <= T = 10, got 11/);
  assert.throws(() => resolveOptions("solver x", defaults, { T: 1.5 }, spec), /solver x\.T: expected a positive integer <= 100, got 1\.5/);
  assert.throws(() => resolveOptions("solver x", defaults, { T: "10" } as never, spec), /solver x\.T: expected a number, got "10"/);
});

test("fuzz resolveExperiment: random --set maps on every task x solver give spec-valid options or one-line errors", () => {
  const pairs = tasks.flatMap((t) => solvers.map((s) => [t, s] as const));
  const knownKeys = [...new Set(pairs.flatMap(([t, s]) => [...Object.keys(t.defaults), ...Object.keys(s.defaults)]))];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: pairs.length - 1 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...knownKeys), keyArb), rawArb, { maxKeys: 3 }),
      fc.option(fc.oneof(fc.integer({ min: -5, max: 1e6 }), fc.double()), { nil: undefined }),
      (i, set, steps) => {
        const [task, solver] = pairs[i];
        const setMap = Object.assign(Object.create(null) as Record<string, string>, set);
        const ex = inputErrorOr(() => resolveExperiment({ task: task.name, solver: solver.name, set: setMap, steps }));
        if (!ex) return;
        assert.ok(Number.isSafeInteger(ex.steps) && ex.steps >= 0, `steps ${ex.steps}`);
        // the resolved options satisfy the specs (checkSpec throws otherwise) and have the defaults' types
        checkSpec(`solver ${solver.name}`, ex.solverOptions, solver.spec ?? {});
        checkSpec(`task ${task.name}`, ex.taskOptions, task.spec ?? {});
        for (const [k, v] of Object.entries(ex.solverOptions)) assert.equal(typeof v, typeof solver.defaults[k], k);
        for (const [k, v] of Object.entries(ex.taskOptions)) assert.equal(typeof v, typeof task.defaults[k], k);
        for (const [k, c] of Object.entries(solver.spec ?? {})) if (c?.kind === "int") assert.ok(Number.isSafeInteger(ex.solverOptions[k]), `${solver.name}.${k} = ${ex.solverOptions[k]}`);
      },
    ),
    { seed: SEED, numRuns: 1000 },
  );
});

test("every registered solver and task declares a spec; every integer-valued loop count is an integer check with a cap", () => {
  for (const s of solvers) {
    assert.ok(s.spec, `solver ${s.name} has no spec`);
    for (const k of ["T", "iters", "Q", "truncate", "zLoop", "yLoop", "rewardSteps", "projIters", "initSteps"]) {
      if (!(k in s.defaults)) continue;
      const c = s.spec![k];
      assert.ok(c && c.kind === "int", `${s.name}.${k}: integer check`);
      if (k !== "truncate") assert.ok(typeof c.max === "number" && c.max <= UNROLL_MAX, `${s.name}.${k}: capped`);
    }
  }
  for (const t of tasks) if (Object.keys(t.defaults).some((k) => typeof t.defaults[k] === "number")) assert.ok(t.spec, `task ${t.name} has no spec`);
});

test("fuzz seeds: exactly the integers in [0, 2^32) are accepted", () => {
  fc.assert(
    fc.property(fc.oneof(fc.integer(), fc.double(), fc.constantFrom(SEED_MAX, SEED_MAX + 1, 2 ** 53, -1, -0, 0.5, NaN)), (v) => {
      const r = inputErrorOr(() => expectSeed("seed", v));
      assert.equal(r !== null, Number.isInteger(v) && v >= 0 && v <= SEED_MAX, `seed ${v}`);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test("fuzz parseOptionValue: a number default takes exactly the finite numerals; a boolean default true/false/1/0", () => {
  fc.assert(
    fc.property(rawArb, fc.constantFrom<number | boolean | string>(1, true, "s"), (raw, def) => {
      const v = inputErrorOr(() => parseOptionValue("k", raw, def));
      if (typeof def === "number") assert.equal(v !== null, raw.trim() !== "" && Number.isFinite(Number(raw)), raw);
      if (typeof def === "boolean") assert.equal(v !== null, ["true", "false", "1", "0"].includes(raw), raw);
      if (typeof def === "string") assert.equal(v, raw);
    }),
    { seed: SEED, numRuns: RUNS },
  );
  assert.throws(() => parseOptionValue("k", 5 as unknown as string, 1), /--set k: expected a string value/);
});
