/**
 * Conformance over the solver registry: every solver (and the template solver of docs/writing-a-solver.md)
 * on the toys its capabilities allow, with loops unrolled into the step cut to 3 iterations (toy-sc; toy-quadratic with minibatch noise when stochastic, toy-lls when non-singleton, toy-constrained with constraints), 20 steps, float64: the same seed gives identical iterates, eager
 * (BILEVEL_JIT=0 semantics) equals jit, live buffers do not grow with the number of steps in either mode,
 * an unknown option and an out-of-range value are one-line input errors, `optimizer=adam` is accepted
 * and changes the iterates, and so does `innerOptimizer` (momentum: also flat buffers and eager = jit). Preference (PARL) solvers run only on PARL tasks and have their own tests.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { initEngine, solve, solvers, tree, treeToFloat64, type BilevelProblem, type SolverSpec } from "../src/index.js";
import { jax, liveBuffers, trackBuffers } from "../src/engine/index.js";
import { resolveOptions } from "../src/options.js";
import { BilevelInputError } from "../src/errors.js";
import { getTask } from "../src/tasks/index.js";
import { template } from "../src/solvers/template.js";

const STEPS = 20;

async function toysFor(s: SolverSpec): Promise<[string, BilevelProblem][]> {
  const c = s.capabilities;
  const out: [string, BilevelProblem][] = [["toy-sc", await getTask("toy-sc").create({ n: 3, random: true }, 0)]];
  if (c.stochastic) out.push(["toy-quadratic", await getTask("toy-quadratic").create({ nx: 2, ny: 3, noise: 0.05 }, 0)]);
  if (c.nonSingleton) out.push(["toy-lls", await getTask("toy-lls").create({ n: 2, start: 0 }, 0)]);
  if (c.constraints) out.push(["toy-constrained", await getTask("toy-constrained").create({ n: 3, officialStart: false }, 0)]);
  return out;
}

/**
 * Small loop counts for speed: every option unrolled into the compiled step (spec `unrolled()`) at
 * min(default, 3), within its bounds. The checks are about the machinery, not about convergence.
 */
function cheap(s: SolverSpec): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, c] of Object.entries(s.spec ?? {})) {
    const d = s.defaults[k];
    if (c && c.why?.includes("unrolled into the compiled step") && typeof d === "number") out[k] = Math.max(Math.min(d, 3), typeof c.min === "number" ? c.min : 0);
  }
  return out;
}

