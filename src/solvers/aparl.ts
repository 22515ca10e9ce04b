/**
 * A-PARL — Chakraborty, Bedi, Koppel, Manocha, Wang, Wang, Huang (2023), "PARL: A Unified Framework for
 * Policy Alignment in Reinforcement Learning", arXiv 2308.02585 (ICLR 2024). Upper objective an expectation
 * under the lower-level policy: min_nu G(nu) = E_{pair ~ pi_theta*(nu)}[ l(nu; pair) ]. Its gradient (Sec. 4):
 *
 *   grad G = E[ grad_nu l ] + (d theta_star / d nu)^T E[ l grad_theta log p_theta(pair) ]
 *   log p_theta(pair) = sum_{t, both segments} log pi_theta(a_t | s_t)      (dynamics do not depend on theta)
 *
 * Per outer step k: 1. pairs_k ~ pi_theta_k, labelled (`pairs` queries); replay D = D u pairs_k.
 *   2. `rewardSteps` times: h = grad_nu mean_D l(nu) + scoreWeight (d theta_star/d nu)^T
 *      grad_theta mean_{pairs_k} (l_i - b_i) log p_theta(pair_i)   (b_i the leave-one-out mean: unbiased);
 *      nu <- Adam(nu, h + l2 nu; lr); stop early once `accuracy` > 0 of the labelled pairs have
 *      l < ln 2 (B-Pref's stop at 0.97).   3. theta_{k+1} = improvePolicy(nu_{k+1}, theta_k).
 * d theta_star / d nu is the problem's `thetaJacobianT` (implicit function theorem at the lower optimum).
 *
 * Defaults: no published constants for the tabular / small-network setting; generic ones (Adam, as
 * PEBBLE's reward learner): pairs 5, rewardSteps 20, lr 0.05, scoreWeight 1 (0 gives `pebble`), l2 0,
 * accuracy 0 (off); tasks tune them in `solverDefaults`. Runs only on a PreferenceProblem (one-line BilevelInputError
 * otherwise). Derivation notes and measurements: docs/solvers/aparl.md.
 */
