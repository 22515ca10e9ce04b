/**
 * The hyperparameter-optimization tasks (shared/TASKS.md, "Hyperparameter optimization"), one module
 * each: hpo-l2-imdb (./hpo-l2-imdb.ts) and svm-hpo (./svm-hpo.ts), with their seeded splits
 * (./splits.ts) and host reference solvers (./logistic.ts, ./svm.ts). Pages: docs/tasks/<task>.md.
 */
export { seededPermutation, seededSplit, thirds } from "./splits.js";
export { fitLogistic, linearAccuracy, logisticLoss, type LogisticFit } from "./logistic.js";
export { fitL2Svm, svmAccuracy } from "./svm.js";
export { hpoL2Imdb, hpoL2ImdbTask, hpoL2Problem, l2Baseline, l2Grid, textFeatures, type L2Baseline, type LRY, type TextSplits } from "./hpo-l2-imdb.js";
export { svmHpo, svmHpoProblem, svmHpoTask, svmSplits, type SvmSplits, type SvmY } from "./svm-hpo.js";
