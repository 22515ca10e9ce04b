/**
 * What the PARL-on-MuJoCo bench added: the environments' action repeat (R physics steps per control
 * step, rewards summed: the same trajectory as R control steps of the repeat-1 environment), the
 * episode-length check, the true-reward ceiling (`reward=true`), and the reward learner's stop at a
 * training accuracy (B-Pref's 0.97; `accuracy` of aparl / pebble): the stopped run ends exactly where
 * the unstopped run of the first step count that reaches the accuracy ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { array, mulberry32, np, tdispose, toFloat64, zeros, type Arr, type Tree } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { CartpoleSwingup, CheetahRun, loadMujoco } from "../src/rl/mujoco/index.js";
import type { PreferenceProblem } from "../src/rl/preference-problem.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";

await setup();
const mj = await loadMujoco();

test("mujoco action repeat R: one control step = R repeat-1 steps with the same action, rewards summed; episodes of maxSteps control steps", () => {
  for (const [make, R] of [
    [(o: { maxSteps: number; actionRepeat: number }) => new CartpoleSwingup(mj, o), 8],
    [(o: { maxSteps: number; actionRepeat: number }) => new CheetahRun(mj, o), 4],
  ] as const) {
    const rep = make({ maxSteps: 5, actionRepeat: R });
    const one = make({ maxSteps: 5 * R, actionRepeat: 1 });
    assert.deepEqual(rep.reset(3), one.reset(3));
    const rand = mulberry32(4);
    let rSum = 0;
    for (let t = 0; t < 5; t++) {
      const a = Array.from({ length: rep.actDim }, () => 2 * rand() - 1);
      const big = rep.step(a);
      let sum = 0;
      let last = null as null | { obs: number[]; truncated: boolean };
      for (let k = 0; k < R; k++) {
        const s = one.step(a);
        sum += s.reward;
        last = s;
      }
      assert.deepEqual(big.obs, last!.obs, `${rep.name} t=${t}: the state after R physics steps`);
      assert.ok(Math.abs(big.reward - sum) <= 1e-12, `${rep.name} t=${t}: reward ${big.reward} vs summed ${sum}`);
      assert.ok(sum > 0 || rep.name === "cheetah-run");
      assert.equal(big.truncated, t === 4);
      assert.equal(last!.truncated, t === 4);
      rSum += big.reward;
    }
    assert.ok(rSum <= 5 * R, "each physics step's reward is in [0, 1]");
    assert.throws(() => make({ maxSteps: 5, actionRepeat: 0 }), (e: Error) => e instanceof BilevelInputError && /^actionRepeat: expected a positive integer/.test(e.message));
    rep.dispose();
    one.dispose();
  }
});

test("parl-mujoco: maxSteps x actionRepeat above the suite's 1000 physics steps is refused in one line", async () => {
  const spec = getTask("parl-mujoco-cartpole-swingup");
  await assert.rejects(
    spec.create({ ...spec.defaults, maxSteps: 200, actionRepeat: 8 } as never, 0),
    (e: Error) => e instanceof BilevelInputError && /^maxSteps: expected maxSteps x actionRepeat <= 1000/.test(e.message) && !e.message.includes("\n"),
  );
});

test("parl-mujoco reward=true (the SAC ceiling): the policy learns on the true reward; queries still counted, same environment steps", async () => {
  const spec = getTask("parl-mujoco-cartpole-swingup");
  const p = await spec.create({ ...spec.defaults, smoke: true, reward: "true", actionRepeat: 4 } as never, 0);
  const r = await solve(p, "pebble", { steps: 2, evalEvery: 2, seed: 0, options: { pairs: 1, rewardSteps: 1, lr: 3e-4 } });
  assert.equal(r.status, "completed");
  const f = r.final as Record<string, number>;
  assert.equal(f.queries, 2);
  assert.equal(f.envSteps, 60 + 2 * 40);
  assert.ok(f.trueReturn >= 0 && f.trueReturn <= 50 * 4, `trueReturn ${f.trueReturn} (50 control steps of 4 physics steps)`);
  tdispose([r.x, r.y] as Tree[]);
});

/**
 * A two-parameter preference problem with hard labels: z_i = dphi_i . nu, l_i = softplus(z_i) - y_i z_i,
 * y_i = [dphi_i . w > 0]; fixed pairs per outer step, no lower level to speak of.
 */