import { int, num, positive, unrolled } from "../options.js";
import { array, jax, np, scalar, tdispose, tleaves, tmap, toFloat64, tref, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import type { BilevelProblem, SolverInstance, SolverSpec } from "../problem.js";
import { asPreferenceProblem, concatPairs, type PreferenceHooks } from "../rl/preference-problem.js";
import { iterateXY, type XY } from "../kit/index.js";
import { optimizerFrom, optimizerOptions, type OptimizerOptions } from "../optim/index.js";

/**
 * The score-function estimate of grad_theta E_{pair ~ pi_theta}[l(nu; pair)] on one batch:
 * grad_theta (1/n) sum_i rho_i (l_i - b_i) log p_theta(pair_i), with l and rho held fixed, b_i the
 * leave-one-out mean of the other l_j (no baseline when n = 1), and rho_i = p_theta(pair_i) / p_beta(pair_i)
 * when the problem says the pairs came from a behaviour policy beta (`pairBehaviourLogProb`; replay data),
 * else 1 (on-policy). Unbiased for independent pairs (docs/solvers/aparl.md). Consumes nu, theta, batch.
 */
export function scoreGradient(h: PreferenceHooks, nu: Arr, theta: Tree, batch: Tree): Tree {
  const l = jax.lax.stopGradient(h.pairNll(nu, tref(batch)));
  const n = l.shape[0];
  let adv = n > 1 ? l.ref.sub(l.mean()).mul(n / (n - 1)) : l;
  if (h.pairBehaviourLogProb) {
    const logRho = h.pairLogProb(tref(theta), tref(batch)).sub(h.pairBehaviourLogProb(tref(batch)));
    adv = adv.mul(jax.lax.stopGradient(np.exp(logRho)));
  }
  return jax.grad((th: Tree) => h.pairLogProb(th, batch).mul(adv).mean())(theta) as Tree;
}

export type ParlOptions = {
  pairs: number;
  rewardSteps: number;
  lr: number;
  scoreWeight: number;
  l2: number;
  accuracy: number;
  [k: string]: number | string;
} & OptimizerOptions;

/** The x (reward) optimizer group of the preference solvers: Adam by default, PEBBLE's reward learner. */
export const parlOptimizer = {
  defaults: { ...optimizerOptions.defaults, optimizer: "adam" },
  help: { ...optimizerOptions.help, optimizer: "reward (x) update: adam (default, PEBBLE's), sgd, momentum or nesterov, at step size lr" },
  spec: optimizerOptions.spec,
};

function check(o: ParlOptions): void {
  if (!Number.isInteger(o.pairs) || o.pairs < 1) throw new BilevelInputError(`pairs: expected a positive integer, got ${o.pairs}`);
  if (!Number.isInteger(o.rewardSteps) || o.rewardSteps < 1) throw new BilevelInputError(`rewardSteps: expected a positive integer, got ${o.rewardSteps}`);
  if (!(o.lr > 0)) throw new BilevelInputError(`lr: expected a positive step size, got ${o.lr}`);
  if (!(o.l2 >= 0)) throw new BilevelInputError(`l2: expected a non-negative weight, got ${o.l2}`);
  if (!(o.accuracy >= 0 && o.accuracy <= 1)) throw new BilevelInputError(`accuracy: expected a number in [0, 1] (0 = off), got ${o.accuracy}`);
}

/**
 * The PARL outer loop shared by `aparl` (scoreWeight > 0) and `pebble` (scoreWeight = 0): query pairs from
 * the current policy, gradient steps on the reward, then the lower-level policy update.
 */
export function createParl(problem: BilevelProblem, o: ParlOptions, solver: string): SolverInstance {
  const p = asPreferenceProblem(problem, solver);
  check(o);
  const h = p.preference;
  // Replay buffer: the labelled pairs so far (`real`), and a copy zero-padded to a capacity that doubles,
  // with weights 1/count on the real rows, so the compiled reward gradient sees few distinct shapes.
  let real: Tree | null = null;
  let padded: Tree | null = null;
  let weights: Arr | null = null;
  let count = 0;
  let cap = 0;
  let seed = 0;
  let adamState: Tree | null = null;
  const reset = () => {
    tdispose([real, padded, weights, adamState].filter((v) => v !== null) as Tree[]);
    real = padded = weights = adamState = null;
    count = cap = 0;
  };

  // grad_nu sum_i w_i l_i(nu) over the padded buffer
  const gradDirect = jax.jit((nu: Arr, data: Tree, w: Arr) => jax.grad((v: Arr) => h.pairNll(v, data).mul(w).sum())(nu));
  const pairNll = jax.jit((nu: Arr, data: Tree) => h.pairNll(nu, data));
  /** Share of the labelled pairs whose NLL is below ln 2 (the label more likely than not; B-Pref's accuracy). */
  const accuracy = async (nu: Arr): Promise<number> => {
    const l = await toFloat64(pairNll(nu, tref(padded!)) as Arr);
    let right = 0;
    for (let i = 0; i < count; i++) if (l[i] < Math.LN2) right++;
    return right / count;
  };
  const gradScore = jax.jit((nu: Arr, theta: Tree, batch: Tree) => scoreGradient(h, nu, theta, batch));
  // the `optimizer` group: Adam (Kingma & Ba 2015; PEBBLE's reward optimizer; beta1 0.9, beta2 0.999, eps 1e-8) by default
  const rewardOptimizer = optimizerFrom({ ...parlOptimizer.defaults, ...o });
  const adam = jax.jit((nu: Arr, g: Arr, s: Tree) => {
    const r = rewardOptimizer.update(nu, g, (Array.isArray(s) && s.length === 0 ? undefined : s) as never, o.lr);
    return { nu: r.params, s: (r.state ?? []) as Tree };
  });

  const addToBuffer = (batch: Tree) => {
    const n = tleaves(batch)[0].shape[0];
    real = real === null ? batch : concatPairs([real, batch]);
    count += n;
    if (count > cap) cap = Math.max(64, 2 ** Math.ceil(Math.log2(count)));
    tdispose([padded, weights].filter((v) => v !== null) as Tree[]);
    const extra = cap - count;
    padded = tmap((l) => (extra > 0 ? np.concatenate([l.ref, np.zeros([extra, ...l.shape.slice(1)], { dtype: l.dtype })], 0) : l.ref), real);
    const w = new Float64Array(cap);
    w.fill(1 / count, 0, count);
    weights = array(w, [cap]);
  };

  const stepAsync = async (state: Tree, k: number): Promise<Tree> => {
    const { x, y } = state as XY;
    let nu = x as Arr;
    const theta = y;
    const batch = await h.queryPairs(tref(theta), o.pairs, seed, k);
    addToBuffer(tref(batch));
    if (adamState === null) adamState = (rewardOptimizer.init(nu) ?? []) as Tree;
    for (let j = 0; j < o.rewardSteps; j++) {
      let g = gradDirect(nu.ref, tref(padded!), weights!.ref) as Arr;
      if (o.scoreWeight !== 0) {
        const gTheta = gradScore(nu.ref, tref(theta), tref(batch)) as Tree;
        const term = (await h.thetaJacobianT(nu.ref, tref(theta), gTheta)) as Arr;
        g = g.add(term.mul(o.scoreWeight));
      }
      if (o.l2 > 0) g = g.add(nu.ref.mul(o.l2));
      const r = adam(nu, g, adamState) as { nu: Arr; s: Tree };
      nu = r.nu;
      adamState = r.s;
      if (o.accuracy > 0 && (await accuracy(nu.ref)) >= o.accuracy) break;
    }
    tdispose(batch);
    const thetaNext = await h.improvePolicy(nu.ref, theta, seed, k);
    return { x: nu, y: thetaNext };
  };

  return {
    init: (x, y, s) => {
      seed = s;
      reset();
      return { x, y };
    },
    step: () => {
      throw new Error(`${solver}: steps are asynchronous (host rollouts); run it through solve()`);
    },
    stepAsync,
    iterate: iterateXY,
    dispose: () => {
      reset();
      gradDirect.dispose();
      pairNll.dispose();
      gradScore.dispose();
      adam.dispose();
    },
  };
}

export const aparlDefaults: ParlOptions = { pairs: 5, rewardSteps: 20, lr: 0.05, scoreWeight: 1, l2: 0, accuracy: 0, ...parlOptimizer.defaults };

export const parlHelp = {
  pairs: "preference queries (segment pairs from the current policy) per outer step",
  rewardSteps: "gradient steps on the reward parameters per outer step",
  lr: "step size of the reward (x) optimizer (Adam by default)",
  scoreWeight: "weight of the score-function term (d theta*/d nu)^T E[l grad log p_theta] (0 = PEBBLE-style)",
  l2: "L2 penalty on the reward parameters",
  accuracy: "stop an outer step's reward steps once this share of the labelled pairs has NLL < ln 2 (B-Pref: 0.97; 0 = off, rewardSteps is the cap)",
  ...parlOptimizer.help,
};

export const aparl: SolverSpec<ParlOptions> = {
  name: "aparl",
  reference: "Chakraborty et al. (2023). PARL: A Unified Framework for Policy Alignment in Reinforcement Learning. arXiv 2308.02585.",
  summary: "Preference-based reward design: hypergradient with the score-function term of the policy-dependent data.",
  defaults: aparlDefaults,
  help: parlHelp,
  spec: { pairs: int(1), rewardSteps: unrolled(), lr: positive(), scoreWeight: num(0), l2: num(0), accuracy: num(0, 1), ...parlOptimizer.spec },
  capabilities: { secondOrder: true, nonSingleton: false, constraints: false, stochastic: false, preference: true },
  create: (p, o) => createParl(p, o, "aparl"),
};
