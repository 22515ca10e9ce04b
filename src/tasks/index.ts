/** Every registered task, by name: the CLI, benchmarks and tests enumerate this. */
import { int, num } from "../options.js";
import { BilevelInputError } from "../errors.js";
import type { Options, TaskSpec } from "../problem.js";
import { toyConstrained, toyLLS, toyQuadratic, toySC, toyUFO } from "./toys.js";
import { hypercleanFashionTask, hypercleanMnistTask } from "./hyperclean.js";
import { hpoL2ImdbTask, svmHpoTask } from "./hpo.js";
import { fewshotDigitsTask, fewshotSinusoidTask, hyperrepDigitsTask } from "./fewshot.js";
import { parlAcrobotTask } from "./parl-acrobot.js";
import { parlCartpoleTask } from "./parl-cartpole.js";
import { parlGridworldTask } from "./parl.js";
import { parlMujocoCartpoleSwingupTask } from "./parl-mujoco-cartpole-swingup.js";
import { parlMujocoCheetahRunTask } from "./parl-mujoco-cheetah-run.js";

const toyLLSTask: TaskSpec<{ n: number; start: number }> = {
  name: "toy-lls",
  description: "Non-singleton lower level (BDA's counter-example); optimum x = y1 = y2 = 1; ITD/AID stall at x = 0.5.",
  defaults: { n: 10, start: 0 },
  spec: { n: int(1) },
  help: { n: "dimension of x, y1, y2", start: "starting value of every entry of x, y1, y2 (sl-BAMM's official toy: 0.01)" },
  steps: 1000,
  solverDefaults: {
    // f's Hessian in y1 is I (inner step 0.9, T = 10: the unrolled Jacobian is exact to 1e-10); in y2 it
    // is 0, so AID needs damping to pose its linear system. Both then follow the lower level and stall at 0.5.
    itd: { T: 10, innerLr: 0.9, lrX: 0.2, steps: 200 },
    "aid-cg": { T: 10, innerLr: 0.9, lrX: 0.2, damping: 1e-3, steps: 200 },
    "aid-neumann": { T: 10, innerLr: 0.9, lrX: 0.2, alpha: 0.9, iters: 20, damping: 1e-3, steps: 200 },
    bamm: { steps: 2500 }, // official defaults (strategy3.py); the s3 step s_x ~ mu_k^3 is small, so more steps
    bda: { steps: 600 }, // official/BOAT defaults
    lvhba: { steps: 3500 }, // official LLC-toy defaults
    // [bvfsm] zReg = 0 (penalty regime, see bvfsm.ts): the fixed point is the optimistic optimum for any weight w, so a
    // small w = lnReg / barrierEps = 10 keeps the y step lrY / (1 + w) fast in y2, where f is flat
    bvfsm: { zLoop: 10, yLoop: 10, lrZ: 0.5, lrY: 0.5, lrX: 0.2, zReg: 0, yReg: 0, lnReg: 1e-3, barrierEps: 1e-4, decay: "none", steps: 80 },
  },
  create: async (o) => toyLLS(o.n, o.start),
};

