/**
 * SAC (src/rl/sac.ts) and its squashed Gaussian (src/rl/tanh-gaussian.ts): the density integrates to 1 and
 * the jax and host log-probabilities agree; SAC learns the known optimum of a one-step continuous bandit
 * (r = 1 - (a - s / 2)^2, optimal action s / 2) in a few hundred updates, with flat live buffers; the
 * replay buffer's ring and relabelling.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { array, gaussian, liveBuffers, mulberry32, toFloat64, trackBuffers } from "../src/engine/index.js";
import { HostMLP } from "../src/rl/mlp.js";
import type { ContinuousEnv } from "../src/rl/mujoco/env.js";
import { ReplayBuffer } from "../src/rl/replay-buffer.js";
import { SAC, SACRunner } from "../src/rl/sac.js";
import { tanhGaussian, tanhGaussianHost, tanhGaussianLogProb } from "../src/rl/tanh-gaussian.js";

await setup("float32");

test("tanh-Gaussian: the density of a = tanh(u) integrates to 1; host, sampled and inverted log-probs agree", async () => {
  const net = HostMLP.init([3, 8, 2], 4);
  const obs = [0.3, -0.5, 1.1];
  // density on a fine grid of a in (-1, 1), via the log-prob of the given action (inverting tanh)
  const N = 4000;
  const A = Float64Array.from({ length: N }, (_, i) => -1 + (2 * (i + 0.5)) / N);
  const O = array(Float64Array.from({ length: 3 * N }, (_, i) => obs[i % 3]), [N, 3]);
  const lp = await toFloat64(tanhGaussianLogProb(net.tree(), O, array(A, [N, 1]), 1));
  const mass = lp.reduce((s, v) => s + Math.exp(v) * (2 / N), 0);
  assert.ok(Math.abs(mass - 1) < 2e-3, `density mass ${mass}`);
  // a sampled action's log-prob: host = jax sampled = jax inverted
  const eps = gaussian(mulberry32(3), 1);
  const host = tanhGaussianHost(net, obs, eps);
  const s = tanhGaussian(net.tree(), array([obs]), array(eps, [1, 1]), 1);
  const a = await toFloat64(s.a);
  const logp = await toFloat64(s.logp);
  const inv = await toFloat64(tanhGaussianLogProb(net.tree(), array([obs]), array(a, [1, 1]), 1));
  assert.ok(Math.abs(a[0] - host.action[0]) < 1e-5 && Math.abs(logp[0] - host.logProb) < 1e-4 && Math.abs(inv[0] - host.logProb) < 1e-3, `${a[0]} ${host.action[0]} ${logp[0]} ${inv[0]} ${host.logProb}`);
});

/** One-step episodes: s ~ U[-1, 1], r = 1 - (a - s / 2)^2 (the optimum a*(s) = s / 2, value 1). */
class Bandit implements ContinuousEnv {
  readonly name = "bandit";
  readonly obsDim = 1;
  readonly actDim = 1;
  readonly maxSteps = 1;
  readonly actionRepeat = 1;
  private s = 0;
  reset(seed: number) {
    this.s = 2 * mulberry32(seed)() - 1;
    return [this.s];
  }
  step(a: ArrayLike<number>) {
    return { obs: [this.s], reward: 1 - (a[0] - this.s / 2) ** 2, terminated: true, truncated: false };
  }
  dispose() {}
}

test("sac: learns the bandit's optimal action a = s / 2 in 200 updates; live buffers stay flat", async () => {
  const env = new Bandit();
  const agent = new SAC(1, 1, { hidden: 16, batch: 32, seedSteps: 50, lr: 3e-3, alphaLr: 3e-3 }, 0);
  const buffer = new ReplayBuffer(1000, 1, 1);
  const runner = new SACRunner(env, agent, buffer, 0);
  const states = [-0.8, -0.4, 0, 0.4, 0.8];
  const err = () => Math.max(...states.map((s) => Math.abs(agent.act([s], true).action[0] - s / 2)));
  const before = err();
  await runner.run(50); // the random seed steps
  await trackBuffers();
  await runner.run(20);
  const live = liveBuffers();
  await runner.run(180);
  assert.deepEqual(liveBuffers(), live, "live buffers after 180 more updates");
  const after = err();
  assert.ok(before > 0.3, `the initial policy is not already optimal (error ${before})`);
  assert.ok(after < 0.12, `mean action error after 200 updates: ${after}`);
  assert.ok((await agent.alpha()) < 0.1, "the temperature falls from 0.1 (entropy above the target -1)");
  // the seed steps took uniform actions: their mean reward is the random policy's, below the learned one
  const randomMean = buffer.trueReward.subarray(0, 50).reduce((s, v) => s + v, 0) / 50;
  const learnedMean = buffer.trueReward.subarray(200, 250).reduce((s, v) => s + v, 0) / 50;
  assert.ok(learnedMean > randomMean + 0.1, `returns: random ${randomMean}, learned ${learnedMean}`);
  agent.dispose();
});

test("replay buffer: a ring of fixed capacity; relabel rewrites the learning reward only", () => {
  const b = new ReplayBuffer(3, 1, 1);
  for (let i = 0; i < 5; i++) b.add({ obs: [i], act: [0], reward: i, trueReward: 10 * i, nextObs: [i + 1], terminated: i === 4, logProb: 0, episode: 0, time: i });
  assert.equal(b.size, 3);
  assert.deepEqual(Array.from(b.obs), [3, 4, 2]);
  b.relabel((obs, _a, n) => Float64Array.from({ length: n }, (_, i) => -obs[i]));
  assert.deepEqual(Array.from(b.reward), [-3, -4, -2]);
  assert.deepEqual(Array.from(b.trueReward), [30, 40, 20]);
  assert.deepEqual(Array.from(b.notDone), [1, 0, 1]);
  assert.throws(() => new ReplayBuffer(0, 1, 1), /capacity/);
});
