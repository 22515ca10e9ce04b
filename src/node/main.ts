/** `bilevel` under Node (the package's "node" export condition): the Node set-up, then the core. */
import "./host.js";
export * from "../index.js";
