/**
 * The `optimizer` option group every solver takes for its x update: `sgd` (default, the plain step of
 * the papers), `momentum`, `nesterov` or `adam`, with their parameters; and the `innerOptimizer` group
 * of solvers whose lower-level (y) updates have a step size: the same choice for those updates (inner
 * loops start a fresh optimizer state each time; single-loop y updates keep theirs), sharing Adam's
 * beta1, beta2 and adamEps with the x group.
 */
import { choice, fraction, positive } from "../options.js";
import { adam, momentum, nesterov, sgd, type Optimizer } from "./transform.js";

// type aliases, not interfaces: they must satisfy `Options` (an index signature) in users' declarations
export type OptimizerOptions = {
  optimizer: string;
  momentum: number;
  beta1: number;
  beta2: number;
  adamEps: number;
};

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

export type InnerOptimizerOptions = {
  innerOptimizer: string;
  innerMomentum: number;
};

/** The `innerOptimizer` group (solvers that declare `innerOptimizer: true`); sgd keeps the papers' steps. */
export const innerOptimizerOptions = {
  defaults: { innerOptimizer: "sgd", innerMomentum: 0.9 } satisfies InnerOptimizerOptions,
  help: {
    innerOptimizer: "lower-level (y) updates: sgd (the paper's plain steps), momentum, nesterov or adam, at the solver's y step sizes",
    innerMomentum: "momentum coefficient of innerOptimizer momentum or nesterov",
  },
  spec: { innerOptimizer: choice("sgd", "momentum", "nesterov", "adam"), innerMomentum: fraction() },
};

/** optax's eps_root for the lower-level Adam: reverse-mode unrolling through sqrt(v) stays finite at v = 0. */
const INNER_EPS_ROOT = 1e-16;

function select(name: string, mu: number, o: OptimizerOptions, epsRoot = 0): Optimizer {
  switch (name) {
    case "momentum":
      return momentum(mu);
    case "nesterov":
      return nesterov(mu);
    case "adam":
      return adam(o.beta1, o.beta2, o.adamEps, epsRoot);
    default:
      return sgd();
  }
}

/** The optimizer an options object selects for x. */
export const optimizerFrom = (o: OptimizerOptions): Optimizer => select(o.optimizer, o.momentum, o);

/** The optimizer an options object selects for the lower-level updates (sgd without the group). */
export const innerOptimizerFrom = (o: OptimizerOptions & Partial<InnerOptimizerOptions>): Optimizer => select(o.innerOptimizer ?? "sgd", o.innerMomentum ?? 0.9, o, INNER_EPS_ROOT);
