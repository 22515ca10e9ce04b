/**
 * The engine bilevel ships: @jax-js/jax 0.1.25 with every patch in patches/jax/ applied, built into
 * vendor/jax by scripts/engine.mjs at build time and packed inside bilevel (never the unpatched
 * dependency). `./setup.js` is imported first so the runtime is prepared before jax-js evaluates.
 */
import "./setup.js";
export { wasmThreads } from "./setup.js";
export * from "../../vendor/jax/dist/index.js";
export { ENGINE } from "../../vendor/jax/dist/engine-info.js";
