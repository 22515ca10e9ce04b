/**
 * Task `parl-mujoco-cartpole-swingup`: PARL / PEBBLE reward learning from preferences on the DeepMind Control Suite's
 * cartpole-swingup (MuJoCo wasm; src/rl/mujoco/), built by `parlMujoco` (src/tasks/parl-mujoco.ts). Solver defaults:
 * PEBBLE's reward learner (Adam lr 3e-4); queries per round and the score weight: docs/tasks/parl-mujoco.md.
 */
import type { TaskSpec } from "../problem.js";
import { parlMujoco, PARL_MUJOCO_DEFAULTS, PARL_MUJOCO_HELP, PARL_MUJOCO_SPEC, type ParlMujocoOptions } from "./parl-mujoco.js";

export const parlMujocoCartpoleSwingupTask: TaskSpec<ParlMujocoOptions> = {
  name: "parl-mujoco-cartpole-swingup",
  description: "PARL / PEBBLE reward learning from preferences on dm_control cartpole-swingup (MuJoCo); reward ensemble (upper) and SAC (lower); smoke=true runs in seconds",
  defaults: PARL_MUJOCO_DEFAULTS,
  spec: PARL_MUJOCO_SPEC,
  help: PARL_MUJOCO_HELP,
  steps: 10,
  solverDefaults: {
    aparl: { pairs: 20, rewardSteps: 50, lr: 3e-4, scoreWeight: 0.01, steps: 10 },
    pebble: { pairs: 20, rewardSteps: 50, lr: 3e-4, steps: 10 },
  },
  create: (o, seed) => parlMujoco("cartpole-swingup", o, seed),
};
