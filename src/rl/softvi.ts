/**
 * Entropy-regularized (soft) value iteration for a tabular MDP, its implicit derivative through the
 * soft Bellman fixed point, and exact policy evaluation.
 *
 *   Q = R + gamma P V,   V(s) = tau log sum_a exp(Q(s, a) / tau),   pi(a | s) = exp((Q(s, a) - V(s)) / tau)
 *
 * The fixed point Q_star(R) is the soft-optimal Q: pi maximizes E[sum_t gamma^t (r_t + tau H(pi(.|s_t)))].
 * Differentiating Q = R + gamma P V(Q) (dV(s)/dQ(s, a) = pi(a | s)) gives
 *
 *   (I - gamma M) dQ = dR,    M[(s, a), (s', a')] = P[s, a, s'] pi(a' | s'),
 *
 * so a vector-Jacobian product is g^T dQ_star / dR = w^T with (I - gamma M)^T w = g, solved by the fixed
 * point iteration w <- g + gamma M^T w (a gamma-contraction in the l1 norm; the `fixedPoint` oracle of
 * src/oracles with step 1). Exact policy evaluation solves (I - gamma P_pi) V = r_pi + tau H(pi)
 * on the host in float64 (LU, src/linalg.ts), independently of the iteration.
 *
 * Two implementations of the forward pass: `softValueIteration` in jax-js (eager, differentiable;
 * iteration count fixed) and `softValueIterationHost` in float64 on the host (to tolerance; used by the
 * tasks, whose lower level must be exact, and by the checks).
 */
