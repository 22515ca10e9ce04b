/**
 * Task `parl-mujoco-cartpole-swingup`: PARL / PEBBLE reward learning from preferences on the DeepMind Control Suite's
 * cartpole-swingup (MuJoCo wasm; src/rl/mujoco/), built by `parlMujoco` (src/tasks/parl-mujoco.ts). Solver defaults:
 * PEBBLE's reward learner (Adam lr 3e-4); queries per round and the score weight: docs/tasks/parl-mujoco.md.
 */
import { parlMujocoTask } from "./parl-mujoco.js";

export const parlMujocoCartpoleSwingupTask = parlMujocoTask("cartpole-swingup");
