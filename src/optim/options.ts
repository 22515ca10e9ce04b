/**
 * The `optimizer` option group every solver takes for its x update: `sgd` (default, the plain step of
 * the papers), `momentum`, `nesterov` or `adam`, with their parameters.
 */
import { choice, fraction, positive } from "../options.js";
import { adam, momentum, nesterov, sgd, type Optimizer } from "./transform.js";

export interface OptimizerOptions {
  optimizer: string;
  momentum: number;
  beta1: number;
  beta2: number;
  adamEps: number;
}

/** Defaults, help and checks of the group, spread into each solver's own. */
export const optimizerOptions = {
  defaults: { optimizer: "sgd", momentum: 0.9, beta1: 0.9, beta2: 0.999, adamEps: 1e-8 } satisfies OptimizerOptions,
  help: {
    optimizer: "x update: sgd (the paper's plain step), momentum, nesterov or adam, at the solver's x step size",
    momentum: "momentum coefficient (optimizer momentum or nesterov)",
    beta1: "Adam's first-moment decay",
    beta2: "Adam's second-moment decay",
    adamEps: "Adam's epsilon",
  },
  spec: { optimizer: choice("sgd", "momentum", "nesterov", "adam"), momentum: fraction(), beta1: fraction(), beta2: fraction(), adamEps: positive() },
};

/** The optimizer an options object selects. */
export function optimizerFrom(o: OptimizerOptions): Optimizer {
  switch (o.optimizer) {
    case "momentum":
      return momentum(o.momentum);
    case "nesterov":
      return nesterov(o.momentum);
    case "adam":
      return adam(o.beta1, o.beta2, o.adamEps);
    default:
      return sgd();
  }
}
