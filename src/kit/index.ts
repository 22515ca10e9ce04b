/**
 * `bilevel/kit`: what a solver author needs. Step bodies in the kit's borrowing style (no `.ref`, no
 * `dispose`): objectives with their derivative oracles (`objectives`), the borrowing `tree` operations,
 * hypergradient estimators, linear solvers, inner-loop settings, projections, compiled steps and
 * instances, the `optimizer` option group, schedules, and the option-spec helpers. See
 * docs/writing-a-solver.md and src/solvers/template.ts.
 */
export { bind, objectives, linearSolve, implicitHypergrad, unrolledHypergrad, valueGap, type BoundObjective } from "./oracles.js";
export { compileStep, innerGD, innerStart, projectX, projectY, iterateXY, stepInstance, xyInstance, withHypergrad, type CompiledStep, type XY } from "./step.js";
export { defineSolver, type SolverDefinition, type DefinedSolver } from "./define.js";
export { xOptimizer, yOptimizer, type XOptimizer, type OptState } from "./optimizer.js";
export { tree, scope, scopeAsync, scalar, np, jax, type Arr, type Tree } from "../engine/index.js";
export { optimizerOptions, innerOptimizerOptions, type OptimizerOptions, type InnerOptimizerOptions } from "../optim/index.js";
export * as optim from "../optim/index.js";
export { int, num, positive, fraction, choice, unrolled } from "../options.js";
export type { GDOptions, LinearSolver, Direction } from "../oracles/index.js";
export type { BilevelProblem, SolverSpec, SolverInstance, Capabilities, OptionSpecs } from "../problem.js";
export { BilevelInputError } from "../errors.js";
