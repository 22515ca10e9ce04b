/**
 * Task `parl-acrobot`: PARL reward learning from preferences on Acrobot-v1 (Gym equations, 500 steps;
 * solved = mean true return >= -100), built by `parlControl` (src/tasks/parl-control.ts), with a
 * state-only reward model r_nu(s) (why, and the measured solver defaults: docs/tasks/parl.md).
 */
import type { TaskSpec } from "../problem.js";
import { parlControl, PARL_CONTROL_DEFAULTS, PARL_CONTROL_HELP, PARL_CONTROL_SPEC, type ParlControlOptions } from "./parl-control.js";

export const parlAcrobotTask: TaskSpec<ParlControlOptions> = {
  name: "parl-acrobot",
  description: "PARL reward learning from preferences on Acrobot-v1 (Gym equations); reward MLP (upper) and REINFORCE policy (lower); solved = true return >= -100",
  defaults: { ...PARL_CONTROL_DEFAULTS, pgLr: 0.03, evalEpisodes: 50, stateReward: true },
  spec: PARL_CONTROL_SPEC,
  help: PARL_CONTROL_HELP,
  steps: 12,
  solverDefaults: {
    aparl: { scoreWeight: 0.1, steps: 12 },
    pebble: { steps: 12 },
  },
  create: (o, seed) => parlControl("acrobot", o, seed),
};
