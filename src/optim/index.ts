/**
 * `bilevel`'s optimizers: optax-style gradient transformations on pytrees (sgd, momentum, nesterov,
 * adam, clipping, `chain`), step-size schedules (constant, step, polynomial, cosine, with floors), and
 * the `optimizer` option every solver's x update takes (`sgd` default: exactly the papers' plain steps).
 */
export * from "./transform.js";
export * from "./schedule.js";
export { optimizerOptions, optimizerFrom, innerOptimizerOptions, innerOptimizerFrom, type OptimizerOptions, type InnerOptimizerOptions } from "./options.js";
