/**
 * PEBBLE — Lee, Smith, Abbeel (2021), "PEBBLE: Feedback-Efficient Interactive Reinforcement Learning via
 * Relabeling Experience and Unsupervised Pre-training", ICML.
 *
 * The baseline PARL compares against: reward learning and policy optimization alternate, and the reward
 * step ignores that the preference data is drawn from the current policy. Per outer step k:
 *
 *   1. pairs_k = the problem's query (`pairs` queries); replay buffer D = D u pairs_k
 *   2. `rewardSteps` Adam steps (lr) on mean_{D} l(nu) + l2/2 |nu|^2 (Bradley-Terry NLL), fewer once
 *      `accuracy` of D is reached (B-Pref: 0.97)
 *   3. theta_{k+1} = improvePolicy(nu_{k+1}, theta_k)
 *
 * i.e. `aparl` with scoreWeight = 0 (same loop, src/solvers/aparl.ts). The rest of PEBBLE lives in the
 * problem's hooks: on the MuJoCo tasks (src/tasks/parl-mujoco.ts) unsupervised pre-training with critic
 * reset, the reward ensemble, uniform / disagreement / entropy query selection, relabelled SAC and
 * B-Pref's teachers; on the gridworld and classic-control tasks the lower level is the problem's own
 * (soft value iteration, REINFORCE) and pairs are fresh on-policy rollouts. Defaults as aparl's: pairs 5,
 * rewardSteps 20, lr 0.05 (Adam), l2 0; tasks tune them in `solverDefaults` (MuJoCo: lr 3e-4, PEBBLE's).
 */
import { int, num, positive, unrolled } from "../options.js";
import type { SolverSpec } from "../problem.js";
import { createParl, parlHelp, parlOptimizer, type ParlOptions } from "./aparl.js";

type PebbleOptions = Omit<ParlOptions, "scoreWeight">;

export const pebbleDefaults: PebbleOptions = { pairs: 5, rewardSteps: 20, lr: 0.05, l2: 0, accuracy: 0, ...parlOptimizer.defaults };

export const pebble: SolverSpec<PebbleOptions> = {
  name: "pebble",
  reference: "Lee, Smith, Abbeel (2021). PEBBLE: Feedback-Efficient Interactive Reinforcement Learning via Relabeling Experience and Unsupervised Pre-training. ICML.",
  summary: "Preference-based reward design baseline: alternate reward learning (BT NLL on replay) and policy optimization.",
  defaults: pebbleDefaults,
  help: { pairs: parlHelp.pairs, rewardSteps: parlHelp.rewardSteps, lr: parlHelp.lr, l2: parlHelp.l2, accuracy: parlHelp.accuracy, ...parlOptimizer.help },
  spec: { pairs: int(1), rewardSteps: unrolled(), lr: positive(), l2: num(0), accuracy: num(0, 1), ...parlOptimizer.spec },
  capabilities: { secondOrder: false, nonSingleton: false, constraints: false, stochastic: false, preference: true },
  create: (p, o) => createParl(p, { ...o, scoreWeight: 0 } as ParlOptions, "pebble"),
};
