/**
 * PARL control tasks (src/tasks/parl-control.ts): determinism by seed, the Bradley–Terry oracle's
 * statistics, the reward model learning from preferences (held-out accuracy), the hooks' shapes and
 * ownership, and a short aparl run on parl-cartpole improving the true return.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { array, jax, liveBuffers, mulberry32, setFloatDtype, tdispose, toFloat64, trackBuffers, tref, type Arr, type Tree } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { Adam } from "../src/optim/host-adam.js";
import { PolicyGradient, scaledAdvantages } from "../src/rl/reinforce.js";
import { RewardModel } from "../src/rl/reward-model.js";
import { rewardSensitivityT } from "../src/rl/reward-sensitivity.js";
import { rollout } from "../src/rl/rollout.js";
import { SoftmaxPolicy } from "../src/rl/softmax-policy.js";
import { CartPole } from "../src/rl/cartpole.js";
import { concatPairs } from "../src/rl/preference-problem.js";
import { parlControl, PARL_CONTROL_DEFAULTS, type ParlControlOptions } from "../src/tasks/parl-control.js";
import { solve } from "../src/run.js";

await setup("float32");

const opts = (over: Partial<ParlControlOptions> = {}): ParlControlOptions => ({ ...PARL_CONTROL_DEFAULTS, ...over });
const read = async (t: Tree) => {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(t as Record<string, Arr>)) out[k] = Array.from(await toFloat64(v));
  return out;
};

test("parl-cartpole: init, queries and policy updates are determined by the seed", async () => {
  const run = async () => {
    const p = await parlControl("cartpole", opts({ pgUpdates: 2 }), 0);
    const { x, y } = p.init(3);
    const pairs = await read(await p.preference.queryPairs(tref(y), 4, 3, 0));
    const theta = await p.preference.improvePolicy(tref(x), y, 3, 0);
    const q = p.preference.queries();
    return { x: Array.from(await toFloat64(x)), theta: Array.from(await toFloat64(theta)), pairs, q };
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a, b);
  assert.equal(a.q, 4);
  assert.deepEqual(a.pairs.label.length, 4);
  assert.equal(a.pairs.obs.length, 4 * 2 * 200 * 4); // whole episodes padded to the time limit
  const p = await parlControl("cartpole", opts(), 0);
  const other = p.init(4);
  assert.notDeepEqual(Array.from(await toFloat64(other.x)), a.x);
  tdispose(other.y);
});

test("parl-control: bad options throw one-line BilevelInputErrors", async () => {
  await assert.rejects(() => parlControl("pendulum", opts(), 0), BilevelInputError);
  await assert.rejects(() => parlControl("cartpole", opts({ noise: 0.7 }), 0), BilevelInputError);
  await assert.rejects(() => parlControl("cartpole", opts({ segment: 300 }), 0), BilevelInputError);
  await assert.rejects(() => parlControl("cartpole", opts({ pgUpdates: 0 }), 0), BilevelInputError);
});

test("oracle: Bradley-Terry labels follow the true returns; noise flips the stated fraction", async () => {
  // whole-episode pairs from the initial policy: returns are episode lengths (about 10-60 steps)
  const count = async (noise: number, equalTies = true) => {
    const p = await parlControl("cartpole", opts({ noise, equalTies, heldOutPairs: 1 }), 0);
    const { x, y } = p.init(0);
    tdispose(x);
    const pairs = (await p.preference.queryPairs(y, 400, 0, 0)) as Record<string, Arr>;
    const mask = await toFloat64(pairs.mask);
    const label = await toFloat64(pairs.label);
    tdispose([pairs.obs, pairs.act]);
    let far = 0;
    let wrongFar = 0;
    const ties: number[] = [];
    for (let i = 0; i < 400; i++) {
      let R1 = 0;
      let R2 = 0;
      for (let t = 0; t < 200; t++) (R1 += mask[(2 * i) * 200 + t]), (R2 += mask[(2 * i + 1) * 200 + t]);
      if (R1 === R2) ties.push(label[i]);
      if (Math.abs(R1 - R2) >= 8) {
        // sigmoid(-8) = 3e-4: without noise these labels are the true preference
        far++;
        if ((label[i] === 1) !== R1 > R2) wrongFar++;
      }
    }
    return { far, rate: wrongFar / far, ties };
  };
  const clean = await count(0);
  const noisy = await count(0.2);
  assert.ok(clean.ties.length > 5 && clean.ties.every((v) => v === 0.5), `equal returns are labelled 0.5 (B-Pref 'equal'): ${clean.ties.length} ties`);
  const coin = await count(0, false);
  assert.ok(coin.ties.every((v) => v === 0 || v === 1), "equalTies = false: ties get Bradley-Terry coin flips");
  assert.ok(clean.far > 150, `pairs with |R1 - R2| >= 8: ${clean.far}`);
  assert.ok(clean.rate < 0.01, `noiseless disagreement ${clean.rate}`);
  const sd = Math.sqrt((0.2 * 0.8) / noisy.far);
  assert.ok(Math.abs(noisy.rate - 0.2) < 3 * sd, `noise 0.2: flipped ${noisy.rate} (3 sd = ${3 * sd})`);
});

test("reward model: 40 queried pairs give > 90% preference accuracy on 100 held-out pairs", async () => {
  const p = await parlControl("cartpole", opts(), 0);
  const h = p.preference;
  const { x, y } = p.init(1);
  const a = await h.queryPairs(tref(y), 20, 1, 0);
  const b = await h.queryPairs(y, 20, 1, 1);
  const data = concatPairs([a, b]);
  const freshTheta = () => {
    const s = p.init(1);
    tdispose(s.x);
    return s.y;
  };
  const before = (await p.evaluate!(tref(x), freshTheta())).prefAccuracy;
  const grad = jax.jit(jax.grad((nu: Arr, d: Tree) => h.pairNll(nu, d).mean()));
  let nu = x;
  const flat = Float64Array.from(await toFloat64(tref(nu)));
  const adam = new Adam(flat.length, 0.01);
  await trackBuffers();
  let live0 = 0;
  for (let s = 0; s < 150; s++) {
    adam.step(flat, await toFloat64(grad(nu.ref, tref(data)) as Arr));
    nu.dispose();
    nu = array(flat);
    if (s === 10) live0 = liveBuffers().count;
  }
  assert.equal(liveBuffers().count, live0, "live buffers flat over reward steps");
  (grad as unknown as { dispose(): void }).dispose();
  tdispose(data);
  const ev = await p.evaluate!(nu, freshTheta());
  console.log(`reward model: held-out preference accuracy ${before.toFixed(3)} -> ${ev.prefAccuracy.toFixed(3)} after 40 queries`);
  assert.equal(ev.queries, 0); // init resets the counter
  assert.ok(ev.prefAccuracy > 0.9, `held-out accuracy ${ev.prefAccuracy}`);
});

test("hooks: shapes, thetaJacobianT is zero before any policy update and finite after", async () => {
  const p = await parlControl("cartpole", opts({ pgUpdates: 1 }), 0);
  const h = p.preference;
  const { x, y } = p.init(0);
  const pairs = await h.queryPairs(tref(y), 3, 0, 0);
  assert.deepEqual(h.pairNll(tref(x), tref(pairs)).shape, [3]);
  const lp = await toFloat64(h.pairLogProb(tref(y), tref(pairs)));
  assert.ok(lp.every((v) => v < 0 && Number.isFinite(v)));
  tdispose(pairs);
  const z = await toFloat64(await h.thetaJacobianT(tref(x), tref(y), tref(y)));
  assert.ok(z.every((v) => v === 0));
  const theta = await h.improvePolicy(tref(x), y, 0, 0);
  const j = await toFloat64(await h.thetaJacobianT(tref(x), tref(theta), tref(theta)));
  assert.equal(j.length, x.shape[0]);
  assert.ok(j.every(Number.isFinite) && j.some((v) => v !== 0));
  tdispose([x, theta]);
});

test("stateReward: the reward model ignores the action, on the host and in pairNll", async () => {
  const m = RewardModel.create(4, 2, [8], [1, 1, 1, 1], 3, false);
  const s = [0.1, -0.2, 0.03, 0.4];
  assert.equal(m.reward(s, 0), m.reward(s, 1));
  const withA = RewardModel.create(4, 2, [8], [1, 1, 1, 1], 3);
  assert.notEqual(withA.reward(s, 0), withA.reward(s, 1));
  const p = await parlControl("cartpole", opts({ stateReward: true, heldOutPairs: 4 }), 0);
  const { x, y } = p.init(0);
  const pairs = (await p.preference.queryPairs(y, 4, 0, 0)) as Record<string, Arr>;
  const flipped = { ...pairs, act: jax.numpy.flip(pairs.act.ref, -1) }; // swap actions 0 and 1
  const a = await toFloat64(p.preference.pairNll(tref(x), tref(pairs)));
  const b = await toFloat64(p.preference.pairNll(x, flipped)); // consumes obs, mask, label and the flipped act
  pairs.act.dispose();
  assert.deepEqual(Array.from(a), Array.from(b));
});

test("rewardSensitivityT (the score term's d theta / d nu) matches central differences of the PG step (float64)", async () => {
  setFloatDtype("float64");
  try {
    const scale = [1 / 2.4, 1 / 2, 1 / 0.2, 1 / 2];
    const env = new CartPole(200);
    const policy = SoftmaxPolicy.create(4, 2, [8], scale, 5);
    const model = RewardModel.create(4, 2, [8], scale, 6);
    const batch = rollout(env, policy, 4, 9);
    const pg = new PolicyGradient(env, policy, { episodes: 4, gamma: 0.99 });
    const fn = rewardSensitivityT(policy.net, model, 200, 0.99);
    const rand = mulberry32(1);
    const v = Float64Array.from({ length: policy.net.size }, () => rand() - 0.5);
    const u = Float64Array.from({ length: model.net.size }, () => rand() - 0.5);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
    const nu0 = Float64Array.from(model.net.theta);
    const sd = scaledAdvantages(model.episodeRewards(batch), 0.99).sd;
    const Ju = dot(await toFloat64(await fn(batch, policy.net.flatArray(), model.net.flatArray(), v)), u);
    // phi(nu) = v . g_hat(nu), g_hat = minus the REINFORCE loss gradient with the advantages' sd held at nu0
    const phi = async (eps: number) => {
      model.net.theta.set(nu0.map((x, i) => x + eps * u[i]));
      return -dot(await pg.gradient(batch, model.episodeRewards(batch), sd), v);
    };
    const eps = 1e-4;
    const fd = ((await phi(eps)) - (await phi(-eps))) / (2 * eps);
    pg.dispose();
    console.log(`rewardSensitivityT . u = ${Ju}, central difference ${fd}`);
    assert.ok(Math.abs(Ju) > 1e-3, `non-trivial directional derivative ${Ju}`);
    assert.ok(Math.abs(Ju - fd) <= 1e-5 * Math.abs(fd), `relative error ${Math.abs(Ju - fd) / Math.abs(fd)}`);
  } finally {
    setFloatDtype("float32");
  }
});

test("aparl on parl-cartpole: 4 outer steps (40 queries) raise the true return", async () => {
  const p = await parlControl("cartpole", opts(), 0);
  const t0 = Date.now();
  const r = await solve(p, "aparl", { steps: 4, seed: 0, evalEvery: 4, options: { pairs: 10 } });
  tdispose([r.x, r.y]);
  const first = r.history[0];
  console.log(`aparl 4 steps: trueReturn ${first.trueReturn} -> ${r.final.trueReturn}, queries ${r.final.queries}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(r.status, "completed");
  assert.equal(r.final.queries, 40);
  assert.ok(first.trueReturn < 40, `initial return ${first.trueReturn}`);
  assert.ok(r.final.trueReturn > first.trueReturn + 60, `return ${first.trueReturn} -> ${r.final.trueReturn}`);
});
