/** Every registered task, by name: the CLI, benchmarks and tests enumerate this. */
import { BilevelInputError } from "../errors.js";
import type { Options, TaskSpec } from "../problem.js";
import { toyLLSTask } from "./toy-lls.js";
import { toySCTask } from "./toy-sc.js";
import { toyConstrainedTask } from "./toy-constrained.js";
import { toyUFOTask } from "./toy-ufo.js";
import { toyQuadraticTask } from "./toy-quadratic.js";
import { hypercleanFashionTask, hypercleanMnistTask } from "./hyperclean.js";
import { hpoL2ImdbTask } from "./hpo-l2-imdb.js";
import { hypercleanImdbRnnTask } from "./hyperclean-imdb-rnn.js";
import { svmHpoTask } from "./svm-hpo.js";
import { fewshotSinusoidTask } from "./fewshot-sinusoid.js";
import { fewshotDigitsTask } from "./fewshot-digits.js";
import { hyperrepDigitsTask } from "./hyperrep-digits.js";
import { parlAcrobotTask } from "./parl-acrobot.js";
import { parlCartpoleTask } from "./parl-cartpole.js";
import { parlGridworldTask } from "./parl.js";
import { parlMujocoCartpoleSwingupTask } from "./parl-mujoco-cartpole-swingup.js";
import { parlMujocoCheetahRunTask } from "./parl-mujoco-cheetah-run.js";

export const tasks: TaskSpec<any>[] = [
  toyLLSTask,
  toySCTask,
  toyConstrainedTask,
  toyUFOTask,
  toyQuadraticTask,
  hypercleanMnistTask,
  hypercleanFashionTask,
  fewshotSinusoidTask,
  fewshotDigitsTask,
  hyperrepDigitsTask,
  hpoL2ImdbTask,
  hypercleanImdbRnnTask,
  svmHpoTask,
  parlGridworldTask,
  parlCartpoleTask,
  parlAcrobotTask,
  parlMujocoCartpoleSwingupTask,
  parlMujocoCheetahRunTask,
];

export function getTask(name: string): TaskSpec<Options> {
  const t = tasks.find((v) => v.name === name);
  if (!t) throw new BilevelInputError(`task: unknown task '${name}' (known: ${tasks.map((v) => v.name).join(", ")})`);
  return t;
}
