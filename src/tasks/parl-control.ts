/**
 * PARL on classic control (Chakraborty et al. 2023, arXiv 2308.02585): the problem builder behind
 * `parl-cartpole` (CartPole-v0, 200 steps) and `parl-acrobot` (Acrobot-v1, 500 steps), implementing the
 * PreferenceProblem contract (src/rl/preference-problem.ts).
 *
 *   x = nu     reward model r_nu(s, a) = MLP([s * obsScale, onehot(a)]) (src/rl/reward-model.ts)
 *   y = theta  softmax policy pi_theta(a | s) = softmax(MLP(s * obsScale)) (src/rl/softmax-policy.ts)
 *   lower      theta_star(nu): `pgUpdates` REINFORCE updates on r_nu per improvePolicy call (src/rl/reinforce.ts)
 *   upper      Bradley–Terry NLL of the oracle's labels on segment pairs from pi_theta (src/rl/segment-pairs.ts)
 *
 * thetaJacobianT (approximate): the K Adam steps of the last improvePolicy call as gradient steps with the
 * scalar step P_k = lr / (sqrt(mean_i v_hat_i) + eps), dependence through earlier steps dropped:
 *   d theta_star / d nu ~ sum_k P_k d g_hat_k / d nu   (src/rl/reward-sensitivity.ts)
 * Oracle: the hidden true reward (CartPole +1 per step; Acrobot -1 per step until the goal); every
 * labelled pair is one query. Defaults: small tanh MLPs sized for 2 cores; Gym's solved thresholds (195,
 * -100). Metrics, the held-out set and the measured tuning: docs/tasks/parl.md.
 */
