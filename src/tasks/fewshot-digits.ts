/**
 * fewshot-digits: MAML N-way K-shot classification (Finn et al. 2017, Sec. 5.2 setting; problem,
 * defaults and tuning notes: docs/tasks/fewshot-digits.md) on digit episodes (src/tasks/digit-episodes.ts):
 * x = the initialization of an MLP 784-256-128-N (ReLU), y = its adapted copies for a meta-batch of
 * episodes (src/tasks/maml.ts), support and query losses the cross-entropy. Metric: held-out query
 * accuracy on meta-test episodes (MNIST 5-9), against the same adaptation from a random initialization.
 * Tuned solver defaults: src/tasks/tuned.ts.
 */
import { int, positive, unrolled } from "../options.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { checkInt, checkPos } from "./args.js";
import { checkDigits, D, digitEpisodes, digitPools, digitsHelp, type DigitsOpts } from "./digit-episodes.js";
import type { Episodes } from "./episodes.js";
import { accuracy, ceLoss } from "./episode-losses.js";
import { mamlProblem } from "./maml.js";
import type { Params } from "./mlp.js";
import { tuned } from "./tuned.js";

export type FewshotDigitsOpts = DigitsOpts & { innerSteps: number; innerLr: number };

export function fewshotDigits(o: FewshotDigitsOpts, seed: number): BilevelProblem<Params, Params, Episodes> {
  checkDigits(o);
  const r = checkInt("innerSteps", o.innerSteps, 0);
  const alpha = checkPos("innerLr", o.innerLr);
  const { ways: N, shots, queries, metaBatch: B } = o;
  const pools = digitPools(o);
  const sizes = [D, 256, 128, N];
  return mamlProblem({
    name: "fewshot-digits",
    sizes,
    seed,
    metaBatch: B,
    gd: { steps: r, lr: alpha },
    loss: ceLoss,
    score: accuracy,
    episodes: (rand, n) => digitEpisodes(rand, pools.train, n, N, shots, queries),
    heldOut: (rand, n) => digitEpisodes(rand, pools.test, n, N, shots, queries),
    nEval: o.evalEpisodes,
    chunk: 25,
    lowerIsBetter: false,
    names: { metric: "testAccuracy", baseline: "baselineAccuracy", improvement: "accuracyGain" },
    info: { model: `MLP ${sizes.join("-")} ReLU (PyTorch nn.Linear init)`, ways: N, shots, queries, metaBatch: B, innerSteps: r, innerLr: alpha, evalEpisodes: o.evalEpisodes, seed, ...pools.info },
  });
}

export const fewshotDigitsTask: TaskSpec<FewshotDigitsOpts> = {
  name: "fewshot-digits",
  description: "MAML 5-way K-shot: meta-train on Fashion-MNIST + MNIST 0-4, meta-test on MNIST 5-9 (MLP 784-256-128-5); metric accuracy on 500 episodes.",
  // MAML's Omniglot setting (Finn et al. 2017, Sec. 5.2): one inner step alpha = 0.4; meta-batch 32 there, 8 here (wasm time)
  defaults: { ways: 5, shots: 1, queries: 15, metaBatch: 8, evalEpisodes: 500, innerSteps: 1, innerLr: 0.4, dataDir: "", fashionDir: "" },
  spec: { ways: int(1, 5), shots: int(1), queries: int(1), metaBatch: int(1), evalEpisodes: int(1), innerSteps: unrolled(1), innerLr: positive() },
  help: { ...digitsHelp, innerSteps: "adaptation gradient steps (training and evaluation)", innerLr: "adaptation step size alpha" },
  steps: 300,
  solverDefaults: tuned["fewshot-digits"],
  create: async (o, seed) => fewshotDigits(o, seed),
};
