/** MuJoCo environments (DeepMind Control Suite tasks) by name. */
import { BilevelInputError } from "../../errors.js";
import { CartpoleSwingup } from "./cartpole-swingup.js";
import { CheetahRun } from "./cheetah-run.js";
import type { ContinuousEnv } from "./env.js";
import { loadMujoco } from "./loader.js";

export { CartpoleSwingup, cartpoleXML } from "./cartpole-swingup.js";
export { CheetahRun, cheetahXML } from "./cheetah-run.js";
export { MujocoEnv, type ContinuousEnv } from "./env.js";
export { loadMujoco } from "./loader.js";
export { tolerance } from "./tolerance.js";

export const MUJOCO_ENVS = ["cartpole-swingup", "cheetah-run"] as const;
export type MujocoEnvName = (typeof MUJOCO_ENVS)[number];

/** A fresh environment `name` (the caller disposes it); `maxSteps` control steps per episode (default 1000), `actionRepeat` physics steps per control step (default 1). */
export async function makeMujocoEnv(name: string, opts: { maxSteps?: number; actionRepeat?: number } = {}): Promise<ContinuousEnv> {
  const mj = await loadMujoco();
  if (name === "cartpole-swingup") return new CartpoleSwingup(mj, opts);
  if (name === "cheetah-run") return new CheetahRun(mj, opts);
  throw new BilevelInputError(`env: expected one of ${MUJOCO_ENVS.join(", ")}, got '${name}'`);
}