/** `passes` runs of `steps` outer steps from the seed's start on one instance; (x, y) after each and live buffers at `marks`. */
async function run(p: BilevelProblem, s: SolverSpec, steps: number, options: Record<string, string | number | boolean> = {}, marks: number[] = [], passes = 1) {
  const inst = s.create(p, resolveOptions(`solver ${s.name}`, s.defaults, { ...cheap(s), ...options }, s.spec, s.aliases));
  const seed = 3;
  const counts: number[] = [];
  const xs: Float64Array[] = [];
  try {
    for (let pass = 0; pass < passes; pass++) {
      const start = p.init(seed);
      let state = inst.init(start.x, start.y, seed);
      for (let k = 0; k < steps; k++) {
        const batch = p.sample && s.capabilities.stochastic ? p.sample(seed, k) : undefined;
        state = inst.stepAsync ? await inst.stepAsync(state, k, batch) : inst.step(state, k, batch);
        if (pass === 0 && marks.includes(k + 1)) {
          await jax.blockUntilReady(state as never);
          counts.push(liveBuffers().count);
        }
      }
      const { x, y } = inst.iterate(state);
      tree.dispose(state);
      const [fx, fy] = [await treeToFloat64(x), await treeToFloat64(y)];
      xs.push(Float64Array.from([...fx, ...fy])); // the iterate (x, y)
    }
    return { x: xs[0], xs, counts };
  } finally {
    inst.dispose();
  }
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
      // live buffers after STEPS / 2 and after STEPS steps are the same (nothing accumulates per step)
      const a = await run(p, s, STEPS, {}, [STEPS / 2, STEPS], 2);
      assert.equal(a.counts[1], a.counts[0], `${where}: jit live buffers grow with steps`);
      assert.deepEqual(Array.from(a.xs[1]), Array.from(a.x), `${where}: same seed, same iterate`);
      await initEngine({ jit: false });
      try {
        const e = await run(p, s, STEPS, {}, [STEPS / 2, STEPS]);
        assert.equal(e.counts[1], e.counts[0], `${where}: eager live buffers grow with steps`);
        assert.ok(close(e.x, a.x, 1e-8), `${where}: eager ${Array.from(e.x.slice(0, 3))} != jit ${Array.from(a.x.slice(0, 3))}`);
      } finally {
        await initEngine({ jit: true });
      }
      const ad = await run(p, s, STEPS, { optimizer: "adam" });
      assert.ok(ad.x.some((v, i) => v !== a.x[i]), `${where}: optimizer=adam left the iterate unchanged`);
      if (toy !== "toy-sc" || !("innerOptimizer" in s.defaults)) continue;
      // the lower-level optimizer: its state is carried (flat buffers, eager = jit) and it changes the iterates
      const m = await run(p, s, STEPS, { innerOptimizer: "momentum" }, [STEPS / 2, STEPS]);
      assert.equal(m.counts[1], m.counts[0], `${where}: innerOptimizer=momentum live buffers grow with steps`);
      assert.ok(m.x.some((v, i) => v !== a.x[i]), `${where}: innerOptimizer=momentum left the iterate unchanged`);
      await initEngine({ jit: false });
      try {
        const me = await run(p, s, STEPS, { innerOptimizer: "momentum" });
        assert.ok(close(me.x, m.x, 1e-8), `${where}: innerOptimizer=momentum eager != jit`);
      } finally {
        await initEngine({ jit: true });
      }
      const ia = await run(p, s, STEPS, { innerOptimizer: "adam" });
      assert.ok(ia.x.every(Number.isFinite) && ia.x.some((v, i) => v !== a.x[i]), `${where}: innerOptimizer=adam: ${Array.from(ia.x.slice(0, 3))}`);
    }
    const p = (await toysFor(s))[0][1];
    const oneLine = (re: RegExp) => (e: unknown) => e instanceof BilevelInputError && re.test(e.message) && !e.message.includes("\n");
    await assert.rejects(solve(p, s, { steps: 1, options: { noSuchOption: 1 } }), oneLine(/unknown option 'noSuchOption'/));
    const bad = outOfRange(s);
    assert.ok(bad, `${s.name}: no option with a numeric lower bound to test`);
    await assert.rejects(solve(p, s, { steps: 1, options: { [bad[0]]: bad[1] } }), oneLine(new RegExp(`${s.name}\\.${bad[0]}: expected`)));
    await assert.rejects(solve(p, s, { steps: 1, options: { optimizer: "rmsprop" } }), oneLine(/optimizer: expected one of 'sgd', 'momentum', 'nesterov', 'adam'/));
  });
}

test("every solver with a lower-level step size takes innerOptimizer; the exceptions are the documented ones", () => {
  // bda: its inner direction is an aggregate of two gradients with their own step sizes (su, sl);
  // bvfsm: its y steps are divided by 1 + the barrier weight. docs/solvers/README.md says so.
  const without = registry.filter((s) => !("innerOptimizer" in s.defaults)).map((s) => s.name);
  assert.deepEqual(without.sort(), ["bda", "bvfsm"]);
});

test("template solver (docs/writing-a-solver.md) reaches the toy-sc optimum (distance < 1e-3)", async () => {
  await initEngine({ dtype: "float32", jit: true });
  const p = await getTask("toy-sc").create({ n: 10, random: false }, 0);
  const r = await solve(p, template as unknown as SolverSpec, { steps: 400, options: { lrX: 0.5, alpha: 0.5 } });
  tree.dispose(r.x);
  tree.dispose(r.y);
  assert.ok(r.final.distanceToOptimum! < 1e-3, `distance ${r.final.distanceToOptimum}`);
});
