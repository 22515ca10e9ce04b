/** Machine facts written next to every benchmark figure, and the pieces every bench script shares. */
import os from "node:os";
import { jax, type Tree } from "../src/engine/index.js";
import { resolveOptions } from "../src/options.js";
import type { BilevelProblem, Options, SolverInstance, TaskSpec } from "../src/problem.js";
import { getSolver } from "../src/solvers/registry.js";

export function machineInfo(): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    node: process.version,
    jax: jax.ENGINE.version,
    enginePatches: jax.ENGINE.patches,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg(),
    platform: `${os.platform()} ${os.arch()}`,
  };
}

export const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The value after `--name` on the command line, else `def`. */
export function arg(name: string): string | undefined;
export function arg(name: string, def: string): string;
export function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

/**
 * `solver` on problem `p` of `task` with the task's tuned settings (their `steps` aside) and `overrides`,
 * its state at the problem's seed-0 start, and the resolved options: what every hyperclean benchmark times.
 */
export function tunedStart(task: TaskSpec<any>, p: BilevelProblem, solver: string, overrides: Options = {}): { inst: SolverInstance; state: Tree; options: Options } {
  const spec = getSolver(solver);
  const { steps: _steps, ...tuned } = task.solverDefaults?.[solver] ?? {};
  const options = resolveOptions(`solver ${solver}`, spec.defaults, { ...tuned, ...overrides });
  const inst = spec.create(p, options);
  const start = p.init(0);
  return { inst, state: inst.init(start.x, start.y, 0), options };
}
