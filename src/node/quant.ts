/** `bilevel/quant` (Node only: it reads and writes model files): the Node set-up, then quantization. */
import "./host.js";
export * from "../quant/index.js";
