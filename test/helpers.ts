/** Shared test set-up: start the engine once per test file (float64 unless a test asks otherwise). */
import { initEngine, type FloatDtype } from "../src/engine/index.js";

export async function setup(dtype: FloatDtype = "float64"): Promise<void> {
  await initEngine({ dtype });
}

/** Relative error ||a - b|| / max(||b||, tiny). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}

import type { Options } from "../src/problem.js";
import { solve, type SolveResult } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import type { BilevelProblem } from "../src/problem.js";

/**
 * Build `taskName` and run `solver` on it as the CLI resolves them: task defaults + `taskOpts`, the
 * task's tuned defaults for the solver + `extra` (its `steps` too). The caller owns `result.x`, `result.y`.
 */
export async function solveTask(
  taskName: string,
  solver: string,
  taskOpts: Options = {},
  extra: Options & { steps?: number } = {},
  seed = 0,
): Promise<{ result: SolveResult; problem: BilevelProblem; steps: number }> {
  const task = getTask(taskName);
  const { steps: tunedSteps, ...tuned } = (task.solverDefaults?.[solver] ?? {}) as Options & { steps?: number };
  const { steps: extraSteps, ...over } = extra;
  const steps = extraSteps ?? tunedSteps ?? task.steps;
  const problem = await task.create({ ...task.defaults, ...taskOpts }, seed);
  const result = await solve(problem, solver, { steps, seed, options: { ...tuned, ...over } });
  return { result, problem, steps };
}
