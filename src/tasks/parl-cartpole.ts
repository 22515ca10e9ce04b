/**
 * Task `parl-cartpole`: PARL reward learning from preferences on CartPole-v0 (Gym equations, 200 steps;
 * solved = mean true return >= 195 over 100 episodes), built by `parlControl` (src/tasks/parl-control.ts).
 * Solver defaults are the measured ones of docs/tasks/parl.md (5 pairs per step, 12 steps = 60 queries).
 */
import type { TaskSpec } from "../problem.js";
import { parlControl, PARL_CONTROL_DEFAULTS, PARL_CONTROL_HELP, PARL_CONTROL_SPEC, type ParlControlOptions } from "./parl-control.js";

export const parlCartpoleTask: TaskSpec<ParlControlOptions> = {
  name: "parl-cartpole",
  description: "PARL reward learning from preferences on CartPole-v0 (Gym equations); reward MLP (upper) and REINFORCE policy (lower); solved = true return >= 195",
  defaults: PARL_CONTROL_DEFAULTS,
  spec: PARL_CONTROL_SPEC,
  help: PARL_CONTROL_HELP,
  steps: 12,
  solverDefaults: {
    aparl: { scoreWeight: 0.03, steps: 12 },
    pebble: { steps: 12 },
  },
  create: (o, seed) => parlControl("cartpole", o, seed),
};
