/**
 * The core types: a bilevel problem, a solver, and their options.
 *
 *     min_x F(x, y*(x))   where   y*(x) in argmin_y f(x, y)   [optionally s.t. g(x, y) <= 0]
 *
 * Ownership: every function of a problem follows the jax-js rule — its array arguments are consumed.
 * Data a problem captures in a closure (matrices, datasets) must be used through `.ref`.
 */
import type { Arr, Tree } from "./engine/index.js";

/** A bilevel problem stated with jax-js pytrees. `X`, `Y` are the upper and lower variables. */
export interface BilevelProblem<X extends Tree = Tree, Y extends Tree = Tree, B extends Tree = Tree> {
  /** Short name used in logs and results. */
  name: string;
  /** Upper objective F(x, y): a scalar array. Consumes x, y (and batch). */
  upper(x: X, y: Y, batch?: B): Arr;
  /** Lower objective f(x, y): a scalar array. Consumes x, y (and batch). */
  lower(x: X, y: Y, batch?: B): Arr;
  /** Coupled lower-level constraint g(x, y) <= 0, elementwise (an array of any shape). */
  constraint?(x: X, y: Y): Arr;
  /** Euclidean projection of x onto its feasible set (boxes, simplices). Consumes x. */
  projectX?(x: X): X;
  /** Euclidean projection of y onto its feasible set. Consumes y. */
  projectY?(y: Y): Y;
  /**
   * Meta-learning: when present, the lower level is a fixed procedure — `innerSteps.steps` gradient
   * steps of size `innerSteps.lr` on f(x, .) started at `innerInit(x)` — and solvers restart their
   * inner loop there every outer step (MAML-style) instead of warm-starting from the previous y.
   */
  innerInit?(x: X): Y;
  /** The fixed inner procedure that goes with `innerInit`. */
  innerSteps?: { steps: number; lr: number };
  /** Starting point for a seed (fresh arrays owned by the caller). */
  init(seed: number): { x: X; y: Y };
  /**
   * A stochastic minibatch for outer step `step` of a run seeded with `seed` (a pytree of arrays,
   * typically index or data arrays). Present only when the problem is stochastic.
   */
  sample?(seed: number, step: number): B;
  /** Task metrics at (x, y), e.g. `distanceToOptimum`, `testAccuracy`. Consumes x, y. */
  evaluate?(x: X, y: Y): Promise<Record<string, number>>;
  /**
   * The exact hypergradient dF/dx of F(x, y*(x)) at x (closed form, float64), when the problem has one;
   * x and the result are flat like `treeToFloat64`. `bilevel verify` uses it as its reference.
   */
  exactHypergradient?(x: Float64Array): Float64Array;
  /** A known optimum (closed form), when there is one. Not consumed by anyone; read-only. */
  solution?: { x: X; y: Y; upperValue: number };
  /** Extra facts about the instance (sizes, fingerprints), reported in results. */
  info?: Record<string, unknown>;
  /**
   * Free the device arrays the objectives capture (data matrices). Whoever built the problem calls it
   * once, after its last use (`runTask` does, after the run); the problem is unusable afterwards.
   */
  dispose?(): void;
}

/** A solver or task hyperparameter value. */
export type OptionValue = number | boolean | string;
/** A flat map of hyperparameters. */
export type Options = Record<string, OptionValue>;

/**
 * A declarative check of one option value, made with the helpers of src/options.ts (`int`, `num`,
 * `positive`, `choice`) and applied by `resolveOptions` to every resolved value (defaults, a task's
 * tuned defaults and user overrides alike).
 */
