/**
 * Classic-control environments (CartPole, Acrobot), written from Gym's equations: one step from fixed
 * states against values worked out from the equations, termination thresholds, seeding, bad input; and
 * the REINFORCE learner on CartPole's true reward.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { BilevelInputError } from "../src/errors.js";
import { CartPole, cartpoleDynamics, cartpoleTerminal, CARTPOLE } from "../src/rl/cartpole.js";
import { Acrobot, acrobotDynamics, acrobotTerminal } from "../src/rl/acrobot.js";
import { HostMLP, mlpApply } from "../src/rl/mlp.js";
import { advantages, PolicyGradient } from "../src/rl/reinforce.js";
import { averageReturn, rollout } from "../src/rl/rollout.js";
import { SoftmaxPolicy } from "../src/rl/softmax-policy.js";
import { array, toFloat64 } from "../src/engine/index.js";

await setup("float32");

const close = (a: number[], b: number[], tol: number, what: string) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `${what}[${i}]: ${v} vs ${b[i]}`));

test("cartpole: one Euler step from rest, pushing right, equals the closed form", () => {
  // From s = 0 with F = +10: temp = F / (m_c + m_p) = 100/11; thetaAcc = -temp / (l (4/3 - m_p / 1.1))
  // = -(100/11) (66/41) = -600/41; xAcc = temp + m_p l (600/41) / 1.1 = 4400/451. After tau = 0.02:
  // xDot = 88/451, thetaDot = -12/41 (positions still 0: Euler moves them by the old velocities).
  close(cartpoleDynamics([0, 0, 0, 0], 1), [0, 88 / 451, 0, -12 / 41], 1e-15, "rest");
  // a tilted, moving state pushed left (reference: a separate float64 transcription of the equations)
  close(cartpoleDynamics([0.1, -0.2, 0.05, 0.3], 0), [0.096, -0.3957976546439626, 0.056, 0.6080233136061515], 1e-14, "tilted");
  // symmetry: mirroring the state and the force mirrors the step
  const s = [0.3, 0.7, -0.1, -0.4];
  const m = cartpoleDynamics(s.map((v) => -v), 0).map((v) => -v);
  close(cartpoleDynamics(s, 1), m, 1e-14, "mirror");
});

test("cartpole: termination at |x| > 2.4 or |theta| > 12 degrees, reward 1, truncation at maxSteps", () => {
  const th = (12 * 2 * Math.PI) / 360;
  assert.equal(CARTPOLE.thetaThreshold, th);
  assert.equal(cartpoleTerminal([2.4, 0, 0, 0]), false);
  assert.equal(cartpoleTerminal([2.4000001, 0, 0, 0]), true);
  assert.equal(cartpoleTerminal([-2.4000001, 0, 0, 0]), true);
  assert.equal(cartpoleTerminal([0, 0, th * 0.999999, 0]), false);
  assert.equal(cartpoleTerminal([0, 0, -th * 1.000001, 0]), true);
  const env = new CartPole();
  env.setState([2.39, 1, 0, 0]); // x moves by tau * 1 = 0.02 -> 2.41
  const r = env.step(1);
  assert.deepEqual([r.terminated, r.truncated, r.reward], [true, false, 1]);
  assert.throws(() => env.step(1), BilevelInputError); // stepping past the end
  // always pushing right from a seeded start falls over well before 200 steps
  env.reset(3);
  let n = 0;
  for (;;) {
    n++;
    const s = env.step(1);
    if (s.terminated || s.truncated) break;
  }
  assert.ok(n > 5 && n < 40, `always-right episode length ${n}`);
  // truncation: maxSteps 3 cuts a balanced start
  const short = new CartPole(3);
  short.setState([0, 0, 0, 0]);
  const seq = [1, 0, 1].map((a) => short.step(a));
  assert.deepEqual(seq.map((s) => s.truncated), [false, false, true]);
});

test("cartpole: reset is uniform in [-0.05, 0.05] and determined by the seed; bad actions throw", () => {
  const env = new CartPole();
  const a = env.reset(7);
  const b = new CartPole().reset(7);
  assert.deepEqual(a, b);
  assert.notDeepEqual(env.reset(8), a);
  for (let s = 0; s < 50; s++) for (const v of env.reset(s)) assert.ok(Math.abs(v) <= 0.05);
  env.reset(0);
  for (const bad of [2, -1, 0.5, NaN]) assert.throws(() => env.step(bad), BilevelInputError);
  assert.throws(() => new CartPole(0), BilevelInputError);
  // same seed and actions -> same trajectory
  const run = () => {
    const e = new CartPole();
    e.reset(11);
    return [0, 1, 1, 0, 1].map((act) => e.step(act).obs);
  };
  assert.deepEqual(run(), run());
});

test("acrobot: RK4 step against reference values, termination height, reward, bad actions", () => {
  // reference values: a separate float64 transcription of Gym's "book" equations and rk4 over [0, 0.2]
  close(acrobotDynamics([0, 0, 0, 0], 2), [-0.013262967177227795, 0.03428722934738544, -0.12866185280996106, 0.33450108998660194], 1e-12, "torque +1 from rest");
  close(acrobotDynamics([0.3, -0.5, 1.0, -2.0], 0), [0.4567243571393165, -0.835017996164501, 0.5348074096713595, -1.295310980346605], 1e-12, "torque -1");
  // hanging at rest without torque is an equilibrium
  close(acrobotDynamics([0, 0, 0, 0], 1), [0, 0, 0, 0], 1e-12, "equilibrium");
  // the tip height -cos(t1) - cos(t1 + t2) must exceed 1
  assert.equal(acrobotTerminal([Math.PI, 0, 0, 0]), true); // height 2
  assert.equal(acrobotTerminal([Math.PI / 2, 0, 0, 0]), false); // height ~0
  assert.equal(acrobotTerminal([Math.PI / 2, Math.PI / 2 - 0.01, 0, 0]), false); // height sin(0.01) < 1... ~0.01
  assert.equal(acrobotTerminal([Math.PI, -Math.PI / 2 + 0.1, 0, 0]), true); // 1 + sin(0.1) > 1
  const env = new Acrobot();
  const o = env.reset(5);
  assert.equal(o.length, 6);
  assert.deepEqual(new Acrobot().reset(5), o);
  for (const v of env.getState()) assert.ok(Math.abs(v) <= 0.1);
  const r = env.step(1);
  assert.deepEqual([r.reward, r.terminated], [-1, false]);
  env.setState([Math.PI - 0.05, 0, 0, 0]);
  const t = env.step(1);
  assert.deepEqual([t.reward, t.terminated], [0, true]);
  assert.throws(() => env.step(1), BilevelInputError);
  env.reset(0);
  for (const bad of [3, -1, 1.5]) assert.throws(() => env.step(bad), BilevelInputError);
  // angles wrapped to [-pi, pi], velocities clipped to 4 pi / 9 pi
  const w = acrobotDynamics([3.1, -3.1, 12.5, -28], 2);
  assert.ok(Math.abs(w[0]) <= Math.PI && Math.abs(w[1]) <= Math.PI && Math.abs(w[2]) <= 4 * Math.PI && Math.abs(w[3]) <= 9 * Math.PI);
});

test("policy: the host MLP forward matches the jax-js MLP; advantages have the time-indexed baseline", async () => {
  const net = HostMLP.init([4, 8, 3], 1);
  const x = [0.3, -1.2, 0.5, 2.0];
  const host = Array.from(net.forward(x));
  const jx = Array.from(await toFloat64(mlpApply(net.tree(), array([x]))));
  close(jx, host, 1e-5, "mlp");
  // two episodes, gamma 1: G = [[3,2,1],[1]]; baseline per t = [2, 2, 1]; A = [[1,0,0],[-1]] / sqrt(2/4)
  const A = advantages([[1, 1, 1], [1]], 1);
  close(A[0], [Math.SQRT2, 0, 0], 1e-7, "A0"); // sd carries a 1e-8 guard
  close(A[1], [-Math.SQRT2], 1e-7, "A1");
});

test("policy: rollouts are determined by the seed; REINFORCE on the true reward solves CartPole-v0", async () => {
  const env = new CartPole(200);
  const scale = [1 / 2.4, 1 / 2, 1 / 0.2, 1 / 2];
  const pol = SoftmaxPolicy.create(4, 2, [16], scale, 0);
  const r1 = rollout(env, pol, 3, 42);
  const r2 = rollout(env, pol, 3, 42);
  assert.deepEqual(r1, r2);
  const before = averageReturn(env, pol, 100, 7);
  const pg = new PolicyGradient(env, pol, { episodes: 10, lr: 0.02 });
  const t0 = Date.now();
  for (let u = 0; u < 40; u++) await pg.update(u);
  const ms = Date.now() - t0;
  pg.dispose();
  const after = averageReturn(env, pol, 100, 7); // sampled actions, 100 fresh episodes
  console.log(`cartpole REINFORCE: 40 updates x 10 episodes in ${ms} ms; return ${before.toFixed(1)} -> ${after.toFixed(1)}`);
  assert.ok(before < 40, `initial return ${before}`);
  assert.ok(after >= 195, `return after 400 episodes ${after} (solved threshold 195)`);
});
