/**
 * `bilevel/rl`: the reinforcement-learning system: environments, policies, learners and
 * the preference pieces behind the PARL tasks. MuJoCo environments need the optional package mujoco-js.
 */
export type { Env, StepResult, Space } from "./env.js";
export { Gridworld } from "./gridworld.js";
export { CartPole } from "./cartpole.js";
export { Acrobot } from "./acrobot.js";
export { HostMLP, mlpApply, type MLPTree } from "./mlp.js";
export { Adam } from "../optim/host-adam.js";
export { SoftmaxPolicy } from "./softmax-policy.js";
export { rollout, averageReturn, type Episode } from "./rollout.js";
export { RewardModel } from "./reward-model.js";
export { PolicyGradient, PG_DEFAULTS, advantages, type PGOptions } from "./reinforce.js";
export { ReplayBuffer, type Batch } from "./replay-buffer.js";
export { tanhGaussian, tanhGaussianHost, tanhGaussianLogProb } from "./tanh-gaussian.js";
export { SAC, SACRunner, SAC_DEFAULTS, evaluatePolicy, type SACOptions, type RewardFn } from "./sac.js";
export { RewardEnsemble } from "./reward-ensemble.js";
export { StateEntropyReward } from "./state-entropy.js";
export { teacher, teacherLabel, TEACHERS, type Teacher, type TeacherName } from "./teachers.js";
export { makeMujocoEnv, MUJOCO_ENVS, CartpoleSwingup, CheetahRun, MujocoEnv, loadMujoco, tolerance, type ContinuousEnv } from "./mujoco/index.js";
export { isPreferenceProblem, asPreferenceProblem, concatPairs, type PreferenceHooks, type PreferenceProblem } from "./preference-problem.js";
