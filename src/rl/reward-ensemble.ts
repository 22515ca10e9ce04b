/**
 * PEBBLE's reward model (Lee, Smith, Abbeel 2021; B-Pref's configs): an ensemble of E MLPs
 * r_e(s, a) = tanh(MLP_e([s, a])) (tanh hidden layers here), trained on segment pairs by the Bradley-Terry
 * likelihood of each member, the policy's reward the ensemble mean r(s, a) = (1/E) sum_e r_e(s, a).
 * Parameters: one flat vector nu = [nu_1; ...; nu_E]. Pair batches (leaf axis 0 = pair):
 *   obs [n, 2, L, d], act [n, 2, L, k], label [n] (1 = segment 1 preferred, 0.5 = equal),
 *   weight [n] (0 = skipped by the teacher / padding), logBehaviour [n] (sum of the behaviour policy's
 *   log-probabilities of both segments' actions, for importance weights)
 *   l_e = softplus(Delta_e) - y Delta_e,  Delta_e = sum_t r_e(seg1_t) - sum_t r_e(seg2_t),
 *   l = weight * (1/E) sum_e l_e.
 */
import { array, np, type Arr, type Tree } from "../engine/index.js";
import { HostMLP, mlpApply } from "./mlp.js";
import { softplus } from "./tanh-gaussian.js";

export class RewardEnsemble {
  readonly member: HostMLP;
  /** Host copy of nu (set with `load`). */
  readonly nu: Float64Array;

  constructor(
    readonly obsDim: number,
    readonly actDim: number,
    readonly members: number,
    hidden: number[],
  ) {
    this.member = new HostMLP([obsDim + actDim, ...hidden, 1]);
    this.nu = new Float64Array(this.member.size * members);
  }

  get size(): number {
    return this.nu.length;
  }

  /** Fresh parameters (PyTorch-default initialization, one seed per member). */
  init(seed: number): Float64Array {
    const out = new Float64Array(this.size);
    for (let e = 0; e < this.members; e++) out.set(HostMLP.init(this.member.sizes, seed * 31 + e).theta, e * this.member.size);
    return out;
  }

  load(nu: ArrayLike<number>): void {
    this.nu.set(nu);
  }

  /** Each member's reward at one (s, a), from the host copy. */
  memberRewards(obs: ArrayLike<number>, act: ArrayLike<number>): Float64Array {
    const x = new Float64Array(this.obsDim + this.actDim);
    x.set(obs);
    x.set(act, this.obsDim);
    const out = new Float64Array(this.members);
    const P = this.member.size;
    for (let e = 0; e < this.members; e++) {
      this.member.theta.set(this.nu.subarray(e * P, (e + 1) * P));
      out[e] = Math.tanh(this.member.forward(x)[0]);
    }
    return out;
  }

  /** The ensemble-mean reward at one (s, a). */
  reward(obs: ArrayLike<number>, act: ArrayLike<number>): number {
    const r = this.memberRewards(obs, act);
    return r.reduce((s, v) => s + v, 0) / r.length;
  }

  /** Ensemble-mean rewards of n transitions (obs [n, d], act [n, k] row-major). */
  rewards(obs: Float64Array, act: Float64Array, n: number): Float64Array {
    const out = new Float64Array(n);
    const { obsDim: d, actDim: k } = this;
    for (let i = 0; i < n; i++) out[i] = this.reward(obs.subarray(i * d, i * d + d), act.subarray(i * k, i * k + k));
    return out;
  }

  /** Member rewards [E, n, ...] of features F [N, d + k] in jax. Consumes nu, F. */
  private memberApply(nu: Arr, F: Arr): Arr[] {
    const P = this.member.size;
    const out: Arr[] = [];
    for (let e = 0; e < this.members; e++) {
      const last = e + 1 === this.members;
      out.push(np.tanh(mlpApply(this.member.unflat((last ? nu : nu.ref).slice([e * P, (e + 1) * P])), last ? F : F.ref)));
    }
    return out;
  }

  /** The ensemble-mean reward of features F [N, d + k], shape [N]. Consumes nu, F. */
  meanReward(nu: Arr, F: Arr): Arr {
    const rs = this.memberApply(nu, F);
    return rs.reduce((a, b) => a.add(b)).reshape([-1]).mul(1 / this.members);
  }

  /** Per-pair weighted ensemble NLL, shape [n] (jax-traceable; finite on zero padding). Consumes nu, pairs. */
  pairNll(nu: Arr, pairs: Tree): Arr {
    const { obs, act, label, weight, logBehaviour } = pairs as Record<string, Arr>;
    logBehaviour.dispose();
    const [n, , L, d] = obs.shape;
    const k = act.shape[3];
    const F = np.concatenate([obs, act], -1).reshape([n * 2 * L, d + k]);
    let total: Arr | null = null;
    for (const r of this.memberApply(nu, F)) {
      const R = r.reshape([n, 2, L]).sum(-1);
      const delta = R.mul(array([1, -1]).reshape([1, 2])).sum(-1);
      const l = softplus(delta.ref).sub(label.ref.mul(delta));
      total = total === null ? l : total.add(l);
    }
    label.dispose();
    return total!.mul(weight).mul(1 / this.members);
  }
}
