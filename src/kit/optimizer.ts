/**
 * A solver's optimizers as its option groups select them: `xOptimizer` (the `optimizer` group) keeps its
 * state in the solver's state under `opt`, `yOptimizer` (the `innerOptimizer` group, for single-loop y
 * updates) under `optY`; both are absent for plain `sgd`, so the default state is exactly {x, y, ...}.
 */
import type { Arr, Tree } from "../engine/index.js";
import { innerOptimizerFrom, optimizerFrom, type InnerOptimizerOptions, type Optimizer, type OptimizerOptions } from "../optim/index.js";

/** The optimizers' part of a solver state. */
export type OptState = { opt?: Tree; optY?: Tree; optZ?: Tree };

export interface XOptimizer {
  optimizer: Optimizer;
  /** The state entry for a start point (borrowed): `{}` for sgd, else `{ opt }` (`{ optY }` for y). */
  init(x: Tree): OptState;
  /** x - lr * direction(g) and the next state entry (all borrowed). */
  update(x: Tree, g: Tree, state: OptState, lr: number | Arr): [Tree, OptState];
}

function keyed(key: keyof OptState, optimizer: Optimizer): XOptimizer {
  const stateless = optimizer.name === "sgd";
  return {
    optimizer,
    init: (x) => (stateless ? {} : { [key]: optimizer.init(x) as Tree }),
    update(x, g, s, lr) {
      const r = optimizer.update(x, g, s[key] as never, lr);
      return [r.params, stateless ? {} : { [key]: r.state as Tree }];
    },
  };
}

/** The x optimizer (`optimizer` group). */
export const xOptimizer = (o: OptimizerOptions): XOptimizer => keyed("opt", optimizerFrom(o));

/** The optimizer of a single-loop y update (`innerOptimizer` group; sgd without it); state under `key`. */
export const yOptimizer = (o: OptimizerOptions & Partial<InnerOptimizerOptions>, key: "optY" | "optZ" = "optY"): XOptimizer => keyed(key, innerOptimizerFrom(o));