import { int, num, positive } from "../options.js";
import { array, jax, mulberry32, np, toFloat64, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { Acrobot } from "../rl/acrobot.js";
import { CartPole } from "../rl/cartpole.js";
import type { Env } from "../rl/env.js";
import { mlpApply, type MLPTree } from "../rl/mlp.js";
import { PolicyGradient } from "../rl/reinforce.js";
import { RewardModel } from "../rl/reward-model.js";
import { rewardSensitivityT } from "../rl/reward-sensitivity.js";
import { rollout, type Episode } from "../rl/rollout.js";
import { makePairs, pairLogProb, pairNll, pairsTree, type Pairs } from "../rl/segment-pairs.js";
import { seedOf } from "../rl/seed.js";
import { SoftmaxPolicy } from "../rl/softmax-policy.js";
import type { PreferenceHooks, PreferenceProblem } from "../rl/preference-problem.js";

interface ControlEnv {
  make(): Env;
  obsScale: number[];
  solvedThreshold: number;
  optimalReturn?: number;
  /** REINFORCE updates on the true reward after which the held-out set's policy snapshots are taken. */
  heldOutSnapshots: number[];
  heldOutLr: number;
}

const CONTROL: Record<string, ControlEnv> = {
  cartpole: { make: () => new CartPole(200), obsScale: [1 / 2.4, 1 / 2, 1 / 0.2, 1 / 2], solvedThreshold: 195, optimalReturn: 200, heldOutSnapshots: [0, 5, 10, 20], heldOutLr: 0.02 },
  acrobot: { make: () => new Acrobot(500), obsScale: [1, 1, 1, 1, 1 / 4, 1 / 9], solvedThreshold: -100, heldOutSnapshots: [0, 10, 20, 30], heldOutLr: 0.03 },
};

export type ParlControlOptions = {
  hidden: number;
  rewardHidden: number;
  pgUpdates: number;
  pgEpisodes: number;
  pgLr: number;
  gamma: number;
  segment: number;
  beta: number;
  noise: number;
  equalTies: boolean;
  stateReward: boolean;
  evalEpisodes: number;
  heldOutPairs: number;
};

export const PARL_CONTROL_DEFAULTS: ParlControlOptions = {
  hidden: 16,
  rewardHidden: 16,
  pgUpdates: 5,
  pgEpisodes: 10,
  pgLr: 0.02,
  gamma: 0.99,
  segment: 0,
  beta: 1,
  noise: 0,
  equalTies: true,
  stateReward: false,
  evalEpisodes: 100,
  heldOutPairs: 100,
};

/** Types and ranges of the PARL control options (also checked by `parlControl`). */
export const PARL_CONTROL_SPEC = { hidden: int(1), rewardHidden: int(1), pgUpdates: int(1), pgEpisodes: int(1), pgLr: positive(), gamma: num(0, 1, { minOpen: true }), segment: int(0), beta: positive(), noise: num(0, 0.5), evalEpisodes: int(1), heldOutPairs: int(1) };

export const PARL_CONTROL_HELP: Record<keyof ParlControlOptions, string> = {
  hidden: "policy MLP hidden units (one tanh layer)",
  rewardHidden: "reward-model MLP hidden units (one tanh layer)",
  pgUpdates: "REINFORCE updates per improvePolicy call (the lower level's K)",
  pgEpisodes: "episodes per REINFORCE update",
  pgLr: "Adam step size of the policy",
  gamma: "discount of the policy-gradient returns-to-go",
  segment: "segment length of a queried pair (0 = whole episodes, padded to the time limit)",
  beta: "Bradley-Terry rationality of the oracle: P(1 over 2) = sigmoid(beta (R1 - R2)) on true returns",
  noise: "probability that the oracle's label is flipped",
  stateReward: "state-only reward model r_nu(s) (the action one-hot input is zeroed)",
  equalTies: "label pairs with equal true returns 0.5 (B-Pref's 'equal' teacher) instead of a coin flip",
  evalEpisodes: "fixed-seed episodes behind trueReturn",
  heldOutPairs: "pairs in the fixed held-out set (reported NLL and prefAccuracy; not queries)",
};

/**
 * Let the event loop turn: awaits that resolve as microtasks never let V8 drop WeakRef targets, so long
 * host/jax loops grow the heap without it (shared/ENGINE-NOTES.md, Memory).
 */
const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Held-out episodes (evaluation only): `n` episodes spread over snapshots of a REINFORCE run on the TRUE
 * reward (taken after spec.heldOutSnapshots updates), shuffled, so held-out pairs compare policies of
 * different quality and cover the states good policies visit.
 */
async function heldOutEpisodes(env: Env, spec: ControlEnv, policy: SoftmaxPolicy, n: number, seed: number): Promise<Episode[]> {
  const pg = new PolicyGradient(env, policy, { episodes: 10, lr: spec.heldOutLr });
  const snaps = spec.heldOutSnapshots;
  const eps: Episode[] = [];
  let done = 0;
  for (let s = 0; s < snaps.length; s++) {
    while (done < snaps[s]) await pg.update(seedOf(seed, 1, done++));
    const m = Math.floor(((s + 1) * n) / snaps.length) - Math.floor((s * n) / snaps.length);
    eps.push(...rollout(env, policy, m, seedOf(seed, 2, s)));
  }
  pg.dispose();
  const rand = mulberry32(seedOf(seed, 3));
  for (let i = eps.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [eps[i], eps[j]] = [eps[j], eps[i]];
  }
  return eps;
}

/** Build a PARL control problem on environment `envName` ("cartpole" or "acrobot"). */
export async function parlControl(envName: string, o: ParlControlOptions, taskSeed: number): Promise<PreferenceProblem<Arr, Arr>> {
  const spec = CONTROL[envName];
  if (!spec) throw new BilevelInputError(`env: expected one of ${Object.keys(CONTROL).join(", ")}, got '${envName}'`);
  const posInt = (k: keyof ParlControlOptions, min = 1) => {
    if (!Number.isInteger(o[k]) || (o[k] as number) < min) throw new BilevelInputError(`${k}: expected an integer >= ${min}, got ${o[k]}`);
  };
  (["hidden", "rewardHidden", "pgUpdates", "pgEpisodes", "evalEpisodes", "heldOutPairs"] as const).forEach((k) => posInt(k));
  posInt("segment", 0);
  if (!(o.pgLr > 0)) throw new BilevelInputError(`pgLr: expected a positive number, got ${o.pgLr}`);
  if (!(o.gamma > 0 && o.gamma <= 1)) throw new BilevelInputError(`gamma: expected a number in (0, 1], got ${o.gamma}`);
  if (!(o.beta > 0)) throw new BilevelInputError(`beta: expected a positive number, got ${o.beta}`);
  if (!(o.noise >= 0 && o.noise <= 0.5)) throw new BilevelInputError(`noise: expected a probability in [0, 0.5], got ${o.noise}`);

  const env = spec.make();
  if (o.segment > env.maxSteps) throw new BilevelInputError(`segment: expected at most the time limit ${env.maxSteps}, got ${o.segment}`);
  const d = spec.obsScale.length;
  const nA = env.actionSpace.n;
  const scale = spec.obsScale;
  const newPolicy = (seed: number) => SoftmaxPolicy.create(d, nA, [o.hidden], scale, seed);
  const newReward = (seed: number) => RewardModel.create(d, nA, [o.rewardHidden], scale, seed, !o.stateReward);

  // the learner's host copies (parameters are copied in from the pytrees on every hook call)
  const policy = newPolicy(0);
  const model = newReward(0);
  const pg = new PolicyGradient(env, policy, { episodes: o.pgEpisodes, lr: o.pgLr, gamma: o.gamma });
  let queries = 0;
  // the last improvePolicy call's updates: batch, the iterate it was taken at, Adam's step scale
  let lastSteps: { batch: Episode[]; theta: Float64Array; step: number }[] = [];

  // fixed held-out pairs: whole episodes of the task seed's initial policy, noiseless labels
  const heldRand = mulberry32(seedOf(taskSeed, 77));
  const heldEps = await heldOutEpisodes(env, spec, newPolicy(seedOf(taskSeed, 1)), 2 * o.heldOutPairs, seedOf(taskSeed, 78));
  const held = makePairs(heldEps, env.maxSteps, o, scale, nA, heldRand, false);
  const heldTree = pairsTree(held, d, nA) as Pairs;
  // held-out states with every action, for the `lower` proxy
  const states = heldEps.flatMap((e) => e.obs).filter((_, i) => i % 4 === 0);
  const M = states.length;
  const Xs = array(Float64Array.from(states.flatMap((s) => s.map((v, k) => v * scale[k]))), [M, d]);
  const Fall = array(Float64Array.from(states.flatMap((s) => Array.from({ length: nA }, (_, a) => model.features(s, a)).flat())), [M * nA, d + nA]);

  const loadPolicy = async (theta: Arr) => policy.net.theta.set(await toFloat64(theta));
  const loadReward = async (nu: Arr) => model.net.theta.set(await toFloat64(nu));
  const P_ = (theta: Arr): MLPTree => policy.net.unflat(theta);
  const R_ = (nu: Arr): MLPTree => model.net.unflat(nu);

  const jacT = rewardSensitivityT(policy.net, model, env.maxSteps, o.gamma);

  const hooks: PreferenceHooks<Arr, Arr> = {
    async improvePolicy(nu, theta, seed, k) {
      await loadReward(nu);
      await loadPolicy(theta);
      lastSteps = [];
      for (let u = 0; u < o.pgUpdates; u++) {
        const at = Float64Array.from(policy.net.theta);
        const batch = await pg.update(seedOf(seed, k, u, 1), (eps) => model.episodeRewards(eps));
        lastSteps.push({ batch, theta: at, step: pg.adam.stepScale() });
        await yieldToEventLoop();
      }
      return policy.net.flatArray();
    },

    async queryPairs(theta, n, seed, k) {
      if (!Number.isInteger(n) || n < 1) throw new BilevelInputError(`queryPairs: expected a positive integer n, got ${n}`);
      await loadPolicy(theta);
      const eps = rollout(env, policy, 2 * n, seedOf(seed, k, 2));
      const p = makePairs(eps, env.maxSteps, o, scale, nA, mulberry32(seedOf(seed, k, 3)), true);
      queries += n;
      return pairsTree(p, d, nA);
    },

    pairNll: (nu, pairs) => pairNll(R_(nu), pairs, !o.stateReward),
    pairLogProb: (theta, pairs) => pairLogProb(P_(theta), pairs),

    async thetaJacobianT(nu, theta, g) {
      theta.dispose(); // the Jacobian is taken at the lower level's own iterates theta_k
      if (lastSteps.length === 0) {
        // no policy update yet: theta does not depend on nu
        g.dispose();
        return np.zerosLike(nu);
      }
      await loadReward(nu.ref);
      const gFlat = await toFloat64(g);
      let out: Arr | null = null;
      for (const s of lastSteps) {
        const term = await jacT(s.batch, array(s.theta), nu.ref, gFlat.map((gi) => s.step * gi));
        out = out === null ? term : out.add(term);
      }
      nu.dispose();
      return out!;
    },

    queries: () => queries,
  };

  return {
    name: `parl-${envName}`,
    preference: hooks,
    init(seed: number) {
      queries = 0;
      lastSteps = [];
      pg.resetOptimizer();
      return { x: newReward(seedOf(seed, 11)).net.flatArray(), y: newPolicy(seedOf(seed, 12)).net.flatArray() };
    },
    upper(nu, theta) {
      theta.dispose();
      const h = heldTree;
      return pairNll(R_(nu), { obs: h.obs.ref, act: h.act.ref, mask: h.mask.ref, label: h.label.ref }, !o.stateReward).mean();
    },
    lower(nu, theta) {
      const pi = np.exp(jax.nn.logSoftmax(mlpApply(P_(theta), Xs.ref), -1));
      const r = mlpApply(R_(nu), Fall.ref).reshape([M, nA]);
      return pi.mul(r).sum(-1).mean().neg();
    },
    async evaluate(nu, theta) {
      await loadReward(nu);
      await loadPolicy(theta);
      const evalSeed = seedOf(taskSeed, 99);
      const sampled = rollout(env, policy, o.evalEpisodes, evalSeed);
      const greedy = rollout(env, policy, o.evalEpisodes, evalSeed, true);
      const ret = (eps: Episode[]) => eps.reduce((s, e) => s + e.rewards.reduce((a, b) => a + b, 0), 0) / eps.length;
      const trueReturn = ret(sampled);
      let agree = 0;
      let counted = 0;
      for (let i = 0; i < held.n; i++) {
        const [r1, r2] = held.trueReturn[i];
        if (r1 === r2) continue;
        const m = held.segs[i].map(({ ep: e, start, len }) => {
          const ep = heldEps[e];
          let s = 0;
          for (let t = start; t < start + len; t++) s += model.reward(ep.obs[t], ep.actions[t]);
          return s;
        });
        counted++;
        if (m[0] > m[1] === r1 > r2) agree++;
      }
      const out: Record<string, number> = {
        trueReturn,
        greedyReturn: ret(greedy),
        queries,
        solved: trueReturn >= spec.solvedThreshold ? 1 : 0,
      };
      // no held-out pair with distinct true returns (e.g. Acrobot's initial policy rarely reaches the goal): no accuracy
      if (counted > 0) out.prefAccuracy = agree / counted;
      if (spec.optimalReturn !== undefined) {
        out.optimalReturn = spec.optimalReturn;
        out.returnRatio = trueReturn / spec.optimalReturn;
      }
      return out;
    },
    info: { env: env.name, maxSteps: env.maxSteps, policy: `MLP ${d}-${o.hidden}-${nA} tanh softmax`, reward: `MLP ${d + nA}-${o.rewardHidden}-1 tanh`, heldOutPairs: o.heldOutPairs, segment: o.segment || `whole episodes (${env.maxSteps})` },
  };
}
