/**
 * aparl: the A-PARL hypergradient decomposition checked exactly on the gridworld (length-2 segments, all
 * pairs enumerated), the solver on parl-gridworld (>= 95% of the optimal true return, queries recorded),
 * and the one-line errors when a solver and a problem do not fit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { relErr, runReleased, setup } from "./helpers.js";
import { array, toFloat64, type Arr } from "../src/engine/index.js";
import { gridworldModel, stateReward, type TabularModel } from "../src/rl/gridworld.js";
import { actionReward, policyFromQ, softValueIterationHost } from "../src/rl/softvi.js";
import { btProbability } from "../src/rl/preferences.js";
import { gridworldOptions, parlGridworld, parlGridworldDefaults } from "../src/tasks/parl.js";

/** The small configuration the exact checks use (5 x 5, 6 features). */
const small = { ...parlGridworldDefaults, size: 5, features: 4, featureScale: 0.5 };
import { getTask } from "../src/tasks/index.js";
import { solve } from "../src/run.js";
import { BilevelInputError } from "../src/errors.js";
import { scoreGradient } from "../src/solvers/aparl.js";
import { getSolver } from "../src/solvers/registry.js";
import { initEngine, tree, treeToFloat64 } from "../src/index.js";

await setup();

const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Exact upper objective for length-2 segments: G(nu, pi) = sum_{i, j} q_i q_j E_label l(nu; i, j), where a
 * segment outcome i = (s0, s1) has probability q_i = mu0(s0) sum_a pi(a|s0) P(s1|s0, a) (the second action
 * does not change the return), and the label is Bradley-Terry (beta) on the true returns. Also returns
 * the partial gradient in nu at fixed pi.
 */
function exactUpper(m: TabularModel, pi: Float64Array, nu: number[], beta: number): { G: number; dNu: number[] } {
  const { nS, nA, d } = m;
  const rt = stateReward(m, m.wTrue);
  const n = nS * nS;
  const q = new Float64Array(n);
  const ret = new Float64Array(n);
  const u = new Float64Array(n * d);
  for (let s0 = 0; s0 < nS; s0++) {
    for (let s1 = 0; s1 < nS; s1++) {
      const i = s0 * nS + s1;
      let p = 0;
      for (let a = 0; a < nA; a++) p += pi[s0 * nA + a] * m.P[(s0 * nA + a) * nS + s1];
      q[i] = m.mu0[s0] * p;
      ret[i] = rt[s0] + rt[s1];
      for (let k = 0; k < d; k++) u[i * d + k] = m.phi[s0 * d + k] + m.phi[s1 * d + k];
    }
  }
  const un = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) un[i] += u[i * d + k] * nu[k];
  let G = 0;
  const dNu = new Array(d).fill(0);
  for (let i = 0; i < n; i++) {
    if (q[i] === 0) continue;
    for (let j = 0; j < n; j++) {
      const w = q[i] * q[j];
      if (w === 0) continue;
      const z = un[i] - un[j];
      const p1 = btProbability(ret[i], ret[j], beta);
      G += w * (p1 * softplus(-z) + (1 - p1) * softplus(z));
      const dz = w * (sigmoid(z) - p1);
      for (let k = 0; k < d; k++) dNu[k] += dz * (u[i * d + k] - u[j * d + k]);
    }
  }
  return { G, dNu };
}

/** The pieces of the exact check at nu0 for task options `o` (length-2 segments). */
async function exactPieces(o: typeof small, nu0: number[]) {
  const p = await parlGridworld(o, 0);
  const m = gridworldModel(gridworldOptions(o));
  const tau = o.tau;
  const Qstar = (nu: number[]) => softValueIterationHost(m, actionReward(m, stateReward(m, nu)), tau, 1e-14).Q;
  const Gtotal = (nu: number[]) => exactUpper(m, policyFromQ(m, Qstar(nu), tau), nu, o.beta).G;
  // total derivative by central differences (the policy re-solved at each nu)
  const e = 1e-5;
  const fd = nu0.map((_, k) => {
    const up = nu0.slice();
    const dn = nu0.slice();
    up[k] += e;
    dn[k] -= e;
    return (Gtotal(up) - Gtotal(dn)) / (2 * e);
  });
  // the two terms: direct partial in nu, and the policy path theta -> distribution (FD in theta, exact G)
  const Q0 = Qstar(nu0);
  const direct = exactUpper(m, policyFromQ(m, Q0, tau), nu0, o.beta).dNu;
  const gTheta = new Float64Array(Q0.length);
  const eq = 1e-6;
  for (let i = 0; i < Q0.length; i++) {
    const up = Float64Array.from(Q0);
    const dn = Float64Array.from(Q0);
    up[i] += eq;
    dn[i] -= eq;
    gTheta[i] = (exactUpper(m, policyFromQ(m, up, tau), nu0, o.beta).G - exactUpper(m, policyFromQ(m, dn, tau), nu0, o.beta).G) / (2 * eq);
  }
  const term = await toFloat64((await p.preference.thetaJacobianT(array(nu0), array(Q0, [m.nS, m.nA]), array(gTheta, [m.nS, m.nA]))) as Arr);
  return { p, m, Q0, fd, direct, term };
}

const nu0 = [0.6, -0.4, 0.2, -0.3, 0.1, 0.25];

