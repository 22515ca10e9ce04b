/**
 * fewshot-sinusoid: MAML's sinusoid regression benchmark (Finn et al. 2017, Sec. 5.1; problem, defaults
 * and tuning notes: docs/tasks/fewshot-sinusoid.md). x = the initialization of an MLP 1-40-40-1 (ReLU),
 * y = its adapted copies for a meta-batch of sinusoid tasks (src/tasks/maml.ts), support and query
 * losses the per-task MSE. Metric: query MSE after adaptation on held-out tasks, against the same
 * adaptation from a random initialization. Tuned solver defaults: src/tasks/tuned.ts.
 */
import { int, positive, unrolled } from "../options.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { checkInt, checkPos } from "./args.js";
import type { Episodes } from "./episodes.js";
import { mseLoss } from "./episode-losses.js";
import { mamlProblem } from "./maml.js";
import type { Params } from "./mlp.js";
import { sinusoidEpisodes } from "./sinusoid-episodes.js";
import { tuned } from "./tuned.js";

export type SinusoidOpts = { K: number; metaBatch: number; innerSteps: number; innerLr: number; evalTasks: number };

export function fewshotSinusoid(o: SinusoidOpts, seed: number): BilevelProblem<Params, Params, Episodes> {
  const K = checkInt("K", o.K, 1);
  const B = checkInt("metaBatch", o.metaBatch, 1);
  const r = checkInt("innerSteps", o.innerSteps, 0);
  const alpha = checkPos("innerLr", o.innerLr);
  const nEval = checkInt("evalTasks", o.evalTasks, 2);
  return mamlProblem({
    name: "fewshot-sinusoid",
    sizes: [1, 40, 40, 1],
    seed,
    metaBatch: B,
    gd: { steps: r, lr: alpha },
    loss: mseLoss,
    score: mseLoss,
    episodes: (rand, n) => sinusoidEpisodes(rand, n, K),
    heldOut: (rand, n) => sinusoidEpisodes(rand, n, K),
    nEval,
    chunk: 200,
    lowerIsBetter: true,
    names: { metric: "queryMSE", baseline: "baselineQueryMSE", improvement: "mseReduction" },
    info: { model: "MLP 1-40-40-1 ReLU (PyTorch nn.Linear init)", K, metaBatch: B, innerSteps: r, innerLr: alpha, evalTasks: nEval, seed },
  });
}

export const fewshotSinusoidTask: TaskSpec<SinusoidOpts> = {
  name: "fewshot-sinusoid",
  description: "MAML sinusoid regression: meta-learn an MLP 1-40-40-1 initialization; metric query MSE after adaptation on 200 held-out tasks.",
  // MAML (Finn et al. 2017, Sec. 5.1): K = 10, one gradient step alpha = 0.01, meta-batch 25 tasks
  defaults: { K: 10, metaBatch: 25, innerSteps: 1, innerLr: 0.01, evalTasks: 200 },
  spec: { K: int(1), metaBatch: int(1), innerSteps: unrolled(1), innerLr: positive(), evalTasks: int(1) },
  help: {
    K: "support points per task (and as many query points)",
    metaBatch: "tasks per outer step",
    innerSteps: "adaptation gradient steps (training and evaluation)",
    innerLr: "adaptation step size alpha",
    evalTasks: "held-out tasks for the metric (fixed by the seed)",
  },
  steps: 2000,
  solverDefaults: tuned["fewshot-sinusoid"],
  create: async (o, seed) => fewshotSinusoid(o, seed),
};
