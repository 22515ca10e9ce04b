/**
 * `bilevel/jax`: the engine that ships with bilevel (jax-js 0.1.25 with bilevel's patches), the same
 * module instance the library computes with, so a user's arrays and bilevel's belong to one engine.
 * Use it instead of installing `@jax-js/jax` separately (that would be a second, unpatched engine).
 *
 * @packageDocumentation
 */
export * from "./engine/jaxjs.js";
