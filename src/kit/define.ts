/**
 * `defineSolver`: a solver spec with the `optimizer` option group (src/optim/options.ts) added to its
 * own options, so every solver's x update can be sgd (default), momentum, nesterov or adam; with
 * `innerOptimizer: true` also the `innerOptimizer` group for its lower-level (y) updates. Its `create`
 * resolves and checks the options it is given (missing ones take their defaults), so a solver used
 * directly gets the same one-line errors as through `solve` or the CLI.
 */
import { innerOptimizerOptions, optimizerOptions, type InnerOptimizerOptions, type OptimizerOptions } from "../optim/index.js";
import { resolveOptions } from "../options.js";
import type { BilevelProblem, Options, SolverInstance, SolverSpec } from "../problem.js";

/** The option groups a definition gets: the x optimizer always, the inner one when it asks for it. */
export type Groups<I extends boolean> = OptimizerOptions & (I extends true ? InnerOptimizerOptions : unknown);

export type SolverDefinition<O extends Options, I extends boolean = false> = Omit<SolverSpec<O>, "create" | "aliases"> & {
  aliases?: Record<string, keyof O & string>;
  /** The solver's y updates honour the `innerOptimizer` group (pass `o` to `innerGD`, use `yOptimizer`). */
  innerOptimizer?: I;
  create(problem: BilevelProblem, opts: O & Groups<I>): SolverInstance;
};

/** A defined solver: its options are its own plus the optimizer group(s); `create` takes any subset. */
export type DefinedSolver<N extends string, O extends Options> = Omit<SolverSpec<O>, "create"> & {
  name: N;
  create(problem: BilevelProblem, opts?: Partial<O>): SolverInstance;
};

export function defineSolver<const N extends string, O extends Options, I extends boolean = false>(
  s: SolverDefinition<O, I> & { name: N },
): DefinedSolver<N, O & Groups<I>> {
  type All = O & Groups<I>;
  const groups = s.innerOptimizer ? [optimizerOptions, innerOptimizerOptions] : [optimizerOptions];
  const merge = (k: "defaults" | "help" | "spec", own: object | undefined) => Object.assign({}, own ?? {}, ...groups.map((g) => g[k]));
  const defaults = merge("defaults", s.defaults) as All;
  const spec = merge("spec", s.spec) as SolverSpec<All>["spec"];
  const aliases = (s.aliases ?? {}) as Record<string, string>;
  const { innerOptimizer: _i, ...rest } = s;
  return {
    ...rest,
    defaults,
    help: merge("help", s.help) as SolverSpec<All>["help"],
    spec,
    aliases: s.aliases as SolverSpec<All>["aliases"],
    create: (p, o = {}) => s.create(p, resolveOptions(`solver ${s.name}`, defaults, o as Options, spec, aliases) as All),
  };
}