export interface OptionCheck {
  /** `int`: a (safe) integer; `num`: a finite number; `choice`: one of `choices`. */
  kind: "int" | "num" | "choice";
  /** Smallest allowed value, or the name of another option of the same owner whose value is the bound. */
  min?: number | string;
  /** Largest allowed value, or the name of another option (e.g. itd's `truncate` <= `T`). */
  max?: number | string;
  /** `min` / `max` themselves are excluded. */
  minOpen?: boolean;
  maxOpen?: boolean;
  /** The allowed strings of a `choice`. */
  choices?: readonly string[];
  /** Why the bound, shown in the error (e.g. the reason of an unrolling cap). */
  why?: string;
}

/** Checks for some or all options of a solver or task, keyed like its `defaults`. */
export type OptionSpecs<O extends Options = Options> = Partial<Record<keyof O & string, OptionCheck>>;

/** What a solver can handle; shown by `bilevel list` and used to check problems before running. */
export interface Capabilities {
  /** Uses second-order products (Hessian- or Jacobian-vector) of f. */
  secondOrder: boolean;
  /** Handles a lower level with several minimizers (optimistic selection). */
  nonSingleton: boolean;
  /** Handles the coupled constraint g(x, y) <= 0. */
  constraints: boolean;
  /** Uses minibatches from `problem.sample`. */
  stochastic: boolean;
  /** Runs preference-based reward-design (PARL) problems (src/rl/preference-problem.ts); only such solvers run them. */
  preference?: boolean;
}

/** One solver instance bound to a problem and options. State is a pytree of arrays it owns. */
export interface SolverInstance<S extends Tree = Tree> {
  /** Initial state from a starting point (consumes x, y). */
  init(x: Tree, y: Tree, seed: number): S;
  /** One outer iteration `k` (0-based): consumes the state (and batch) and returns the next one. */
  step(state: S, k: number, batch?: Tree): S;
  /** When present, `solve` calls this instead of `step` (solvers that read arrays or run host-side rollouts). */
  stepAsync?(state: S, k: number, batch?: Tree): Promise<S>;
  /** The current iterate as fresh references (the state stays valid). */
  iterate(state: S): { x: Tree; y: Tree };
  /** Free compiled functions and captured constants. */
  dispose(): void;
  /**
   * The hypergradient estimate dF/dx that step `k` would use at the current state (fresh arrays, an
   * x-shaped tree; the state stays valid). Present for solvers whose update is a hypergradient
   * estimate (ITD, AID, ...); `bilevel verify` compares it with a float64 reference.
   */
  hypergrad?(state: S, k: number): Tree;
}

/** A registered algorithm. */
export interface SolverSpec<O extends Options = Options> {
  /** Registry key, e.g. `bome`. */
  name: string;
  /** The paper: authors, year, title. */
  reference: string;
  /** One line on what it does. */
  summary: string;
  /** Hyperparameters with their defaults (from the paper or its official code). */
  defaults: O;
  /** One line per hyperparameter. */
  help: Record<keyof O & string, string>;
  /** Type and range of hyperparameters (integers, bounds, choices), checked when options are resolved. */
  spec?: OptionSpecs<O>;
  /** Former option names, accepted with a note for one release: old name -> current name. */
  aliases?: Record<string, keyof O & string>;
  capabilities: Capabilities;
  /** Bind to a problem with fully resolved options. */
  create(problem: BilevelProblem, opts: O): SolverInstance;
}

/** A named problem builder (a task) for the CLI, benchmarks and tests. */
export interface TaskSpec<O extends Options = Options> {
  name: string;
  description: string;
  /** Task options (sizes, data choices) with defaults. */
  defaults: O;
  help: Record<keyof O & string, string>;
  /** Type and range of task options (sizes are integers >= 1, ...), checked when options are resolved. */
  spec?: OptionSpecs<O>;
  /** Outer steps a run uses when the user gives none. */
  steps: number;
  /** Solver hyperparameters tuned for this task (applied over the solver's own defaults). */
  solverDefaults?: Record<string, Options & { steps?: number }>;
  /** Build the problem (loads data; may be slow). */
  create(opts: O, seed: number): Promise<BilevelProblem>;
}
