/**
 * pi_theta(a | s) = softmax(MLP_theta(s * obsScale)) for discrete actions, acting on the host; created with
 * the last layer scaled by 0.01 so the initial policy is near uniform.
 */
import { BilevelInputError } from "../errors.js";
import { HostMLP } from "./mlp.js";

/** pi_theta(a | s) = softmax(MLP_theta(s * obsScale)). */
export class SoftmaxPolicy {
  constructor(
    readonly net: HostMLP,
    readonly obsScale: number[],
  ) {
    if (net.sizes[0] !== obsScale.length) throw new BilevelInputError(`obsScale: expected ${net.sizes[0]} entries, got ${obsScale.length}`);
  }

  static create(obsDim: number, nActions: number, hidden: number[], obsScale: number[], seed: number): SoftmaxPolicy {
    return new SoftmaxPolicy(HostMLP.init([obsDim, ...hidden, nActions], seed, 0.01), obsScale);
  }

  get nActions(): number {
    return this.net.sizes[this.net.sizes.length - 1];
  }

  scaled(obs: readonly number[]): number[] {
    return obs.map((v, i) => v * this.obsScale[i]);
  }

  /** Action probabilities at one observation. */
  probs(obs: readonly number[]): Float64Array {
    const z = this.net.forward(this.scaled(obs));
    let mx = -Infinity;
    for (const v of z) mx = Math.max(mx, v);
    let s = 0;
    for (let i = 0; i < z.length; i++) s += z[i] = Math.exp(z[i] - mx);
    for (let i = 0; i < z.length; i++) z[i] /= s;
    return z;
  }

  /** A sampled action (or the most probable one when `greedy`). */
  act(obs: readonly number[], rand: () => number, greedy = false): number {
    const p = this.probs(obs);
    if (greedy) {
      let best = 0;
      for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
      return best;
    }
    let u = rand();
    for (let i = 0; i < p.length - 1; i++) {
      u -= p[i];
      if (u < 0) return i;
    }
    return p.length - 1;
  }
}
