/** Shared derivative oracles, linear solvers, unrolling and hypergradient estimators. */
export * from "./grads.js";
export * from "./linsolve.js";
export * from "./unroll.js";
export * from "./hypergrad.js";
export * from "./implicit.js";
