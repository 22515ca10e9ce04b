/**
 * bilevel — gradient-based bilevel optimization in TypeScript on jax-js.
 *
 *     min_x F(x, y*(x))   where   y*(x) in argmin_y f(x, y)   [optionally s.t. g(x, y) <= 0]
 *
 * Start the engine once with `await initEngine()`, state a {@link BilevelProblem} with jax-js arrays, and
 * call {@link solve} with a solver name from {@link solvers}. Arrays are reference counted: every
 * function consumes its array arguments, so use `a.ref` for every use of `a` but the last.
 *
 * This entry is runtime-neutral (Node, browsers, workers): it imports no `node:` module and reads no
 * environment. Under Node, `bilevel` resolves to the same API after the Node set-up; the Node-only
 * parts (data files, report writers, atomic outputs) are in `bilevel/node`.
 *
 * @packageDocumentation
 */

// ---- running -----------------------------------------------------------------------------------
/**
 * `solve(problem, solver, options)` runs a solver for `steps` outer iterations and returns a
 * {@link SolveResult} (final metrics, history, status, and the final iterate, which the caller owns).
 * `solveOrThrow` is the same but throws a {@link DivergenceError} when the run diverges.
 */
export { solve, solveOrThrow, DivergenceError, RunInterrupted } from "./run.js";
export type { SolveOptions, SolveResult, Progress, HistoryPoint, Checkpoint, CheckpointLeaf, CheckpointStore, CheckpointOptions, StopSignal } from "./run.js";
/** `runTask`: a named task + a named solver + `--set`-style options -> result and JSON record. */
export { runTask } from "./experiment.js";
export type { RunTaskOptions, RunRecord, TaskRun } from "./experiment.js";

// ---- registries --------------------------------------------------------------------------------
/** Every registered solver (`solvers`) and lookup by name with a one-line error (`getSolver`). */
export { solvers, getSolver, type SolverName, type SolverOptionsOf } from "./solvers/registry.js";
/** Every registered task (`tasks`) and lookup by name with a one-line error (`getTask`). */
export { tasks, getTask } from "./tasks/index.js";

// ---- types and errors --------------------------------------------------------------------------
export type {
  BilevelProblem,
  Capabilities,
  OptionValue,
  Options,
  SolverInstance,
  SolverSpec,
  TaskSpec,
} from "./problem.js";
/** The error for bad user input (names, options, shapes); the CLI reports it in one line, exit 2. */
export { BilevelInputError, BilevelRunError } from "./errors.js";
/** Notes on renamed solver options (old names are accepted for one release) go here (default console.warn). */
export { setOptionNote } from "./options.js";

// ---- engine ------------------------------------------------------------------------------------
/**
 * Engine set-up and array helpers. `initEngine({ dtype })` must be awaited before any array is made;
 * `array`, `zeros`, `ones`, `full`, `scalar` make arrays in the engine's float dtype; `toNumber` /
 * `toFloat64` read arrays back (consuming them). `np` is jax-js numpy, `jax` the whole jax-js module.
 */
export {
  initEngine,
  setFloatDtype,
  floatDtype,
  engineInfo,
  currentDeviceName,
  jitEnabled,
  engineHost,
  configureHost,
  DEVICES,
  np,
  jax,
  array,
  zeros,
  ones,
  full,
  scalar,
  toNumber,
  toFloat64,
  treeToFloat64,
  prngKey,
  mulberry32,
  gaussian,
} from "./engine/index.js";
export type { Arr, Tree, FloatDtype, DeviceName, EngineOptions, EngineInfo, EngineHost } from "./engine/index.js";
/**
 * `tree`: borrowing pytree arithmetic (`tree.add`, `tree.sub`, `tree.scale`, `tree.axpy`, `tree.vdot`,
 * `tree.sqnorm`, `tree.norm`, `tree.zerosLike`, `tree.map`, ...): arguments stay valid. `scope(fn)` frees
 * every array made inside `fn` that it does not return (tidy-style, for eager host code).
 */
export { tree, scope, scopeAsync } from "./engine/index.js";

// ---- optimizers ----------------------------------------------------------------------------------
/** optax-style gradient transformations and schedules (`optim.adam()`, `optim.chain(...)`, `optim.cosine(...)`). */
export * as optim from "./optim/index.js";

// ---- implicit differentiation in the user's own model ----------------------------------------
/**
 * `implicitArgmin(lower, options)` / `implicitRoot(optimality, solve, options)`: a function
 * `x => y*(x)` that solves an inner problem and is differentiated by the implicit function theorem
 * inside the user's `jax.grad` / `jax.jit` (built on the engine's `jax.customVjp`).
 */
export { implicitArgmin, implicitRoot } from "./oracles/implicit.js";
export type { ImplicitArgminOptions, ImplicitRootOptions, ImplicitLinearSolver, ImplicitFunction, Optimality } from "./oracles/implicit.js";

/** `verifyHypergradient`: a solver's hypergradient estimate vs a float64 reference (`bilevel verify`). */
export { verifyHypergradient } from "./verify.js";
export type { VerifyOptions, VerifyResult } from "./verify.js";

// ---- oracles -----------------------------------------------------------------------------------
/** Derivative oracles, linear solvers, unrolling and hypergradient estimators, for writing solvers. */
export * as oracles from "./oracles/index.js";

// ---- data --------------------------------------------------------------------------------------
/**
 * Data sets for the tasks that need them. Under Node they come from files; elsewhere pass them in:
 * `setDataSources({ mnist: imageDatasetFromBytes("MNIST", url, { trainImages, ... }) })`.
 */
export { setDataSources, dataset, imageDatasetFromBytes, imageDatasetFromArrays, parseIdx, parseSklearnCsv, parseImdbJson, IDX_FILES } from "./data/index.js";
export type { DataSources, ImageDataset, TabularDataset, TextDataset, IdxArray, IdxPart } from "./data/index.js";

// Layer-wise quantization of language models is its own entry point: `bilevel/quant`.
