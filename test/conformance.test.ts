/**
 * Conformance over the solver registry: every solver (and the template solver of docs/writing-a-solver.md)
 * on every toy its capabilities allow, 20 steps, float64: the same seed gives identical iterates, eager
 * (BILEVEL_JIT=0 semantics) equals jit, live buffers do not grow with the number of steps in either mode,
 * an unknown option and an out-of-range value are one-line input errors, and `optimizer=adam` is accepted
 * and changes the iterates. Preference (PARL) solvers run only on PARL tasks and have their own tests.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { initEngine, solve, solvers, tree, treeToFloat64, type BilevelProblem, type SolverSpec } from "../src/index.js";
import { liveBuffers, trackBuffers } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { getTask } from "../src/tasks/index.js";
import { template } from "../src/solvers/template.js";

const STEPS = 20;

async function toysFor(s: SolverSpec): Promise<[string, BilevelProblem][]> {
  const c = s.capabilities;
  const out: [string, BilevelProblem][] = [
    ["toy-sc", await getTask("toy-sc").create({ n: 3, random: true }, 0)],
    ["toy-quadratic", await getTask("toy-quadratic").create({ nx: 2, ny: 3, noise: c.stochastic ? 0.05 : 0 }, 0)],
  ];
  if (c.nonSingleton) out.push(["toy-lls", await getTask("toy-lls").create({ n: 2, start: 0 }, 0)]);
  if (c.constraints) out.push(["toy-constrained", await getTask("toy-constrained").create({ n: 3, officialStart: false }, 0)]);
  return out;
}

async function run(p: BilevelProblem, s: SolverSpec, steps: number, options: Record<string, string | number | boolean> = {}): Promise<Float64Array> {
  const r = await solve(p, s, { steps, seed: 3, evalEvery: Math.max(1, steps), options });
  tree.dispose(r.y);
  return treeToFloat64(r.x);
}

const close = (a: Float64Array, b: Float64Array, tol: number) =>
  a.length === b.length && a.every((v, i) => (Number.isNaN(v) && Number.isNaN(b[i])) || Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])));

/** An option of the spec with a numeric lower bound, and a value below it. */
function outOfRange(s: SolverSpec): [string, number] | null {
  for (const [k, c] of Object.entries(s.spec ?? {})) {
    if (c && c.kind !== "choice" && typeof c.min === "number" && Number.isFinite(c.min)) return [k, c.min - 1];
  }
  return null;
}

const registry = [...solvers.filter((s) => !s.capabilities.preference), template as unknown as SolverSpec];

for (const s of registry) {
  test(`conformance ${s.name}: determinism, eager = jit, flat buffers, option errors, optimizer=adam`, async () => {
    await initEngine({ dtype: "float64", jit: true });
    await trackBuffers();
    for (const [toy, p] of await toysFor(s)) {
      const where = `${s.name} on ${toy}`;
      // live buffers: a run of STEPS leaves as many as a run of STEPS / 2 (nothing accumulates per step)
      const h = await run(p, s, STEPS / 2);
      const half = liveBuffers().count;
      const a = await run(p, s, STEPS);
      assert.equal(liveBuffers().count, half, `${where}: jit live buffers grow with steps`);
      const b = await run(p, s, STEPS);
      assert.deepEqual(Array.from(b), Array.from(a), `${where}: same seed, same iterate`);
      await initEngine({ jit: false });
      try {
        await run(p, s, STEPS / 2);
        const eHalf = liveBuffers().count;
        const e = await run(p, s, STEPS);
        assert.equal(liveBuffers().count, eHalf, `${where}: eager live buffers grow with steps`);
        assert.ok(close(e, a, 1e-8), `${where}: eager ${Array.from(e.slice(0, 3))} != jit ${Array.from(a.slice(0, 3))}`);
      } finally {
        await initEngine({ jit: true });
      }
      const ad = await run(p, s, STEPS / 2, { optimizer: "adam" });
      assert.ok(ad.some((v, i) => v !== h[i]), `${where}: optimizer=adam left the iterate unchanged`);
    }
    const [p] = (await toysFor(s))[0].slice(1) as [BilevelProblem];
    const oneLine = (re: RegExp) => (e: unknown) => e instanceof BilevelInputError && re.test(e.message) && !e.message.includes("\n");
    await assert.rejects(solve(p, s, { steps: 1, options: { noSuchOption: 1 } }), oneLine(/unknown option 'noSuchOption'/));
    const bad = outOfRange(s);
    assert.ok(bad, `${s.name}: no option with a numeric lower bound to test`);
    await assert.rejects(solve(p, s, { steps: 1, options: { [bad[0]]: bad[1] } }), oneLine(new RegExp(`${s.name}\\.${bad[0]}: expected`)));
    await assert.rejects(solve(p, s, { steps: 1, options: { optimizer: "rmsprop" } }), oneLine(/optimizer: expected one of 'sgd', 'momentum', 'nesterov', 'adam'/));
  });
}
