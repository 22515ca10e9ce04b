/**
 * MuJoCo environments (src/rl/mujoco/): physical facts of the models and the suite's reward definitions —
 * energy conservation without actuation and damping, rewards in [0, 1], determinism by seed, action
 * bounds, one-line errors for bad actions, the episode length and the closed-form rewards at known states.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mulberry32 } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { CartpoleSwingup, CheetahRun, loadMujoco, makeMujocoEnv, tolerance, type ContinuousEnv } from "../src/rl/mujoco/index.js";

const mj = await loadMujoco();

function run(env: ContinuousEnv, seed: number, steps: number, actions: (t: number) => number[]) {
  const obs = [env.reset(seed)];
  const rewards: number[] = [];
  for (let t = 0; t < steps; t++) {
    const r = env.step(actions(t));
    obs.push(r.obs);
    rewards.push(r.reward);
  }
  return { obs, rewards };
}

const randomActions = (env: ContinuousEnv, seed: number) => {
  const rand = mulberry32(seed);
  return () => Array.from({ length: env.actDim }, () => 2 * rand() - 1);
};

test("mujoco tolerance: dm_control's sigmoids at the bounds and at the margin", () => {
  assert.equal(tolerance(0.3, { bounds: [0, 1], margin: 1 }), 1);
  assert.ok(Math.abs(tolerance(2, { margin: 2 }) - 0.1) < 1e-12); // gaussian: value_at_margin 0.1 at distance = margin
  assert.ok(Math.abs(tolerance(-1, { margin: 2 }) - Math.exp(-0.5 * 0.25 * -2 * Math.log(0.1))) < 1e-12);
  assert.ok(Math.abs(tolerance(0.5, { margin: 1, sigmoid: "quadratic", valueAtMargin: 0 }) - 0.75) < 1e-12);
  assert.equal(tolerance(1.5, { margin: 1, sigmoid: "quadratic", valueAtMargin: 0 }), 0);
  assert.ok(Math.abs(tolerance(4, { bounds: [10, Infinity], margin: 10, sigmoid: "linear", valueAtMargin: 0 }) - 0.4) < 1e-12);
  assert.equal(tolerance(-3, { bounds: [10, Infinity], margin: 10, sigmoid: "linear", valueAtMargin: 0 }), 0);
  assert.equal(tolerance(0.1), 0); // margin 0: the indicator of the bounds
});

test("mujoco cartpole: energy is conserved with no actuation and no damping, and decays with damping", () => {
  const free = new CartpoleSwingup(mj, { damping: false });
  free.reset(0);
  free.setState([0, 2.0], [0, -1.0]);
  const e0 = free.energy();
  let xMax = 0;
  for (let t = 0; t < 500; t++) xMax = Math.max(xMax, Math.abs(free.step([0]).obs[0]));
  assert.ok(xMax < 1.5, `the cart stays off the rail's end (the limit is dissipative): |x| <= ${xMax}`);
  const e1 = free.energy();
  assert.ok(Math.abs(e1 - e0) < 1e-6 * Math.abs(e0), `energy ${e0} -> ${e1}`);
  free.dispose();
  const damped = new CartpoleSwingup(mj);
  damped.reset(0);
  damped.setState([0, 2.0], [0, -1.0]);
  const d0 = damped.energy();
  for (let t = 0; t < 500; t++) damped.step([0]);
  assert.ok(damped.energy() < d0 - 1e-7, `damped energy ${d0} -> ${damped.energy()}`);
  damped.dispose();
});

test("mujoco envs: rewards in [0, 1], 1000-step episodes of 10 s, identical rollouts for one seed", async () => {
  for (const name of ["cartpole-swingup", "cheetah-run"]) {
    const env = await makeMujocoEnv(name);
    const a = run(env, 7, 1000, randomActions(env, 1));
    assert.ok(a.rewards.every((r) => r >= 0 && r <= 1), `${name}: reward outside [0, 1]`);
    assert.equal((env as CartpoleSwingup).time().toFixed(6), "10.000000", `${name}: episode time`);
    assert.throws(() => env.step(new Array(env.actDim).fill(0)), /after the episode ended/);
    assert.equal(a.obs[0].length, env.obsDim);
    const b = run(env, 7, 1000, randomActions(env, 1));
    assert.deepEqual(b.obs, a.obs, `${name}: same seed, same observations`);
    assert.deepEqual(b.rewards, a.rewards);
    const c = run(env, 8, 5, randomActions(env, 1));
    assert.notDeepEqual(c.obs[0], a.obs[0], `${name}: another seed, another start`);
    env.dispose();
  }
});

test("mujoco envs: actions are clipped to [-1, 1]; bad actions throw one-line BilevelInputErrors", async () => {
  for (const name of ["cartpole-swingup", "cheetah-run"]) {
    const env = await makeMujocoEnv(name);
    const n = env.actDim;
    const big = run(env, 3, 20, (t) => new Array(n).fill(t % 2 ? 5 : -7));
    const unit = run(env, 3, 20, (t) => new Array(n).fill(t % 2 ? 1 : -1));
    assert.deepEqual(big.obs, unit.obs, `${name}: out-of-range actions act as the bounds`);
    env.reset(0);
    for (const bad of [new Array(n + 1).fill(0), [], new Array(n).fill(NaN), new Array(n).fill(Infinity)]) {
      assert.throws(
        () => env.step(bad),
        (e: Error) => e instanceof BilevelInputError && /^action/.test(e.message) && !e.message.includes("\n"),
      );
    }
    env.dispose();
    assert.throws(() => env.reset(0), BilevelInputError);
  }
  await assert.rejects(makeMujocoEnv("walker-fly"), /env: expected one of/);
});

test("mujoco rewards at known states: cartpole upright at rest scores ~1; cheetah's is its speed / 10, clipped", () => {
  const cp = new CartpoleSwingup(mj);
  cp.reset(0);
  cp.setState([0, 0], [0, 0]);
  const up = cp.step([0]);
  assert.ok(up.reward > 0.9999 && up.reward <= 1, `upright reward ${up.reward}`);
  assert.ok(Math.abs(up.obs[1] - 1) < 1e-6 && Math.abs(up.obs[2]) < 1e-6);
  const down = cp.reset(0); // hanging down: upright = 0
  assert.ok(down[1] < -0.999);
  cp.dispose();
  const ch = new CheetahRun(mj);
  ch.reset(1);
  const rand = mulberry32(2);
  let moved = 0;
  for (let t = 0; t < 300; t++) {
    const r = ch.step(Array.from({ length: 6 }, () => 2 * rand() - 1));
    const v = ch.speed();
    assert.ok(Math.abs(r.reward - Math.min(Math.max(v / 10, 0), 1)) < 1e-12);
    moved = Math.max(moved, Math.abs(v));
  }
  assert.ok(moved > 0.05, "random torques move the cheetah");
  ch.reset(1); // after the 200 settling steps with zero control the runner is (nearly) at rest
  assert.ok(Math.abs(ch.speed()) < 0.05, `settled speed ${ch.speed()}`);
  ch.dispose();
});