function linearPreferences(n: number): { problem: PreferenceProblem<Arr, Arr>; pairs: (k: number) => { dphi: Arr; label: Arr } } {
  const w = [1, -2];
  const pairs = (k: number) => {
    const rand = mulberry32(100 + k);
    const dphi = new Float64Array(2 * n);
    const label = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      dphi[2 * i] = 2 * rand() - 1;
      dphi[2 * i + 1] = 2 * rand() - 1;
      label[i] = dphi[2 * i] * w[0] + dphi[2 * i + 1] * w[1] > 0 ? 1 : 0;
    }
    return { dphi: array(dphi, [n, 2]), label: array(label, [n]) };
  };
  const pairNll = (nu: Arr, t: Tree) => {
    const { dphi, label } = t as { dphi: Arr; label: Arr };
    const z = np.matmul(dphi, nu.reshape([2, 1])).reshape([-1]);
    return np.log1p(np.exp(z.ref.neg())).add(z.ref).sub(label.mul(z));
  };
  let queries = 0;
  const problem: PreferenceProblem<Arr, Arr> = {
    name: "linear-preferences",
    init: () => ((queries = 0), { x: zeros([2]), y: zeros([1]) }),
    upper: (nu, theta) => (theta.dispose(), pairNll(nu, pairs(0)).mean()),
    lower: (nu, theta) => (nu.dispose(), theta.mul(theta.ref).sum()),
    preference: {
      improvePolicy: async (nu, theta) => (nu.dispose(), theta),
      queryPairs: async (theta, m, _s, k) => (theta.dispose(), assert.equal(m, n), (queries += m), pairs(k)),
      pairNll,
      pairLogProb: (theta, t) => (tdispose(t), theta.sum().mul(0).reshape([1])),
      thetaJacobianT: async (nu, theta, g) => (tdispose([theta, g]), nu.mul(0)),
      queries: () => queries,
    },
  };
  return { problem, pairs };
}

test("aparl / pebble accuracy: the reward steps stop at the first step where >= accuracy of the labelled pairs have NLL < ln 2", async () => {
  const n = 40;
  const { problem, pairs } = linearPreferences(n);
  const common = { pairs: n, lr: 0.02 };
  const run = async (o: Record<string, number>) => {
    const r = await solve(problem, "pebble", { steps: 1, evalEvery: 1, seed: 0, options: { ...common, ...o } });
    const x = await toFloat64(r.x as Arr); // consumes r.x
    tdispose(r.y as Tree);
    return x;
  };
  const accuracyAt = async (x: Float64Array) => {
    const l = await toFloat64(problem.preference.pairNll(array(x), pairs(0)));
    return l.filter((v) => v < Math.LN2).length / n;
  };
  const cap = 200;
  const stopped = await run({ rewardSteps: cap, accuracy: 0.97 });
  assert.ok((await accuracyAt(stopped)) >= 0.97, "the stopped reward reaches the accuracy");
  assert.notDeepEqual(stopped, await run({ rewardSteps: cap, accuracy: 0 }), "it stopped before the cap");
  let first = -1;
  let before = 0;
  for (let j = 1; j < cap && first < 0; j++) {
    const x = await run({ rewardSteps: j, accuracy: 0 });
    const acc = await accuracyAt(x);
    if (acc >= 0.97) {
      first = j;
      assert.deepEqual(x, stopped, `the stopped run is the unstopped run of ${j} reward steps`);
    } else before = acc;
  }
  assert.ok(first > 1, `the accuracy is reached after ${first} steps (not at once; ${before} one step earlier)`);
  await assert.rejects(
    solve(problem, "aparl", { steps: 1, options: { ...common, accuracy: 1.5 } }),
    (e: Error) => e instanceof BilevelInputError && /accuracy/.test(e.message) && !e.message.includes("\n"),
  );
});
