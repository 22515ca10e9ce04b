/**
 * The x optimizer of a solver as the `optimizer` option group selects it, with its state kept in the
 * solver's state under `opt` (absent for plain `sgd`, so the default state is exactly {x, y, ...}).
 */
import type { Arr, Tree } from "../engine/index.js";
import { optimizerFrom, type Optimizer, type OptimizerOptions } from "../optim/index.js";

/** The optimizer's part of a solver state. */
export type OptState = { opt?: Tree };

export interface XOptimizer {
  optimizer: Optimizer;
  /** The state entry for a start x (borrowed): `{}` for sgd, else `{ opt }`. */
  init(x: Tree): OptState;
  /** x - lr * direction(g) and the next state entry (all borrowed). */
  update(x: Tree, g: Tree, state: OptState, lr: number | Arr): [Tree, OptState];
}

export function xOptimizer(o: OptimizerOptions): XOptimizer {
  const optimizer = optimizerFrom(o);
  const stateless = optimizer.name === "sgd";
  return {
    optimizer,
    init: (x) => (stateless ? {} : { opt: optimizer.init(x) as Tree }),
    update(x, g, s, lr) {
      const r = optimizer.update(x, g, s.opt as never, lr);
      return [r.params, stateless ? {} : { opt: r.state as Tree }];
    },
  };
}
