/** A learned reward r_nu(s, a) for discrete actions: an MLP on [s * obsScale, onehot(a)] with a scalar output. */
import { BilevelInputError } from "../errors.js";
import { HostMLP } from "./mlp.js";
import type { Episode } from "./rollout.js";

/**
 * r_nu(s, a) = MLP_nu([s * obsScale, onehot(a)]) (scalar output). With `useActions` false the one-hot part
 * is zero (a state-only reward r_nu(s); same parameter layout).
 */
export class RewardModel {
  constructor(
    readonly net: HostMLP,
    readonly obsScale: number[],
    readonly nActions: number,
    readonly useActions = true,
  ) {
    if (net.sizes[0] !== obsScale.length + nActions || net.sizes[net.sizes.length - 1] !== 1) {
      throw new BilevelInputError(`reward model: expected sizes [${obsScale.length + nActions}, ..., 1], got [${net.sizes.join(", ")}]`);
    }
  }

  static create(obsDim: number, nActions: number, hidden: number[], obsScale: number[], seed: number, useActions = true): RewardModel {
    return new RewardModel(HostMLP.init([obsDim + nActions, ...hidden, 1], seed), obsScale, nActions, useActions);
  }

  features(obs: readonly number[], action: number): number[] {
    const f = obs.map((v, i) => v * this.obsScale[i]);
    for (let a = 0; a < this.nActions; a++) f.push(this.useActions && a === action ? 1 : 0);
    return f;
  }

  reward(obs: readonly number[], action: number): number {
    return this.net.forward(this.features(obs, action))[0];
  }

  /** The model's rewards along each episode. */
  episodeRewards(episodes: Episode[]): number[][] {
    return episodes.map((ep) => ep.actions.map((a, t) => this.reward(ep.obs[t], a)));
  }
}
