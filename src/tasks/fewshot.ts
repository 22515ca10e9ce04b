/**
 * The meta-learning tasks (shared/TASKS.md, "Meta-learning"), one module each: fewshot-sinusoid
 * (./fewshot-sinusoid.ts), fewshot-digits (./fewshot-digits.ts) and hyperrep-digits
 * (./hyperrep-digits.ts), built from the MAML problem shape (./maml.ts), episodes (./episodes.ts,
 * ./sinusoid-episodes.ts, ./digit-episodes.ts), the MLPs (./mlp.ts), per-episode losses
 * (./episode-losses.ts), the held-out evaluation (./meta-eval.ts) and statistics (./stats.ts).
 * Pages: docs/tasks/meta-learning.md and docs/tasks/<task>.md.
 */
export type { Episodes } from "./episodes.js";
export { streamSeed } from "./episodes.js";
export { broadcastParams, mlpBatched } from "./mlp.js";
export { meanCI } from "./stats.js";
export { sinusoidEpisodes } from "./sinusoid-episodes.js";
export { digitEpisodes, type DigitsOpts } from "./digit-episodes.js";
export { fewshotSinusoid, fewshotSinusoidTask, type SinusoidOpts } from "./fewshot-sinusoid.js";
export { fewshotDigits, fewshotDigitsTask, type FewshotDigitsOpts } from "./fewshot-digits.js";
export { hyperrepDigits, hyperrepDigitsTask, type HyperrepOpts } from "./hyperrep-digits.js";