test("A-PARL hypergradient: dG/dnu (FD, policy re-solved) = E[grad_nu l] + (dtheta*/dnu)^T grad_theta E[l] (exact, rel < 1e-3)", async (t) => {
  const { fd, direct, term } = await exactPieces({ ...small, segment: 2 }, nu0);
  const hyper = direct.map((v, k) => v + term[k]);
  t.diagnostic(`rel(hyper, FD) = ${relErr(hyper, fd).toExponential(2)}, rel(direct only, FD) = ${relErr(direct, fd).toExponential(2)}`);
  assert.ok(relErr(hyper, fd) < 1e-3, `hypergradient vs FD: rel ${relErr(hyper, fd)} (${hyper} vs ${fd})`);
  // the score-function term matters here: dropping it (PEBBLE's gradient) is far off
  assert.ok(relErr(direct, fd) > 0.05, `direct term alone: rel ${relErr(direct, fd)}`);
});

test("A-PARL score-term estimator (sampled, labelled on-policy pairs) is unbiased for the exact term", async (t) => {
  // tau = 1 keeps the estimator's variance small enough to see the mean with 10^4 pairs
  const { p, m, Q0, term } = await exactPieces({ ...small, segment: 2, tau: 1 }, nu0);
  const h = p.preference;
  const M = 100;
  const n = 100;
  const samples: Float64Array[] = [];
  for (let b = 0; b < M; b++) {
    const batch = await h.queryPairs(array(Q0, [m.nS, m.nA]), n, 5, b);
    const g = scoreGradient(h, array(nu0), array(Q0, [m.nS, m.nA]), batch);
    samples.push(await toFloat64((await h.thetaJacobianT(array(nu0), array(Q0, [m.nS, m.nA]), g)) as Arr));
  }
  const mean = [...term].map((_, k) => samples.reduce((a, v) => a + v[k], 0) / M);
  const se = [...term].map((_, k) => Math.sqrt(samples.reduce((a, v) => a + (v[k] - mean[k]) ** 2, 0) / (M - 1) / M));
  t.diagnostic(`rel ${relErr(mean, term).toFixed(3)}; exact ${[...term].map((v) => v.toFixed(4))}; estimate ${mean.map((v) => v.toFixed(4))}; se ${se.map((v) => v.toFixed(4))}`);
  for (let k = 0; k < term.length; k++) assert.ok(Math.abs(mean[k] - term[k]) < 4 * se[k], `component ${k}: ${mean[k]} vs exact ${term[k]} (se ${se[k]})`);
  assert.ok(relErr(mean, term) < 0.3, `estimate vs exact: rel ${relErr(mean, term)}`);
});

test("aparl on parl-gridworld reaches >= 95% of the optimal true return and records its queries", async () => {
  const task = getTask("parl-gridworld");
  const tuned = task.solverDefaults!.aparl as Record<string, number>;
  const r = await runReleased("parl-gridworld", "aparl");
  assert.equal(r.status, "completed");
  assert.ok(r.final.returnRatio >= 0.95, `returnRatio ${r.final.returnRatio}`);
  assert.ok(Math.abs(r.final.trueReturn / r.final.optimalReturn - r.final.returnRatio) < 1e-12);
  assert.equal(r.final.queries, r.steps * tuned.pairs);
  for (let i = 1; i < r.history.length; i++) assert.ok(r.history[i].queries >= r.history[i - 1].queries);
  assert.equal(r.history[0].queries, 0);
  assert.ok(r.history[0].returnRatio < 0.5, `start (uniform policy) ${r.history[0].returnRatio}`);
});

test("aparl needs a preference problem; other solvers refuse PARL problems (one-line BilevelInputError)", async () => {
  const toy = await getTask("toy-sc").create({ n: 2, random: false }, 0);
  await assert.rejects(solve(toy, "aparl", { steps: 1 }), (e: Error) => e instanceof BilevelInputError && /PreferenceProblem/.test(e.message) && !e.message.includes("\n"));
  const parl = await parlGridworld(parlGridworldDefaults, 0);
  await assert.rejects(solve(parl, "itd", { steps: 1 }), (e: Error) => e instanceof BilevelInputError && /preference/.test(e.message) && !e.message.includes("\n"));
  await assert.rejects(solve(parl, "aparl", { steps: 1, options: { pairs: 0 } }), BilevelInputError);
});

test("aparl and pebble take the optimizer group for the reward update: adam by default, sgd selectable and different", async () => {
  await initEngine({ dtype: "float64", jit: true });
  const rewardAfter = async (solver: "aparl" | "pebble", options: Record<string, string | number>) => {
    const p = await getTask("parl-gridworld").create(getTask("parl-gridworld").defaults, 0);
    const r = await solve(p, solver, { steps: 2, options: { pairs: 2, rewardSteps: 3, ...options } });
    const x = Array.from(await treeToFloat64(r.x));
    tree.dispose(r.y);
    return x;
  };
  for (const solver of ["aparl", "pebble"] as const) {
    assert.equal(getSolver(solver).defaults.optimizer, "adam");
    const adam = await rewardAfter(solver, {});
    assert.deepEqual(await rewardAfter(solver, { optimizer: "adam" }), adam);
    const sgd = await rewardAfter(solver, { optimizer: "sgd" });
    assert.ok(sgd.every(Number.isFinite) && sgd.some((v, i) => v !== adam[i]), `${solver}: optimizer=sgd gave the Adam iterate`);
  }
});
