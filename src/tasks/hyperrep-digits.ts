/** hyperrep-digits: hyper-representation on digit episodes (docs/tasks/hyperrep-digits.md); the problem is `hyperrepDigits`. */
import { int, num, positive, unrolled } from "../options.js";
import { jax, mulberry32, np, tdispose, tref, zeros, type Arr } from "../engine/index.js";
import { gradientDescent } from "../oracles/index.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { checkInt, checkPos } from "./args.js";
import { checkDigits, D, digitEpisodes, digitPools, digitsHelp, type DigitsOpts } from "./digit-episodes.js";
import { FIXED_STREAM, INIT_STREAM, refEp, streamSeed, TEST_STREAM, toDevice, TRAIN_STREAM, type Episodes } from "./episodes.js";
import { accuracy, ceLoss } from "./episode-losses.js";
import { makeEvaluator } from "./meta-eval.js";
import { initMlp, mlpBatched, mlpShared, type Params } from "./mlp.js";
import { tuned } from "./tuned.js";

export type HyperrepOpts = DigitsOpts & { ridge: number; headSteps: number; headLr: number };

/**
 * Hyper-representation (Franceschi et al. 2018, "Bilevel Programming for Hyperparameter Optimization
 * and Meta-Learning"; design notes and measurements: docs/tasks/hyperrep-digits.md): x = a shared
 * feature extractor phi_x (MLP 784-256-64, ReLU on the hidden layer, linear 64-d output, then each
 * feature vector scaled to unit norm, which bounds the head's Hessian whatever the features learn),
 * y = per-episode linear heads {W [B, N, 64], b [B, N]},
 *   f(x, y) = sum_b [ CE(phi_x(Xs_b) W_b^T + b_b, Ys_b) + (ridge/2)(||W_b||^2 + ||b_b||^2) ]  (strongly convex in y)
 *   F(x, y) = mean_b CE(phi_x(Xq_b) W_b^T + b_b, Yq_b).
 * innerInit(x) = zeros: every outer step the heads restart at 0 (the previous step's heads belong to
 * other episodes); no innerSteps, so the solver's T / innerLr fit the heads (solverDefaults: headSteps,
 * headLr; src/tasks/tuned.ts). Evaluation fits each held-out head with `headSteps` gradient steps of
 * size `headLr` from 0 on the frozen features.
 */
export function hyperrepDigits(o: HyperrepOpts, seed: number): BilevelProblem<Params, Params, Episodes> {
  checkDigits(o);
  const lam = checkPos("ridge", o.ridge);
  const headSteps = checkInt("headSteps", o.headSteps, 1);
  const headLr = checkPos("headLr", o.headLr);
  const { ways: N, shots, queries, metaBatch: B } = o;
  const pools = digitPools(o);
  const sizes = [D, 256, 64];
  const F = sizes[sizes.length - 1];
  const fixed = toDevice(digitEpisodes(mulberry32(streamSeed(seed, FIXED_STREAM, 0)), pools.train, B, N, shots, queries));
  /** Features [n, m, F] of images [n, m, 784] (one unbatched matmul chain). Consumes x and X. */
  const features = (x: Params, X: Arr): Arr => {
    const [n, m] = X.shape;
    const h = mlpShared(x, X.reshape([n * m, D]), sizes.length - 1, false);
    const norm = np.sqrt(h.ref.mul(h.ref).sum(-1, { keepdims: true }).add(1e-6));
    return h.div(norm).reshape([n, m, F]);
  };
  const head = (y: Params, Z: Arr): Arr => mlpBatched(y, Z, 1);
  const headZeros = (n: number): Params => ({ W0: zeros([n, N, F]), b0: zeros([n, N]) });
  const ridgeOf = (y: Params): Arr => y.W0.ref.mul(y.W0).sum().add(y.b0.ref.mul(y.b0).sum()).mul(lam / 2);
  /** f on precomputed features Zs [n, nS, F]. Consumes y, Zs, Ys. */
  const headLoss = (y: Params, Zs: Arr, Ys: Arr): Arr => ceLoss(head(tref(y), Zs), Ys).sum().add(ridgeOf(y));
  const lower = (x: Params, y: Params, b?: Episodes): Arr => {
    const e = b ?? refEp(fixed);
    e.xq.dispose();
    e.yq.dispose();
    return headLoss(y, features(x, e.xs), e.ys);
  };
  const upper = (x: Params, y: Params, b?: Episodes): Arr => {
    const e = b ?? refEp(fixed);
    e.xs.dispose();
    e.ys.dispose();
    return ceLoss(head(y, features(x, e.xq)), e.yq).mean();
  };
  const score = (x: Params, e: Episodes): Arr => {
    const n = e.xs.shape[0];
    const Zs = jax.lax.stopGradient(features(tref(x), e.xs));
    const Zq = features(x, e.xq);
    const fit = gradientDescent((_x, yy, bb) => headLoss(yy as Params, (bb as Arr[])[0], (bb as Arr[])[1]), [], headZeros(n), { steps: headSteps, lr: headLr }, [Zs, e.ys]) as Params;
    return accuracy(head(fit, Zq), e.yq);
  };
  const init = (s: number) => initMlp(sizes, mulberry32(streamSeed(s, INIT_STREAM, 0)));
  const evaluator = makeEvaluator(
    score,
    (i, count) => digitEpisodes(mulberry32(streamSeed(seed, TEST_STREAM, i)), pools.test, count, N, shots, queries),
    o.evalEpisodes,
    25,
    false,
    { metric: "testAccuracy", baseline: "baselineAccuracy", improvement: "accuracyGain" },
  );
  return {
    name: "hyperrep-digits",
    upper,
    lower,
    innerInit: (x) => {
      tdispose(x);
      return headZeros(B);
    },
    init: (s) => ({ x: init(s), y: headZeros(B) }),
    sample: (s, step) => toDevice(digitEpisodes(mulberry32(streamSeed(s, TRAIN_STREAM, step)), pools.train, B, N, shots, queries)),
    evaluate: async (x, y) => {
      tdispose(y);
      return evaluator(x, () => init(seed));
    },
    info: { model: `features MLP ${sizes.join("-")} (ReLU hidden, linear output, unit norm), head ${F} x ${N} per episode`, ways: N, shots, queries, metaBatch: B, ridge: lam, headSteps, headLr, evalEpisodes: o.evalEpisodes, seed, ...pools.info },
  };
}

export const hyperrepDigitsTask: TaskSpec<HyperrepOpts> = {
  name: "hyperrep-digits",
  description: "Hyper-representation: shared unit-norm features (MLP 784-256-64) + per-episode ridge linear head, fewshot-digits episodes; metric accuracy on 500 episodes.",
  defaults: { ways: 5, shots: 1, queries: 15, metaBatch: 8, evalEpisodes: 500, ridge: 0.05, headSteps: 20, headLr: 5, dataDir: "", fashionDir: "" },
  spec: { ways: int(1, 5), shots: int(1), queries: int(1), metaBatch: int(1), evalEpisodes: int(1), ridge: num(0), headSteps: unrolled(1), headLr: positive() },
  help: {
    ...digitsHelp,
    ridge: "ridge weight of the head (lower-level strong convexity)",
    headSteps: "gradient steps fitting a held-out head (and the solvers' T by default)",
    headLr: "head step size (and the solvers' innerLr by default)",
  },
  steps: 200,
  solverDefaults: tuned["hyperrep-digits"],
  create: async (o, seed) => hyperrepDigits(o, seed),
};