const toySCTask: TaskSpec<{ n: number; random: boolean }> = {
  name: "toy-sc",
  description: "Strongly convex quadratic; default optimum x = y = 0.5; random=true draws SPD A, D and B from the seed.",
  defaults: { n: 10, random: false },
  spec: { n: int(1) },
  help: { n: "dimension of x and y", random: "draw random SPD A, D (condition ~10) and B from the seed" },
  steps: 500,
  solverDefaults: {
    f2sa: { T: 5, lrZ: 0.15, lrY: 0.15, lrX: 0.15, decay: 0, deltaLambda: 2, steps: 1000 }, // [baselines] deterministic: constant steps, lambda_k = 1 + 2k (bias O(1/lambda))
    stocbio: { lrX: 0.08, Q: 50, eta: 0.18, steps: 150 }, // [baselines] (1 - eta)^Q ~ 5e-5: no Neumann truncation bias for condition-10 A
    soba: { lrX: 0.08, lrInner: 0.15, innerDecay: 0, outerDecay: 0, steps: 600 }, // [baselines] deterministic: constant steps converge linearly
    // [penalty] two-timescale variant (penalty.ts): gamma = 1000 puts the O(1/gamma) bias at 2e-4..5e-4 (< 1e-3 on seeds 0-2);
    // y and w need 50 steps of 0.18 so that their lag (0.82^50 ~ 5e-5) times gamma stays small; the x step is then O(1)
    penalty: { T: 50, innerLr: 0.18, lrX: 0.1, lrY: 0.18, gamma0: 1000, gammaMax: 1000, gammaSteps: 0, yLoop: 50, scaleX: false, steps: 300 },
    // inner step 0.18 < 2 / lambda_max(A) for the condition-10 random A; T = 40 makes the truncation
    // factor (1 - 0.18)^40 ~ 4e-4 so ITD's unrolled Jacobian and the warm-started y are accurate to 1e-3
    itd: { T: 40, innerLr: 0.18, lrX: 0.1 },
    "aid-cg": { T: 40, innerLr: 0.18, lrX: 0.1 },
    "aid-neumann": { T: 40, innerLr: 0.18, lrX: 0.1, alpha: 0.18, iters: 40 },
    // [bome] constant steps leave an O(lr) bias when A is not a multiple of I (random=true: 0.060 at lr 0.05, 0.011 at
    // 0.01, see docs/solvers/bome.md); halving every 100 steps down to lr/400 reaches 1e-3; eps = 1e-9 lets lambda grow past the default eps cap
    // (bias 8e-4) while staying above float32 noise in ||grad q||^2 (eps = 1e-11: 1.2e-3 in float32)
    bome: { T: 40, innerLr: 0.18, lrX: 0.2, lrY: 0.1, eta: 2, eps: 1e-9, lrDecay: 0.5, lrDecayEvery: 100, lrMinFactor: 0.0025, steps: 1500 },
    // [bvfsm] zReg = 0: the barrier runs on its linear part, a value-function penalty of weight lnReg / barrierEps = 1000
    // (derived bias 5.0e-4 on the default toy); steps 0.18 < 2 / lambda_max(A); yLoop 25 keeps the y error (0.82^25) times w small
    bvfsm: { zLoop: 30, yLoop: 25, lrZ: 0.18, lrY: 0.18, lrX: 0.1, zReg: 0, yReg: 0, lnReg: 0.1, barrierEps: 1e-4, decay: "none", steps: 100 },
    bamm: { mu0: 0, xPower: 0, steps: 300 }, // the official strongly convex setting: no averaging, s_x independent of mu_k
    bda: { alpha0: 0.001, T: 40, sl: 0.18, lrX: 0.15, steps: 60 }, // tuned: a fixed aggregation biases y_T, and the unrolled Jacobian needs (1 - sl)^T small for condition-10 A
    lvhba: { alpha: 0.18, eta: 0.1, gamma1: 100, c0: 0.3, p: 1, steps: 6000 }, // tuned: the penalty bias is O(1/c_k), so c_k must grow linearly (p = 1, outside the paper's p < 1/2) to reach 1e-3
    // [borep] the official constant normalized step keeps |x - x*| ~ lrX; a StepLR (x0.5 every 25 steps) and a faster z step (nu) reach 1e-6
    borep: { lrX: 0.1, nu: 0.1, lrDecay: 0.5, lrDecayEvery: 25 },
    // [ufo] exact steps as itd's (T = 40, step 0.18); q_k = k / 50 reaches 1 at step 50, after which the steps are exact
    ufo: { T: 40, innerLr: 0.18, lrX: 0.1, exactProb: -1, horizon: 50, steps: 150 },
  },
  create: async (o, seed) => toySC(o.n, o.random, seed),
};

