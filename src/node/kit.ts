/** `bilevel/kit` under Node (the "node" export condition): the Node set-up, then the solver kit. */
import "./host.js";
export * from "../kit/index.js";
