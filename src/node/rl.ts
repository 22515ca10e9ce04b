/** `bilevel/rl` under Node (the "node" export condition): the Node set-up, then the RL system. */
import "./host.js";
export * from "../rl/index.js";
