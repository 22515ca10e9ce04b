/** `bilevel/jax` under Node (the "node" export condition): the Node set-up, then the engine. */
import "./host.js";
export * from "../jax.js";
