/**
 * The squashed Gaussian policy of SAC (Haarnoja et al. 2018, Appendix C): an MLP gives the mean mu and a
 * raw log-std per action dimension; log sigma = lo + (hi - lo) (tanh(raw) + 1) / 2 with [lo, hi] = [-5, 2]
 * (pytorch_sac, PEBBLE's base); u = mu + sigma eps, eps ~ N(0, I); a = tanh(u) in (-1, 1), and
 *   log pi(a | s) = sum_i [ log N(u_i; mu_i, sigma_i) - log(1 - tanh(u_i)^2) ],
 *   log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2 u))        (stable form).
 * `tanhGaussianHost` acts on the host (one observation); `tanhGaussian` is the jax-js batch version.
 */
import { np, type Arr } from "../engine/index.js";
import { mlpApply, type HostMLP, type MLPTree } from "./mlp.js";

export const LOG_STD_MIN = -5;
export const LOG_STD_MAX = 2;
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

const softplusHost = (z: number): number => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
/** softplus(z) = log(1 + e^z), stable (no sigmoid in its gradient). Consumes z. */
export const softplus = (z: Arr): Arr => np.maximum(z.ref, 0).add(np.log1p(np.exp(np.abs(z).neg())));

/** An action and its log-probability for one observation; `eps` = null gives the mean action tanh(mu). */
export function tanhGaussianHost(net: HostMLP, obs: ArrayLike<number>, eps: ArrayLike<number> | null): { action: number[]; logProb: number } {
  const out = net.forward(obs);
  const k = out.length / 2;
  const action: number[] = [];
  let logProb = 0;
  for (let i = 0; i < k; i++) {
    const logStd = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (Math.tanh(out[k + i]) + 1);
    const e = eps ? eps[i] : 0;
    const u = out[i] + Math.exp(logStd) * e;
    action.push(Math.tanh(u));
    logProb += -0.5 * e * e - logStd - HALF_LOG_2PI - 2 * (Math.LN2 - u - softplusHost(-2 * u));
  }
  return { action, logProb };
}

/** Actions [B, k] and log-probabilities [B] for observations O [B, d] and noise E [B, k]. Consumes all. */
export function tanhGaussian(p: MLPTree, O: Arr, E: Arr, k: number): { a: Arr; logp: Arr } {
  const out = mlpApply(p, O);
  const mu = out.ref.slice([], [0, k]);
  const logStd = np.tanh(out.slice([], [k, 2 * k])).add(1).mul(0.5 * (LOG_STD_MAX - LOG_STD_MIN)).add(LOG_STD_MIN);
  const u = mu.add(np.exp(logStd.ref).mul(E.ref));
  const logN = E.ref.mul(E).mul(-0.5).sub(logStd).sub(HALF_LOG_2PI).sum(-1);
  const logJac = softplus(u.ref.mul(-2)).add(u.ref).neg().add(Math.LN2).mul(2).sum(-1);
  return { a: np.tanh(u), logp: logN.sub(logJac) };
}

/** log pi(a | s) of given actions A [B, k] in (-1, 1) (inverting the squashing). Consumes p, O, A. */
export function tanhGaussianLogProb(p: MLPTree, O: Arr, A: Arr, k: number): Arr {
  const out = mlpApply(p, O);
  const mu = out.ref.slice([], [0, k]);
  const logStd = np.tanh(out.slice([], [k, 2 * k])).add(1).mul(0.5 * (LOG_STD_MAX - LOG_STD_MIN)).add(LOG_STD_MIN);
  const Ac = np.clip(A, -1 + 1e-6, 1 - 1e-6);
  const u = np.log1p(Ac.ref).sub(np.log1p(Ac.neg())).mul(0.5); // atanh
  const z = u.ref.sub(mu).mul(np.exp(logStd.ref.neg()));
  const logN = z.ref.mul(z).mul(-0.5).sub(logStd).sub(HALF_LOG_2PI).sum(-1);
  const logJac = softplus(u.ref.mul(-2)).add(u).neg().add(Math.LN2).mul(2).sum(-1);
  return logN.sub(logJac);
}
