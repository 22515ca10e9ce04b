/**
 * Labelled pairs of trajectory segments for discrete-action control and their Bradley–Terry likelihood.
 * A segment is `segment` consecutive steps of an episode (start uniform) or, with segment = 0, the whole
 * episode padded to maxSteps with mask 0. The label is 1 (segment 1 preferred) with probability
 * sigmoid(beta (R1 - R2)) on the true segment returns, flipped with probability `noise`; with `equalTies`
 * pairs of equal true return get 0.5 (B-Pref's "equal" teacher, Lee et al. 2021).
 *   l = softplus(Delta) - y Delta,  Delta = sum_t m_t r_nu(seg1_t) - sum_t m_t r_nu(seg2_t)
 */
import { array, jax, np, type Arr, type Tree } from "../engine/index.js";
import { mlpApply, type MLPTree } from "./mlp.js";
import type { Episode } from "./rollout.js";

/** How pairs are cut and labelled. */
export interface PairLabelOptions {
  segment: number;
  beta: number;
  noise: number;
  equalTies: boolean;
}

const softplus = (z: Arr): Arr => np.maximum(z.ref, 0).add(np.log1p(np.exp(np.abs(z).neg())));
const sigmoidHost = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Host-side pair data: obs [n, 2, L, d] (scaled), act [n, 2, L, nA] one-hot, mask [n, 2, L], label [n], true returns. */
export interface HostPairs {
  n: number;
  L: number;
  obs: Float64Array;
  act: Float64Array;
  mask: Float64Array;
  label: Float64Array;
  trueReturn: [number, number][];
  /** Where each segment came from: episode index (into the input episodes), start, length. */
  segs: { ep: number; start: number; len: number }[][];
}

function cutSegment(ep: Episode, L: number, full: boolean, rand: () => number): { start: number; len: number } {
  const len = ep.actions.length;
  if (full || len <= L) return { start: 0, len: Math.min(len, L) };
  return { start: Math.floor(rand() * (len - L + 1)), len: L };
}

/** Pairs (2i, 2i+1) of `episodes`, labelled by the Bradley–Terry oracle on the true segment returns. */
export function makePairs(episodes: Episode[], maxSteps: number, o: PairLabelOptions, scale: number[], nA: number, rand: () => number, noisy: boolean): HostPairs {
  const n = episodes.length / 2;
  const full = o.segment === 0;
  const L = full ? maxSteps : o.segment;
  const d = scale.length;
  const obs = new Float64Array(n * 2 * L * d);
  const act = new Float64Array(n * 2 * L * nA);
  const mask = new Float64Array(n * 2 * L);
  const label = new Float64Array(n);
  const trueReturn: [number, number][] = [];
  const segs: HostPairs["segs"] = [];
  for (let i = 0; i < n; i++) {
    const R: [number, number] = [0, 0];
    segs.push([]);
    for (let j = 0; j < 2; j++) {
      const ep = episodes[2 * i + j];
      const { start, len } = cutSegment(ep, L, full, rand);
      segs[i].push({ ep: 2 * i + j, start, len });
      for (let t = 0; t < len; t++) {
        const row = (i * 2 + j) * L + t;
        const s = ep.obs[start + t];
        for (let k = 0; k < d; k++) obs[row * d + k] = s[k] * scale[k];
        act[row * nA + ep.actions[start + t]] = 1;
        mask[row] = 1;
        R[j] += ep.rewards[start + t];
      }
    }
    trueReturn.push(R);
    const p1 = sigmoidHost(o.beta * (R[0] - R[1]));
    let y = rand() < p1 ? 1 : 0;
    if (noisy && o.noise > 0 && rand() < o.noise) y = 1 - y;
    label[i] = o.equalTies && R[0] === R[1] ? 0.5 : y;
  }
  return { n, L, obs, act, mask, label, trueReturn, segs };
}

export const pairsTree = (p: HostPairs, d: number, nA: number): Tree => ({
  obs: array(p.obs, [p.n, 2, p.L, d]),
  act: array(p.act, [p.n, 2, p.L, nA]),
  mask: array(p.mask, [p.n, 2, p.L]),
  label: array(p.label, [p.n]),
});

export type Pairs = { obs: Arr; act: Arr; mask: Arr; label: Arr };

/** Per-pair Bradley–Terry NLL under r_nu, shape [n] (`useActions` false: a state-only r_nu). Consumes nu and the pairs. */
export function pairNll(nu: MLPTree, pairs: Tree, useActions = true): Arr {
  const { obs, mask, label } = pairs as Pairs;
  let { act } = pairs as Pairs;
  const [n, , L, d] = obs.shape;
  const nA = act.shape[3];
  if (!useActions) act = np.zerosLike(act);
  const feat = np.concatenate([obs, act], -1).reshape([n * 2 * L, d + nA]);
  const r = mlpApply(nu, feat).reshape([n, 2, L]);
  const R = r.mul(mask).sum(-1); // [n, 2]
  const delta = R.mul(array([1, -1]).reshape([1, 2])).sum(-1); // R1 - R2
  return softplus(delta.ref).sub(label.mul(delta));
}

/** Per-pair sum over both segments of log pi_theta(a_t | s_t), shape [n]. Consumes theta and the pairs. */
export function pairLogProb(theta: MLPTree, pairs: Tree): Arr {
  const { obs, act, mask, label } = pairs as Pairs;
  mask.dispose();
  label.dispose();
  const [n, , L, d] = obs.shape;
  const nA = act.shape[3];
  const logp = jax.nn.logSoftmax(mlpApply(theta, obs.reshape([n * 2 * L, d])), -1);
  return logp.mul(act.reshape([n * 2 * L, nA])).sum(-1).reshape([n, 2 * L]).sum(-1); // padding rows have act = 0
}
