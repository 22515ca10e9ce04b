/**
 * The toy problems with closed-form optima (shared/TASKS.md): the correctness suite every solver is
 * checked on. Each reports `distanceToOptimum` = ||z - z*|| / max(1, ||z*||) over z = (x, y).
 * One module per toy, problem and task spec together: toy-lls, toy-sc, toy-constrained, toy-ufo,
 * toy-quadratic (./toy-<name>.ts; shared parts in ./toy-kit.ts; pages docs/tasks/toy-<name>.md).
 */
export { TOY_MEMORY_LIMIT, checkMemory, half, relativeDistance, sq } from "./toy-kit.js";
export { toyLLS, toyLLSTask } from "./toy-lls.js";
export { toySC, toySCTask } from "./toy-sc.js";
export { toyConstrained, toyConstrainedTask } from "./toy-constrained.js";
export { UFO, toyUFO, toyUFOTask, ufoOptima } from "./toy-ufo.js";
export { quadraticData, quadraticExact, toyQuadratic, toyQuadraticTask, type QuadraticBatch, type QuadraticData } from "./toy-quadratic.js";
