/**
 * The MAML problem shape (Finn et al. 2017) of fewshot-sinusoid and fewshot-digits (the representation,
 * its caveats and measurements: docs/tasks/meta-learning.md). A meta-batch of B episodes per outer step
 * is ONE bilevel problem:
 *   x = the meta-parameters (an MLP, nn.Linear layout W [out, in], b [out]);
 *   y = the per-episode lower variables stacked on a leading axis B (W [B, out, in], b [B, out]);
 *   f(x, y; batch) = sum_b L_support(y_b; episode b),   F(x, y; batch) = mean_b L_query(y_b; episode b)
 * so one inner loop adapts all B episodes at once with batched matmuls. innerInit(x) broadcasts x to
 * the B episodes and the lower level is the fixed procedure innerSteps = {steps, lr} (MAML's r steps of
 * size alpha); itd differentiates through it (exact MAML meta-gradient), fo is FOMAML.
 * Assumptions: solvers need `capabilities.stochastic` to receive episodes (`sample(seed, step)`); without
 * a batch the objectives use a fixed meta-batch drawn from the seed, so the reported `upper` / `lower`
 * are not progress measures (the metrics are).
 */
import { mulberry32, tdispose, tref, type Arr } from "../engine/index.js";
import { gradientDescent } from "../oracles/index.js";
import type { BilevelProblem } from "../problem.js";
import { FIXED_STREAM, INIT_STREAM, refEp, streamSeed, TEST_STREAM, toDevice, TRAIN_STREAM, type Episodes, type HostEpisodes } from "./episodes.js";
import { broadcastParams, initMlp, mlpBatched, type Params } from "./mlp.js";
import { makeEvaluator } from "./meta-eval.js";

/** What distinguishes one MAML-style few-shot task from another (see `mamlProblem`). */
export interface MamlSpec {
  name: string;
  /** MLP layer sizes, input first. */
  sizes: number[];
  seed: number;
  metaBatch: number;
  /** The fixed inner procedure: `steps` gradient steps of size `lr` on the support loss from x. */
  gd: { steps: number; lr: number };
  /** Per-episode loss [n] of predictions against targets (support: summed; query: averaged). */
  loss: (pred: Arr, target: Arr) => Arr;
  /** Per-episode held-out score [n] after adaptation (query MSE, accuracy). */
  score: (pred: Arr, target: Arr) => Arr;
  /** n training episodes from a seeded generator. */
  episodes: (rand: () => number, n: number) => HostEpisodes;
  /** n held-out (meta-test) episodes from a seeded generator. */
  heldOut: (rand: () => number, n: number) => HostEpisodes;
  nEval: number;
  /** Held-out episodes per compiled evaluation call. */
  chunk: number;
  lowerIsBetter: boolean;
  names: { metric: string; baseline: string; improvement: string };
  info: Record<string, unknown>;
}

/**
 * The MAML problem shape both few-shot tasks share: x = the MLP initialization, y = per-episode adapted
 * parameters of a meta-batch, f = summed support loss, F = mean query loss; the inner loop restarts at
 * x for every episode (`innerInit`), minibatches are fresh episodes per step, and `evaluate` adapts on
 * held-out episodes and compares with training from the same random initialization.
 */
export function mamlProblem(m: MamlSpec): BilevelProblem<Params, Params, Episodes> {
  const L = m.sizes.length - 1;
  const B = m.metaBatch;
  const fixed = toDevice(m.episodes(mulberry32(streamSeed(m.seed, FIXED_STREAM, 0)), B));
  const lower = (x: Params, y: Params, b?: Episodes): Arr => {
    tdispose(x);
    const e = b ?? refEp(fixed);
    e.xq.dispose();
    e.yq.dispose();
    return m.loss(mlpBatched(y, e.xs, L), e.ys).sum();
  };
  const upper = (x: Params, y: Params, b?: Episodes): Arr => {
    tdispose(x);
    const e = b ?? refEp(fixed);
    e.xs.dispose();
    e.ys.dispose();
    return m.loss(mlpBatched(y, e.xq, L), e.yq).mean();
  };
  // held-out score: adapt from x with the same procedure, per-episode score on the query set
  const score = (x: Params, e: Episodes): Arr => {
    const n = e.xs.shape[0];
    const yT = gradientDescent((xx, yy, bb) => lower(xx as Params, yy as Params, bb as Episodes), tref(x), broadcastParams(x, n), m.gd, refEp(e)) as Params;
    e.xs.dispose();
    e.ys.dispose();
    return m.score(mlpBatched(yT, e.xq, L), e.yq);
  };
  const init = (s: number) => initMlp(m.sizes, mulberry32(streamSeed(s, INIT_STREAM, 0)));
  const evaluator = makeEvaluator(score, (i, count) => m.heldOut(mulberry32(streamSeed(m.seed, TEST_STREAM, i)), count), m.nEval, m.chunk, m.lowerIsBetter, m.names);
  return {
    name: m.name,
    upper,
    lower,
    innerInit: (x) => broadcastParams(x, B),
    innerSteps: m.gd,
    init: (s) => {
      const x = init(s);
      return { x, y: broadcastParams(tref(x), B) };
    },
    sample: (s, step) => toDevice(m.episodes(mulberry32(streamSeed(s, TRAIN_STREAM, step)), B)),
    evaluate: async (x, y) => {
      tdispose(y);
      return evaluator(x, () => init(m.seed));
    },
    info: m.info,
  };
}
