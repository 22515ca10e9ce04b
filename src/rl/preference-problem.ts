/**
 * The contract of a preference-based reward-design problem (PARL: Chakraborty et al. 2023, "PARL: A
 * Unified Framework for Policy Alignment in Reinforcement Learning", arXiv 2308.02585). The solvers
 * `aparl` and `pebble` run every task that implements it (gridworld, CartPole, ...).
 *
 *   upper (x = nu, reward parameters):  min_nu  G(nu) = E_{pairs ~ pi_theta_star(nu), labels ~ oracle}[ l(nu; pair) ]
 *   lower (y = theta, policy parameters): theta_star(nu) = argmax_theta  J(theta; r_nu)   (soft-optimal / PG learner)
 *
 * with l(nu; pair) = -log P_nu(label | segment 1, segment 2), P_nu = Bradley-Terry on the segment
 * returns under r_nu. Because the pairs are drawn from the lower-level policy, the hypergradient has a
 * score-function term (A-PARL):
 *
 *   grad G = E[ grad_nu l ] + (d theta_star / d nu)^T E[ (l - b) grad_theta log p_theta(pair) ]
 *
 * (b = a baseline, e.g. the batch mean of l; log p_theta(pair) = sum over both segments of
 * log pi_theta(a_t | s_t)). PEBBLE-style alternation keeps only the first term.
 *
 * A problem is a `BilevelProblem` (so `solve`, the CLI and `bench` run it) plus the hooks below, under
 * the field `preference`. Its `upper`/`lower` are only reported (e.g. NLL on a fixed held-out pair set
 * and the lower objective); the solvers use the hooks. Its `evaluate` must report `trueReturn`
 * (expected true return of pi_theta), `queries` (labels so far; from `queries()`), and, when known,
 * `optimalReturn` and `returnRatio` = trueReturn / optimalReturn.
 *
 * Pair batches are pytrees whose every leaf has the pair index as axis 0 (so solvers can concatenate
 * batches into a replay buffer with `concatPairs`); the layout of the leaves is the problem's own,
 * labels included (e.g. `{ obs: [n,2,L,d], act: [n,2,L], label: [n] }`).
 *
 * `pairNll` and `pairLogProb` must be jax-traceable (the solvers `jit` and differentiate them) and
 * finite on all-zero pairs: the solvers' replay buffer is zero-padded (with weight 0) to a doubling
 * capacity so that compiled functions see few shapes.
 *
 * Solver side (src/solvers/aparl.ts): per outer step k, queryPairs from theta_k -> reward steps on nu ->
 * theta_{k+1} = improvePolicy(nu_{k+1}, theta_k); solvers run through `SolverInstance.stepAsync`.
 *
 * Ownership: jax-js rules — every hook consumes its array arguments. State (the query counter, RNG
 * streams) is reset by `init(seed)`; hooks are deterministic given (seed, k).
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
