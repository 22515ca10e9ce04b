/**
 * Shared by the trajectory-parity tests (test/parity-*.test.ts): run a registered solver step by step
 * and read every iterate back in float64, to compare with a host statement of the official update loop.
 */
import assert from "node:assert/strict";
import { jax, treeToFloat64, type Tree } from "../src/engine/index.js";
import type { BilevelProblem, Options, SolverSpec } from "../src/problem.js";
import { getSolver } from "../src/solvers/registry.js";

/** One iterate, flattened: x's leaves, then y's leaves (in the order of `yKeys` when y is an object). */
export type Flat = { x: Float64Array; y: Float64Array };

async function flatten(t: Tree, keys?: string[]): Promise<Float64Array> {
  if (!keys) return treeToFloat64(t);
  const o = t as Record<string, Tree>;
  const parts: number[] = [];
  for (const k of keys) parts.push(...(await treeToFloat64(o[k])));
  jax.tree.dispose(Object.keys(o).filter((k) => !keys.includes(k)).map((k) => o[k]));
  return Float64Array.from(parts);
}

/**
 * The solver's iterates after steps 1..steps (index 0 is the start), run as `solve` runs it: the
 * solver's defaults under `options`, `problem.init(seed)` unless `start` is given.
 */
export async function trajectory(problem: BilevelProblem, solver: string | SolverSpec<any>, options: Options, steps: number, opts: { yKeys?: string[]; seed?: number } = {}): Promise<Flat[]> {
  const spec = typeof solver === "string" ? getSolver(solver) : solver;
  const inst = spec.create(problem, { ...spec.defaults, ...options });
  const seed = opts.seed ?? 0;
  const { x, y } = problem.init(seed);
  const read = async (s: Tree): Promise<Flat> => {
    const it = inst.iterate(s);
    return { x: await treeToFloat64(it.x), y: await flatten(it.y, opts.yKeys) };
  };
  let s = inst.init(x, y, seed);
  const out = [await read(s)];
  for (let k = 0; k < steps; k++) {
    const batch = problem.sample ? problem.sample(seed, k) : undefined;
    s = inst.stepAsync ? await inst.stepAsync(s, k, batch) : inst.step(s, k, batch);
    out.push(await read(s));
  }
  jax.tree.dispose(s);
  inst.dispose();
  return out;
}

/** max |a_i - b_i| / max(1, |b_i|) over both blocks. */
export function maxRelDiff(a: Flat, b: Flat): number {
  let m = 0;
  for (const key of ["x", "y"] as const) {
    assert.equal(a[key].length, b[key].length, `${key}: length ${a[key].length} vs ${b[key].length}`);
    for (let i = 0; i < b[key].length; i++) m = Math.max(m, Math.abs(a[key][i] - b[key][i]) / Math.max(1, Math.abs(b[key][i])));
  }
  return m;
}

/** The first step k (1-based) whose iterates differ by more than `tol`, or -1 if none does. */
export function firstDiffering(got: Flat[], want: Flat[], tol: number): number {
  for (let k = 0; k < Math.min(got.length, want.length); k++) if (maxRelDiff(got[k], want[k]) > tol) return k;
  return -1;
}

/** Assert the two trajectories agree to `tol` at every step; the message names the first step that does not. */
export function assertSameTrajectory(got: Flat[], want: Flat[], tol: number, what: string): void {
  assert.equal(got.length, want.length);
  const k = firstDiffering(got, want, tol);
  assert.equal(k, -1, k < 0 ? "" : `${what}: step ${k} differs by ${maxRelDiff(got[k], want[k]).toExponential(2)} (> ${tol}); x ${got[k].x.slice(0, 3)} vs ${want[k].x.slice(0, 3)}`);
}

/** Fill a Float64Array of length n with v. */
export const filled = (n: number, v: number): Float64Array => new Float64Array(n).fill(v);
