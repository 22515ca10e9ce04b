/** The reward sensitivity of a REINFORCE step (the lower level's Jacobian in the PARL control tasks). */
import { array, jax, toFloat64, type Arr } from "../engine/index.js";
import { mlpApply, type HostMLP } from "./mlp.js";
import { padEpisodes, scaledAdvantages } from "./reinforce.js";
import type { RewardModel } from "./reward-model.js";
import type { Episode } from "./rollout.js";

/**
 * The reward sensitivity of one policy-gradient step, transposed: for a batch of episodes, a theta-space
 * direction v and the reward parameters nu,
 *   grad_nu [ (1/E) sum_{i,t} (grad_theta log pi_theta(a_it | s_it) . v) A_it(nu) ]
 * with A = (G - b) / sd (returns-to-go of r_nu minus the time-indexed mean baseline; sd of the advantages
 * at the current nu, held fixed). `model` must hold nu on the host (for sd). Consumes theta, nu.
 */
export function rewardSensitivityT(policyNet: HostMLP, model: RewardModel, T: number, gamma: number) {
  const d = model.obsScale.length;
  const nA = model.nActions;
  const rowDeriv = jax.jit((theta: Arr, v: Arr, X: Arr, A: Arr) => {
    const f = (th: Arr) => jax.nn.logSoftmax(mlpApply(policyNet.unflat(th), X.ref), -1).mul(A.ref).sum(-1);
    const [out, tan] = jax.jvp(f, [theta], [v]) as unknown as [Arr, Arr];
    out.dispose();
    X.dispose();
    A.dispose();
    return tan;
  });
  const rewardVjp = jax.jit(jax.grad((nu: Arr, F: Arr, C: Arr) => mlpApply(model.net.unflat(nu), F).reshape([-1]).mul(C).sum()));
  return async (batch: Episode[], theta: Arr, nu: Arr, v: Float64Array): Promise<Arr> => {
    const E = batch.length;
    const b = padEpisodes(batch, T, model.obsScale, nA);
    const dRow = await toFloat64(rowDeriv(theta, array(v), array(b.X, [b.N, d]), array(b.A, [b.N, nA])) as Arr);
    const { sd } = scaledAdvantages(model.episodeRewards(batch), gamma);
    // centred jvp values (the baseline's share) and their forward discounted sums
    const mean = new Float64Array(T);
    const alive = new Float64Array(T);
    batch.forEach((ep, i) => ep.actions.forEach((_, t) => ((mean[t] += dRow[i * T + t]), alive[t]++)));
    const C = new Float64Array(b.N);
    const F = new Float64Array(b.N * (d + nA));
    batch.forEach((ep, i) => {
      let acc = 0;
      ep.actions.forEach((a, t) => {
        acc = gamma * acc + (dRow[i * T + t] - mean[t] / alive[t]);
        C[i * T + t] = acc / sd / E;
        F.set(model.features(ep.obs[t], a), (i * T + t) * (d + nA));
      });
    });
    return rewardVjp(nu, array(F, [b.N, d + nA]), array(C)) as Arr;
  };
}