const toyConstrainedTask: TaskSpec<{ n: number; officialStart: boolean }> = {
  name: "toy-constrained",
  description: "Coupled lower-level constraint (LV-HBA's toy); optimum x = -0.3, y1 = 0.7, y2 = -0.4.",
  defaults: { n: 100, officialStart: false },
  spec: { n: int(1) },
  help: { n: "dimension of x, y1, y2", officialStart: "start at LV-HBA's official x = -20, y1 = y2 = 10 (its projected start) instead of x = y1 = y2 = 10" },
  steps: 1000,
  solverDefaults: {
    lvhba: { gamma2: 0.1, eta: 0.02, alpha: 0.02, c0: 1, p: 0.49, steps: 3000 }, // tuned: the official values oscillate (lambda-theta coupling ~ sqrt(2n))
  },
  create: async (o) => toyConstrained(o.n, o.officialStart),
};

const toyUFOTask: TaskSpec<Record<string, never>> = {
  name: "toy-ufo",
  description: "Two-task meta-learning toy: exact optimum theta = 1.633, first-order fixed point 3.311.",
  defaults: {},
  help: {},
  steps: 500,
  solverDefaults: {
    // [ufo] the official toy's UFO-BLO setting (toy/toy.py): fixed q = 0.9 and step start_step / (k + 1)
    // (its 10 on the mean of the two tasks = 5 on their sum, which is our F)
    ufo: { exactProb: 0.9, lrX: 5, lrPower: 1 },
    // exact meta-gradient through the 10 inner steps; F'' = sum a_i c_i^2 ~ 0.24 allows step 1
    itd: { lrX: 1, steps: 100 },
  },
  create: async () => toyUFO(),
};

const toyQuadraticTask: TaskSpec<{ nx: number; ny: number; noise: number }> = {
  name: "toy-quadratic",
  description: "Random quadratic bilevel problem with an exact hypergradient (oracle checks, stochastic solvers).",
  defaults: { nx: 5, ny: 10, noise: 0.05 },
  spec: { nx: int(1), ny: int(1), noise: num(0) },
  help: { nx: "dimension of x", ny: "dimension of y", noise: "std of the minibatch noise in gradients and Hessians (0 = deterministic)" },
  steps: 1000,
  solverDefaults: {
    f2sa: { T: 5, lrZ: 0.1, lrY: 0.1, lrX: 2, decay: 0.6, deltaLambda: 1, lambdaMax: 1000, steps: 3000 }, // [baselines]
    stocbio: { T: 5, lrX: 0.03, Q: 20, eta: 0.18, steps: 1500 }, // [baselines] constant lrX small enough for the noise floor
    soba: { lrX: 2, lrInner: 0.1, innerDecay: 0.4, outerDecay: 0.6, steps: 3000 }, // [baselines] paper decays; lrX large since the x-Hessian eigenvalues are 0.11..0.41
  },
  create: async (o, seed) => toyQuadratic(o.nx, o.ny, seed, o.noise),
};

export const tasks: TaskSpec<any>[] = [toyLLSTask, toySCTask, toyConstrainedTask, toyUFOTask, toyQuadraticTask, hypercleanMnistTask, hypercleanFashionTask, fewshotSinusoidTask, fewshotDigitsTask, hyperrepDigitsTask, hpoL2ImdbTask, svmHpoTask, parlGridworldTask];

tasks.push(parlCartpoleTask, parlAcrobotTask); // PARL control tasks (src/tasks/parl-cartpole.ts, parl-acrobot.ts)
tasks.push(parlMujocoCartpoleSwingupTask, parlMujocoCheetahRunTask); // PARL on MuJoCo (src/tasks/parl-mujoco-*.ts)

export function getTask(name: string): TaskSpec<Options> {
  const t = tasks.find((v) => v.name === name);
  if (!t) throw new BilevelInputError(`task: unknown task '${name}' (known: ${tasks.map((v) => v.name).join(", ")})`);
  return t;
}
