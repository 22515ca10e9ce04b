/**
 * `defineSolver`: a solver spec with the `optimizer` option group (src/optim/options.ts) added to its
 * own options, so every solver's x update can be sgd (default), momentum, nesterov or adam. Its
 * `create` resolves and checks the options it is given (missing ones take their defaults), so a solver
 * used directly gets the same one-line errors as through `solve` or the CLI.
 */
import { optimizerOptions, type OptimizerOptions } from "../optim/index.js";
import { resolveOptions } from "../options.js";
import type { BilevelProblem, Options, SolverInstance, SolverSpec } from "../problem.js";

export type SolverDefinition<O extends Options> = Omit<SolverSpec<O>, "create" | "aliases"> & {
  aliases?: Record<string, keyof O & string>;
  create(problem: BilevelProblem, opts: O & OptimizerOptions): SolverInstance;
};

/** A defined solver: its options are its own plus the optimizer group; `create` takes any subset. */
export type DefinedSolver<N extends string, O extends Options> = Omit<SolverSpec<O & OptimizerOptions>, "create"> & {
  name: N;
  create(problem: BilevelProblem, opts?: Partial<O & OptimizerOptions>): SolverInstance;
};

export function defineSolver<const N extends string, O extends Options>(s: SolverDefinition<O> & { name: N }): DefinedSolver<N, O> {
  type All = O & OptimizerOptions;
  const defaults = { ...s.defaults, ...optimizerOptions.defaults } as All;
  const spec = { ...(s.spec ?? {}), ...optimizerOptions.spec } as SolverSpec<All>["spec"];
  const aliases = (s.aliases ?? {}) as Record<string, string>;
  return {
    ...s,
    defaults,
    help: { ...s.help, ...optimizerOptions.help } as SolverSpec<All>["help"],
    spec,
    aliases: s.aliases as SolverSpec<All>["aliases"],
    create: (p, o = {}) => s.create(p, resolveOptions(`solver ${s.name}`, defaults, o as Options, spec, aliases) as All),
  };
}
