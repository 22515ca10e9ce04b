/** Episodes of a softmax policy in a discrete-action environment, determined by one seed. */
import { mulberry32 } from "../engine/index.js";
import type { Env } from "./env.js";
import type { SoftmaxPolicy } from "./softmax-policy.js";

/** One episode: observations s_0..s_{T-1} (the state each action was taken in), actions, true rewards. */
export interface Episode {
  obs: number[][];
  actions: number[];
  /** The hidden true rewards (only the oracle and the evaluation may read them). */
  rewards: number[];
  terminated: boolean;
  /** The seed the environment was reset with. */
  seed: number;
}

/** `n` episodes of `policy` in `env`; everything (resets and action draws) is determined by `seed`. */
export function rollout(env: Env, policy: SoftmaxPolicy, n: number, seed: number, greedy = false): Episode[] {
  const rand = mulberry32(seed);
  const out: Episode[] = [];
  for (let e = 0; e < n; e++) {
    const envSeed = Math.floor(rand() * 2 ** 31);
    let obs = env.reset(envSeed);
    const ep: Episode = { obs: [], actions: [], rewards: [], terminated: false, seed: envSeed };
    for (let t = 0; t < env.maxSteps; t++) {
      const a = policy.act(obs, rand, greedy);
      const r = env.step(a);
      ep.obs.push(obs);
      ep.actions.push(a);
      ep.rewards.push(r.reward);
      obs = r.obs;
      if (r.terminated || r.truncated) {
        ep.terminated = r.terminated;
        break;
      }
    }
    out.push(ep);
  }
  return out;
}

/** Mean true return of `episodes` episodes (greedy or sampled actions). */
export function averageReturn(env: Env, policy: SoftmaxPolicy, episodes: number, seed: number, greedy = false): number {
  const eps = rollout(env, policy, episodes, seed, greedy);
  return eps.reduce((s, e) => s + e.rewards.reduce((a, b) => a + b, 0), 0) / episodes;
}
