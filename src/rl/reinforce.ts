/**
 * REINFORCE with a time-indexed baseline (Williams 1992) for a softmax policy, on a reward given as data
 * (the true reward or a learned one). Acting runs on the host; gradients run in jax-js on whole batches of
 * episodes padded to a fixed shape [episodes * maxSteps, ...], so one jit-compiled gradient serves every
 * update; Adam runs on the host (src/rl/adam.ts).
 */
import { array, jax, np, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { Adam } from "../optim/host-adam.js";
import type { Env } from "./env.js";
import { mlpApply, type MLPTree } from "./mlp.js";
import { rollout, type Episode } from "./rollout.js";
import type { SoftmaxPolicy } from "./softmax-policy.js";

export interface PGOptions {
  /** Episodes per update. */
  episodes: number;
  /** Adam step size. */
  lr: number;
  /** Discount of the returns-to-go. */
  gamma: number;
  /** Entropy bonus weight. */
  entropy: number;
}

export const PG_DEFAULTS: PGOptions = { episodes: 10, lr: 0.01, gamma: 0.99, entropy: 0 };

/**
 * Advantages for REINFORCE: discounted returns-to-go G_t minus the time-indexed baseline b_t (the mean
 * of G_t over the batch's episodes still running at t), divided by the standard deviation over all steps.
 */
export function advantages(rewards: number[][], gamma: number): number[][] {
  return scaledAdvantages(rewards, gamma).A;
}

/** `advantages` and the standard deviation `sd` they were divided by (`fixedSd` instead, when given). */
export function scaledAdvantages(rewards: number[][], gamma: number, fixedSd?: number): { A: number[][]; sd: number } {
  const G = rewards.map((r) => {
    const g = new Array<number>(r.length);
    let acc = 0;
    for (let t = r.length - 1; t >= 0; t--) g[t] = acc = r[t] + gamma * acc;
    return g;
  });
  const T = Math.max(0, ...G.map((g) => g.length));
  const sum = new Float64Array(T);
  const cnt = new Float64Array(T);
  for (const g of G) g.forEach((v, t) => ((sum[t] += v), cnt[t]++));
  const A = G.map((g) => g.map((v, t) => v - sum[t] / cnt[t]));
  let s2 = 0;
  let n = 0;
  for (const a of A) for (const v of a) (s2 += v * v), n++;
  const sd = fixedSd ?? Math.sqrt(s2 / Math.max(n, 1)) + 1e-8;
  return { A: A.map((a) => a.map((v) => v / sd)), sd };
}

/**
 * -(1/E) sum_{i,t} w_it log pi(a_it | s_it) - entropy * (1/E) sum_{i,t} m_it H(pi(. | s_it)), on padded
 * batches: X [N, obs], A [N, nA] one-hot (zero rows are padding), W [N] weights, M [N] mask. Consumes all.
 */
export function pgLoss(p: MLPTree, X: Arr, A: Arr, W: Arr, M: Arr, episodes: number, entropy: number): Arr {
  const logp = jax.nn.logSoftmax(mlpApply(p, X), -1);
  const chosen = logp.ref.mul(A).sum(-1);
  let loss = chosen.mul(W).sum().mul(-1 / episodes);
  if (entropy > 0) {
    const H = np.exp(logp.ref).mul(logp).sum(-1).neg();
    loss = loss.sub(H.mul(M).sum().mul(entropy / episodes));
  } else {
    logp.dispose();
    M.dispose();
  }
  return loss;
}

/** Padded batch arrays of `episodes` (rows t < length are real, the rest zeros). */
export function padEpisodes(episodes: Episode[], maxSteps: number, obsScale: number[], nActions: number, weights?: number[][]) {
  const d = obsScale.length;
  const N = episodes.length * maxSteps;
  const X = new Float64Array(N * d);
  const A = new Float64Array(N * nActions);
  const W = new Float64Array(N);
  const M = new Float64Array(N);
  episodes.forEach((ep, i) => {
    ep.actions.forEach((a, t) => {
      const row = i * maxSteps + t;
      for (let k = 0; k < d; k++) X[row * d + k] = ep.obs[t][k] * obsScale[k];
      A[row * nActions + a] = 1;
      M[row] = 1;
      if (weights) W[row] = weights[i][t];
    });
  });
  return { X, A, W, M, N, d };
}

/** A REINFORCE learner for one policy on one environment (one jit-compiled gradient for all updates). */
export class PolicyGradient {
  readonly opts: PGOptions;
  adam: Adam;
  private gradFn: ((p: MLPTree, X: Arr, A: Arr, W: Arr, M: Arr) => MLPTree) | null = null;

  constructor(
    readonly env: Env,
    readonly policy: SoftmaxPolicy,
    opts: Partial<PGOptions> = {},
  ) {
    this.opts = { ...PG_DEFAULTS, ...opts };
    const o = this.opts;
    if (!Number.isInteger(o.episodes) || o.episodes < 1) throw new BilevelInputError(`episodes: expected a positive integer, got ${o.episodes}`);
    if (!(o.lr > 0)) throw new BilevelInputError(`lr: expected a positive number, got ${o.lr}`);
    if (!(o.gamma > 0 && o.gamma <= 1)) throw new BilevelInputError(`gamma: expected a number in (0, 1], got ${o.gamma}`);
    this.adam = new Adam(policy.net.size, o.lr);
  }

  /**
   * The gradient of the REINFORCE loss (minus the policy-gradient estimate) for `episodes` scored by
   * `rewards`; `fixedSd` replaces the advantages' standard deviation (tests of the reward sensitivity).
   */
  async gradient(episodes: Episode[], rewards: number[][], fixedSd?: number): Promise<Float64Array> {
    const { env, policy } = this;
    if (!this.gradFn) {
      const E = this.opts.episodes;
      const ent = this.opts.entropy;
      this.gradFn = jax.jit(jax.grad((p: MLPTree, X: Arr, A: Arr, W: Arr, M: Arr) => pgLoss(p, X, A, W, M, E, ent))) as never;
    }
    if (episodes.length !== this.opts.episodes) throw new BilevelInputError(`episodes: expected a batch of ${this.opts.episodes}, got ${episodes.length}`);
    const adv = scaledAdvantages(rewards, this.opts.gamma, fixedSd).A;
    const b = padEpisodes(episodes, env.maxSteps, policy.obsScale, policy.nActions, adv);
    const g = this.gradFn!(policy.net.tree(), array(b.X, [b.N, b.d]), array(b.A, [b.N, policy.nActions]), array(b.W), array(b.M));
    return policy.net.flatten(g); // gradient of the loss (descent direction)
  }

  /** One update from fresh episodes, scored by `rewardOf` (the true rewards when omitted). */
  async update(seed: number, rewardOf?: (eps: Episode[]) => number[][]): Promise<Episode[]> {
    const eps = rollout(this.env, this.policy, this.opts.episodes, seed);
    const rewards = rewardOf ? rewardOf(eps) : eps.map((e) => e.rewards);
    const g = await this.gradient(eps, rewards);
    this.adam.step(this.policy.net.theta, g);
    return eps;
  }

  /** A fresh Adam state (new run). */
  resetOptimizer(): void {
    this.adam = new Adam(this.policy.net.size, this.opts.lr);
  }

  dispose(): void {
    (this.gradFn as unknown as { dispose?: () => void } | null)?.dispose?.();
    this.gradFn = null;
  }
}
