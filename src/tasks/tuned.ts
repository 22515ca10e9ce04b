/** Tuned per-task solver defaults, task -> solver -> options (each value's reason: docs/tasks/<task>.md). */
import type { Options } from "../problem.js";

export const tuned = {
  "toy-lls": {
    itd: { T: 10, innerLr: 0.9, lrX: 0.2, steps: 200 },
    "aid-cg": { T: 10, innerLr: 0.9, lrX: 0.2, damping: 1e-3, steps: 200 },
    "aid-neumann": { T: 10, innerLr: 0.9, lrX: 0.2, alpha: 0.9, iters: 20, damping: 1e-3, steps: 200 },
    bamm: { steps: 2500 },
    bda: { steps: 600 },
    lvhba: { steps: 3500 },
    bvfsm: { zLoop: 10, yLoop: 10, lrZ: 0.5, lrY: 0.5, lrX: 0.2, zReg: 0, yReg: 0, lnReg: 1e-3, barrierEps: 1e-4, schedule: "none", steps: 80 },
  },
  "toy-sc": {
    f2sa: { T: 5, lrZ: 0.15, lrY: 0.15, lrX: 0.15, lrPower: 0, deltaLambda: 2, steps: 1000 },
    stocbio: { lrX: 0.08, iters: 50, alpha: 0.18, steps: 150 },
    soba: { lrX: 0.08, innerLr: 0.15, innerPower: 0, lrPower: 0, steps: 600 },
    penalty: { T: 50, innerLr: 0.18, lrX: 0.1, lrY: 0.18, gamma0: 1000, gammaMax: 1000, gammaSteps: 0, yLoop: 50, scaleX: false, steps: 300 },
    itd: { T: 40, innerLr: 0.18, lrX: 0.1 },
    "aid-cg": { T: 40, innerLr: 0.18, lrX: 0.1 },
    "aid-neumann": { T: 40, innerLr: 0.18, lrX: 0.1, alpha: 0.18, iters: 40 },
    bome: { T: 40, innerLr: 0.18, lrX: 0.2, lrY: 0.1, eta: 2, eps: 1e-9, lrDecay: 0.5, lrDecayEvery: 100, lrMinFactor: 0.0025, steps: 1500 },
    bvfsm: { zLoop: 30, yLoop: 25, lrZ: 0.18, lrY: 0.18, lrX: 0.1, zReg: 0, yReg: 0, lnReg: 0.1, barrierEps: 1e-4, schedule: "none", steps: 100 },
    bamm: { mu0: 0, xPower: 0, steps: 300 },
    bda: { alpha0: 0.001, T: 40, sl: 0.18, lrX: 0.15, steps: 60 },
    lvhba: { alpha: 0.18, lrProx: 0.1, gamma1: 100, c0: 0.3, p: 1, steps: 6000 },
    borep: { lrX: 0.1, nu: 0.1, lrDecay: 0.5, lrDecayEvery: 25 },
    ufo: { T: 40, innerLr: 0.18, lrX: 0.1, exactProb: -1, horizon: 50, steps: 150 },
  },
  "toy-constrained": {
    lvhba: { gamma2: 0.1, lrProx: 0.02, alpha: 0.02, c0: 1, p: 0.49, steps: 3000 },
  },
  "toy-ufo": {
    ufo: { exactProb: 0.9, lrX: 5, lrPower: 1 },
    itd: { lrX: 1, steps: 100 },
  },
  "toy-quadratic": {
    f2sa: { T: 5, lrZ: 0.1, lrY: 0.1, lrX: 2, lrPower: 0.6, deltaLambda: 1, lambdaMax: 1000, steps: 3000 },
    stocbio: { T: 5, lrX: 0.03, iters: 20, alpha: 0.18, steps: 1500 },
    soba: { lrX: 2, innerLr: 0.1, innerPower: 0.4, lrPower: 0.6, steps: 3000 },
  },
  "hpo-l2-imdb": {
    itd: { T: 10, innerLr: 4, lrX: 3e5, steps: 300 },
    "aid-cg": { T: 5, innerLr: 4, lrX: 3e4, iters: 5, steps: 400 },
  },
  "svm-hpo": {
    lvhba: { alpha: 0.01, beta: 0.1, lrProx: 0.01, gamma1: 10, gamma2: 10, c0: 1, p: 0.5, lambda0: 1, projIters: 10, steps: 1000 },
  },
  "fewshot-sinusoid": {
    itd: { lrX: 0.05, steps: 2000 },
    fo: { lrX: 0.05, steps: 2000 },
    ufo: { lrX: 0.05, steps: 2000, horizon: 2000 },
  },
  "fewshot-digits": {
    itd: { lrX: 0.1, steps: 300 },
    fo: { lrX: 0.1, steps: 100 },
  },
  "hyperclean-imdb-rnn": {
    bvfsm: { zLoop: 10, yLoop: 10 },
    borep: { innerLr: 1, lrX: 1 },
  },
  "hyperrep-digits": {
    itd: { T: 20, innerLr: 5, lrX: 0.1, steps: 200 },
    "aid-cg": { T: 20, innerLr: 5, lrX: 0.1, iters: 10, steps: 200 },
  },
} satisfies Record<string, Record<string, Options & { steps?: number }>>;
