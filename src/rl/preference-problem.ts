/**
 * The contract of a preference-based reward-design problem (PARL: Chakraborty et al. 2023, "PARL: A
 * Unified Framework for Policy Alignment in Reinforcement Learning", arXiv 2308.02585), run by `aparl`
 * and `pebble`:
 *   upper (x = nu, reward parameters):  min_nu  G(nu) = E_{pairs ~ pi_theta_star(nu), labels ~ oracle}[ l(nu; pair) ]
 *   lower (y = theta, policy parameters): theta_star(nu) = argmax_theta  J(theta; r_nu)
 * l = -log P_nu(label | segments) (Bradley-Terry on segment returns under r_nu). The pairs come from the
 * lower-level policy, so the hypergradient has a score-function term (A-PARL; PEBBLE keeps only the first):
 *   grad G = E[ grad_nu l ] + (d theta_star / d nu)^T E[ (l - b) grad_theta log p_theta(pair) ]
 * A problem is a `BilevelProblem` plus the hooks below under `preference`; its `evaluate` reports
 * `trueReturn`, `queries` and, when known, `optimalReturn` and `returnRatio`. Pair batches are pytrees
 * with the pair index as axis 0; `pairNll` and `pairLogProb` are jax-traceable and finite on zero-padded
 * pairs. Hooks consume their array arguments and are deterministic given (seed, k); `init(seed)` resets
 * their state. The full contract (layouts, padding, the solver side): docs/rl/preference-problem.md.
 */
import { jax, np, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import type { BilevelProblem } from "../problem.js";

export interface PreferenceHooks<X extends Tree = Tree, Y extends Tree = Tree> {
  /**
   * Lower level: a policy (approximately) optimal for the reward r_nu, starting from `theta` (warm
   * start; the gridworld ignores it and solves exactly by soft value iteration; control tasks take K
   * policy-gradient steps). `k` is the outer step, for seeding. Consumes nu, theta.
   */
  improvePolicy(nu: X, theta: Y, seed: number, k: number): Promise<Y>;
  /**
   * Draw `n` pairs of trajectory segments from pi_theta and ask the preference oracle for their labels
   * (adds n to `queries()`). Deterministic for (seed, k). Consumes theta. Returns a pair batch (see above).
   */
  queryPairs(theta: Y, n: number, seed: number, k: number): Promise<Tree>;
  /** Per-pair preference NLL l(nu; pair_i), shape [n]; differentiable in nu (jax). Consumes nu, pairs. */
  pairNll(nu: X, pairs: Tree): Arr;
  /**
   * Per-pair log-likelihood of the segments' actions under pi_theta, sum_t log pi_theta(a_t | s_t) over
   * both segments, shape [n]; differentiable in theta (jax). Consumes theta, pairs.
   */
  pairLogProb(theta: Y, pairs: Tree): Arr;
  /**
   * Optional, for pairs drawn from replay data rather than from pi_theta: per-pair log-likelihood of the
   * segments' actions under the policy that collected them (log p_beta(pair)), shape [n]; the solvers
   * then weight the score term by rho = p_theta(pair) / p_beta(pair). Consumes pairs.
   */
  pairBehaviourLogProb?(pairs: Tree): Arr;
  /**
   * The lower level's sensitivity applied to a theta-space vector: (d theta_star / d nu)^T g, a nu-space
   * tree. Exact (implicit function theorem) for the gridworld; an approximation (e.g. unrolled policy-
   * gradient steps) for control. Consumes nu, theta, g.
   */
  thetaJacobianT(nu: X, theta: Y, g: Y): Promise<X>;
  /** Labels queried since `init`. */
  queries(): number;
}

/** A PARL problem: a bilevel problem (x = reward parameters nu, y = policy parameters theta) with preference hooks. */
export interface PreferenceProblem<X extends Tree = Tree, Y extends Tree = Tree> extends BilevelProblem<X, Y> {
  preference: PreferenceHooks<X, Y>;
}

export function isPreferenceProblem(p: BilevelProblem): p is PreferenceProblem {
  const h = (p as Partial<PreferenceProblem>).preference;
  return typeof h === "object" && h !== null && typeof h.improvePolicy === "function" && typeof h.queryPairs === "function";
}

/** The problem as a PreferenceProblem, or a one-line BilevelInputError naming the solver. */
export function asPreferenceProblem(p: BilevelProblem, solver: string): PreferenceProblem {
  if (!isPreferenceProblem(p)) {
    throw new BilevelInputError(`problem ${p.name}: solver ${solver} needs a preference-based reward-design problem (PreferenceProblem, e.g. task parl-gridworld)`);
  }
  return p;
}

/** Concatenate pair batches along axis 0 (every leaf). Consumes the batches. */
export function concatPairs(batches: Tree[]): Tree {
  if (batches.length === 1) return batches[0];
  return jax.tree.map((...leaves: Arr[]) => np.concatenate(leaves, 0), batches[0] as never, ...(batches.slice(1) as never[])) as Tree;
}