import { array, jax, np, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { luFactor, luSolve, solveLinear, type LU } from "../linalg.js";
import { fixedPoint } from "../oracles/index.js";
import type { TabularModel } from "./gridworld.js";

// ---------------------------------------------------------------------------------------------
// Host (float64)
// ---------------------------------------------------------------------------------------------

export interface SoftSolution {
  /** Soft Q (nS * nA). */
  Q: Float64Array;
  /** Soft value (nS). */
  V: Float64Array;
  /** Policy pi[s, a] (nS * nA). */
  pi: Float64Array;
  /** Iterations used. */
  iters: number;
}

/** Reward table R[s, a] from state rewards r[s] (the same for every action). */
export function actionReward(m: TabularModel, r: ArrayLike<number>): Float64Array {
  const R = new Float64Array(m.nS * m.nA);
  for (let s = 0; s < m.nS; s++) for (let a = 0; a < m.nA; a++) R[s * m.nA + a] = r[s];
  return R;
}

/**
 * Work cap of one host value iteration, in multiply-adds (sweeps x nS x nA x nS): about 5 s of this
 * single-threaded loop. Value iteration contracts by gamma per sweep, so reaching `tol` from V = 0 takes
 * about log(tol / |V_1|) / log(gamma) sweeps: 2.6e2 at gamma 0.9, 2.8e4 at 0.999, 2.8e7 at 0.999999. A
 * solve that would exceed the cap cannot be interrupted (it runs between two outer steps), so it is
 * refused before it starts, with the estimate.
 */
export const SOFT_VI_WORK_CAP = 5e9;

/**
 * Soft value iteration to sup-norm change < tol (tau > 0), or hard value iteration (tau = 0; pi greedy,
 * ties split evenly). R is the reward table R[s, a]. Throws `BilevelInputError` (naming gamma) when the
 * predicted work exceeds `SOFT_VI_WORK_CAP`, and when `maxIters` sweeps do not reach the tolerance.
 * The tolerance is raised to 8 ulp of max |V| when float64 cannot resolve it.
 */
export function softValueIterationHost(m: TabularModel, R: ArrayLike<number>, tau: number, tol = 1e-12, maxIters = 100000): SoftSolution {
  const { nS, nA, P, gamma } = m;
  let rMax = 0;
  for (let i = 0; i < nS * nA; i++) rMax = Math.max(rMax, Math.abs(R[i]));
  const d0 = rMax + (tau > 0 ? tau * Math.log(nA) : 0);
  const sweeps = d0 > tol && gamma > 0 ? Math.ceil(Math.log(tol / d0) / Math.log(gamma)) : 1;
  const work = sweeps * nS * nA * nS;
  if (!(work <= SOFT_VI_WORK_CAP)) {
    throw new BilevelInputError(
      `gamma: ${gamma} needs about ${sweeps.toExponential(1)} value-iteration sweeps of ${nS} states to reach ${tol} (${work.toExponential(1)} operations per lower-level solve, cap ${SOFT_VI_WORK_CAP.toExponential(0)}); use a smaller gamma or size`,
    );
  }
  let V = new Float64Array(nS);
  const Q = new Float64Array(nS * nA);
  let it = 0;
  let converged = false;
  for (; it < maxIters; it++) {
    for (let sa = 0; sa < nS * nA; sa++) {
      let ev = 0;
      const row = sa * nS;
      for (let t = 0; t < nS; t++) ev += P[row + t] * V[t];
      Q[sa] = R[sa] + gamma * ev;
    }
    const Vn = new Float64Array(nS);
    let diff = 0;
    let vMax = 0;
    for (let s = 0; s < nS; s++) {
      let mx = -Infinity;
      for (let a = 0; a < nA; a++) mx = Math.max(mx, Q[s * nA + a]);
      if (tau > 0) {
        let z = 0;
        for (let a = 0; a < nA; a++) z += Math.exp((Q[s * nA + a] - mx) / tau);
        Vn[s] = mx + tau * Math.log(z);
      } else Vn[s] = mx;
      diff = Math.max(diff, Math.abs(Vn[s] - V[s]));
      vMax = Math.max(vMax, Math.abs(Vn[s]));
    }
    V = Vn;
    if (diff < Math.max(tol, 8 * Number.EPSILON * vMax)) {
      it++;
      converged = true;
      break;
    }
  }
  if (!converged) throw new BilevelInputError(`gamma: soft value iteration did not reach ${tol} in ${maxIters} sweeps (gamma ${gamma}, tau ${tau})`);
  // Q consistent with the final V.
  for (let sa = 0; sa < nS * nA; sa++) {
    let ev = 0;
    for (let t = 0; t < nS; t++) ev += P[sa * nS + t] * V[t];
    Q[sa] = R[sa] + gamma * ev;
  }
  return { Q, V, pi: policyFromQ(m, Q, tau), iters: it };
}

/** pi = softmax(Q / tau) per state; tau = 0: greedy (ties split evenly, up to 1e-9). */
export function policyFromQ(m: TabularModel, Q: ArrayLike<number>, tau: number): Float64Array {
  const { nS, nA } = m;
  const pi = new Float64Array(nS * nA);
  for (let s = 0; s < nS; s++) {
    let mx = -Infinity;
    for (let a = 0; a < nA; a++) mx = Math.max(mx, Q[s * nA + a]);
    let z = 0;
    for (let a = 0; a < nA; a++) {
      const q = Q[s * nA + a];
      const v = tau > 0 ? Math.exp((q - mx) / tau) : q >= mx - 1e-9 ? 1 : 0;
      pi[s * nA + a] = v;
      z += v;
    }
    for (let a = 0; a < nA; a++) pi[s * nA + a] /= z;
  }
  return pi;
}

/**
 * Exact (entropy-regularized) value of policy pi: solves (I - gamma P_pi) V = r_pi + tau H(pi(.|s)),
 * with r_pi(s) = sum_a pi(a|s) R[s, a]. tau = 0 gives the plain expected discounted return.
 */
export function policyEvaluation(m: TabularModel, pi: ArrayLike<number>, R: ArrayLike<number>, tau: number): Float64Array {
  const { nS, nA, P, gamma } = m;
  const A = new Float64Array(nS * nS);
  const b = new Float64Array(nS);
  for (let s = 0; s < nS; s++) {
    A[s * nS + s] += 1;
    for (let a = 0; a < nA; a++) {
      const p = pi[s * nA + a];
      if (p === 0) continue;
      b[s] += p * R[s * nA + a] - (tau > 0 ? tau * p * Math.log(p) : 0);
      for (let t = 0; t < nS; t++) A[s * nS + t] -= gamma * p * P[(s * nA + a) * nS + t];
    }
  }
  return solveLinear(A, b, nS);
}

/** mu0 . V: the expected value from the initial distribution. */
export const fromStart = (m: TabularModel, V: ArrayLike<number>): number => {
  let v = 0;
  for (let s = 0; s < m.nS; s++) v += m.mu0[s] * V[s];
  return v;
};

/** The exact expected discounted true return of pi (no entropy bonus) from mu0. */
export function trueReturn(m: TabularModel, pi: ArrayLike<number>, Rtrue: ArrayLike<number>): number {
  return fromStart(m, policyEvaluation(m, pi, Rtrue, 0));
}

/** The factorized adjoint system (I - gamma M)^T of `softFixedPointVjpHost` for policy pi. */
export function softFixedPointAdjoint(m: TabularModel, pi: ArrayLike<number>): LU {
  const { nS, nA, P, gamma } = m;
  const n = nS * nA;
  const A = new Float64Array(n * n); // A = (I - gamma M)^T: A[j, i] = delta_ij - gamma M[i, j]
  for (let i = 0; i < n; i++) {
    A[i * n + i] += 1;
    for (let t = 0; t < nS; t++) {
      const pt = P[i * nS + t];
      if (pt === 0) continue;
      for (let a = 0; a < nA; a++) A[(t * nA + a) * n + i] -= gamma * pt * pi[t * nA + a];
    }
  }
  return luFactor(A, n);
}

/**
 * The same vector-Jacobian product as `softFixedPointVjp`, solved exactly on the host: w solves
 * (I - gamma M)^T w = g with M[(s, a), (s', a')] = P[s, a, s'] pi(a' | s') (nS nA unknowns, LU with
 * partial pivoting in float64). pi is the policy at the fixed point; g and the result are (nS * nA).
 * Pass `adjoint` (from softFixedPointAdjoint) to reuse a factorization.
 */
export function softFixedPointVjpHost(m: TabularModel, pi: ArrayLike<number>, g: ArrayLike<number>, adjoint?: LU): Float64Array {
  return luSolve(adjoint ?? softFixedPointAdjoint(m, pi), g);
}

// ---------------------------------------------------------------------------------------------
// jax-js (differentiable)
// ---------------------------------------------------------------------------------------------

/** P as a jax array of shape [nS * nA, nS] (engine dtype). */
export const transitionArray = (m: TabularModel): Arr => array(m.P, [m.nS * m.nA, m.nS]);

/** V(s) = tau logsumexp(Q(s, .) / tau). Consumes Q. */
export const softValue = (Q: Arr, tau: number): Arr => jax.nn.logsumexp(Q.mul(1 / tau), 1).mul(tau);

/** pi = softmax(Q / tau) along actions. Consumes Q. */
export const softPolicy = (Q: Arr, tau: number): Arr => jax.nn.softmax(Q.mul(1 / tau), 1);

/** log pi = logSoftmax(Q / tau) along actions. Consumes Q. */
export const softLogPolicy = (Q: Arr, tau: number): Arr => jax.nn.logSoftmax(Q.mul(1 / tau), 1);

/** The soft Bellman operator T(Q) = R + gamma P V(Q), shapes Q, R [nS, nA], P [nS * nA, nS]. Consumes Q, R, P. */
export function softBellman(Q: Arr, R: Arr, P: Arr, gamma: number, tau: number): Arr {
  const [nS, nA] = Q.shape;
  const V = softValue(Q, tau).reshape([nS, 1]);
  return R.add(np.matmul(P, V).reshape([nS, nA]).mul(gamma));
}

/** `iters` soft Bellman iterations from Q = 0 (eager; differentiable by unrolling). Consumes R, P. */
export function softValueIteration(R: Arr, P: Arr, gamma: number, tau: number, iters: number): Arr {
  let Q = np.zerosLike(R.ref);
  for (let i = 0; i < iters; i++) Q = softBellman(Q, R.ref, P.ref, gamma, tau);
  R.dispose();
  P.dispose();
  return Q;
}

/** Fixed-point iterations that make the implicit solve accurate to `tol` relative (gamma^iters <= tol). */
export const implicitIters = (gamma: number, tol = 1e-9): number => Math.ceil(Math.log(tol) / Math.log(gamma));

/**
 * Vector-Jacobian product through the soft Bellman fixed point: w = (dQ_star / dR)^T g, i.e. the solution of
 * w = g + gamma M^T w with M = P Pi at the policy of Q (which should be the fixed point Q_star(R)).
 * `iters` fixed-point iterations (default: gamma^iters <= 1e-9). Shapes Q, g [nS, nA]; P [nS * nA, nS].
 * Consumes Q, P, g.
 */
export function softFixedPointVjp(Q: Arr, P: Arr, g: Arr, gamma: number, tau: number, iters = implicitIters(gamma)): Arr {
  const [nS, nA] = Q.shape;
  const pi = softPolicy(Q, tau);
  // A w = w - gamma M^T w;  (M^T w)[s', a'] = pi(a'|s') sum_{s,a} P[s, a, s'] w[s, a]
  const matvec = (w: Arr): Arr => {
    const mt = np.matmul(w.ref.reshape([1, nS * nA]), P.ref).reshape([nS, 1]).mul(pi.ref);
    return w.sub(mt.mul(gamma));
  };
  const w = fixedPoint(matvec as never, g as never, iters, 1) as unknown as Arr;
  pi.dispose();
  P.dispose();
  return w;
}
