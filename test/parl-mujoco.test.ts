/**
 * PARL / PEBBLE on MuJoCo (src/tasks/parl-mujoco.ts and its parts): B-Pref's six teachers' label
 * statistics, the k-NN state-entropy reward, the importance-weighted score term's unbiasedness on a small
 * case with a closed form, and smoke runs of `pebble` and `aparl` on both tasks (queries, environment
 * steps, finite metrics).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup } from "./helpers.js";
import { array, jax, mulberry32, tdispose, toFloat64, type Arr, type Tree } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { StateEntropyReward } from "../src/rl/state-entropy.js";
import { teacher, teacherLabel } from "../src/rl/teachers.js";
import type { PreferenceHooks } from "../src/rl/preference-problem.js";
import { scoreGradient } from "../src/solvers/aparl.js";
import { getTask } from "../src/tasks/index.js";
import { solve } from "../src/run.js";

await setup("float32");

test("teachers: B-Pref's oracle, noisy, mistake, skip, myopic and equal labels", () => {
  const rand = mulberry32(1);
  const hi = [1, 1, 1, 1];
  const lo = [0, 0.5, 0, 0.5];
  assert.equal(teacherLabel(teacher("oracle"), hi, lo, 0, rand), 1);
  assert.equal(teacherLabel(teacher("oracle"), lo, hi, 0, rand), 0);
  assert.equal(teacherLabel(teacher("oracle"), hi, hi, 0, rand), 0.5);
  const rate = (name: string, r1: number[], r2: number[], avg = 0, n = 4000) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += teacherLabel(teacher(name), r1, r2, avg, rand) ?? NaN;
    return s / n;
  };
  assert.ok(Math.abs(rate("mistake", hi, lo) - 0.9) < 0.02, "mistake flips 10%");
  // noisy: P(1) = sigmoid(beta (R1 - R2)) = sigmoid(3)
  assert.ok(Math.abs(rate("noisy", hi, lo) - 1 / (1 + Math.exp(-3))) < 0.02, "Bradley-Terry beta 1");
  // skip: both segment returns below 0.1 x the average segment return -> no label
  assert.equal(teacherLabel(teacher("skip"), [0, 0.1], [0.1, 0], 10, rand), null);
  assert.equal(teacherLabel(teacher("skip"), [2, 0], [0, 0], 10, rand), 1);
  // equal: |R1 - R2| < 0.1 x average -> 0.5
  assert.equal(teacherLabel(teacher("equal"), [1, 1], [1, 0.5], 10, rand), 0.5);
  assert.equal(teacherLabel(teacher("equal"), [1, 1], [1, 0.5], 1, rand), 1);
  // myopic (gamma 0.9): a late reward beats a slightly larger early one
  const early = [1.05, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const late = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  assert.equal(teacherLabel(teacher("oracle"), early, late, 0, rand), 1);
  assert.equal(teacherLabel(teacher("myopic"), early, late, 0, rand), 0);
  assert.throws(() => teacher("lazy"), (e: Error) => e instanceof BilevelInputError && /^teacher: expected one of oracle/.test(e.message));
});

test("state entropy: k-th nearest-neighbour distances on a line, normalised by the running std", () => {
  const ref = Float64Array.from([0, 1, 3, 7, 15]);
  const S = Float64Array.from([0, 4]);
  const d1 = StateEntropyReward.knnDistance(S, 2, ref, 5, 1, 1);
  const d3 = StateEntropyReward.knnDistance(S, 2, ref, 5, 1, 3);
  assert.deepEqual(Array.from(d1), [0, 1]);
  assert.deepEqual(Array.from(d3), [3, 3]); // 0: {0,1,3}; 4: {3,1,7} -> 3
  const se = new StateEntropyReward(3);
  const r = se.rewards(S, 2, ref, 5, 1); // distances 3, 3: std 0 -> unscaled
  assert.deepEqual(Array.from(r), [3, 3]);
  const r2 = se.rewards(Float64Array.from([100]), 1, ref, 5, 1); // 3rd nearest of {85, 93, 97, 99, 100}: 97
  const m = (3 + 3 + 97) / 3;
  const sd = Math.sqrt((2 * (3 - m) ** 2 + (97 - m) ** 2) / 2); // the running (sample) std of {3, 3, 97}
  assert.ok(Math.abs(r2[0] - 97 / sd) < 1e-12, `${r2[0]} vs ${97 / sd}`);
});

test("aparl score term with importance weights: unbiased for grad E_theta[l] from behaviour-policy pairs", async () => {
  // pair = one action a ~ N(mu, 1); l = a^2 so E_theta[l] = mu^2 + 1, grad = 2 mu; pairs drawn from beta = N(0.5, 1)
  const mu = 1;
  const muB = 0.5;
  const logN = (a: Arr, m: Arr) => {
    const z = a.sub(m);
    return z.ref.mul(z).mul(-0.5).sub(0.5 * Math.log(2 * Math.PI));
  };
  const base: PreferenceHooks = {
    pairNll: (nu: Tree, p: Tree) => {
      const { a, lb } = p as { a: Arr; lb: Arr };
      lb.dispose();
      return a.ref.mul(a).add((nu as Arr).sum().mul(0));
    },
    pairLogProb: (th: Tree, p: Tree) => {
      const { a, lb } = p as { a: Arr; lb: Arr };
      lb.dispose();
      return logN(a, (th as Arr).reshape([1]));
    },
    improvePolicy: async () => {
      throw new Error("unused");
    },
    queryPairs: async () => {
      throw new Error("unused");
    },
    thetaJacobianT: async () => {
      throw new Error("unused");
    },
    queries: () => 0,
  };
  const weighted: PreferenceHooks = {
    ...base,
    pairBehaviourLogProb: (p: Tree) => {
      const { a, lb } = p as { a: Arr; lb: Arr };
      a.dispose();
      return lb;
    },
  };
  const batches = 100;
  const n = 64;
  const est = (h: PreferenceHooks): Arr[] => {
    const r = mulberry32(9);
    const g = jax.jit((nu: Arr, th: Arr, batch: Tree) => scoreGradient(h, nu, th, batch) as Arr);
    const out: Arr[] = [];
    for (let b = 0; b < batches; b++) {
      const a = Float64Array.from({ length: n }, () => muB + Math.sqrt(-2 * Math.log(Math.max(r(), 1e-300))) * Math.cos(2 * Math.PI * r()));
      const lb = a.map((v) => -0.5 * (v - muB) ** 2 - 0.5 * Math.log(2 * Math.PI));
      out.push(g(array([0]), array([mu]), { a: array(a), lb: array(lb) }) as Arr);
    }
    g.dispose();
    return out;
  };
  const stats = async (gs: Arr[]) => {
    const v = await Promise.all(gs.map(async (g) => (await toFloat64(g))[0]));
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    const se = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1) / v.length);
    return { m, se };
  };
  const w = await stats(est(weighted));
  assert.ok(Math.abs(w.m - 2 * mu) < 4 * w.se, `importance-weighted: ${w.m} +- ${w.se}, exact ${2 * mu}`);
  const u = await stats(est(base));
  assert.ok(Math.abs(u.m - 2 * mu) > 4 * u.se, `unweighted (on-policy formula on off-policy pairs) is biased: ${u.m} +- ${u.se}`);
});

for (const [task, solver] of [
  ["parl-mujoco-cartpole-swingup", "pebble"],
  ["parl-mujoco-cheetah-run", "aparl"],
] as const) {
  test(`${task} smoke=true: ${solver} runs 2 outer steps; queries, environment steps and true return reported`, async () => {
    const spec = getTask(task);
    const o = { ...spec.defaults, smoke: true } as Record<string, unknown>;
    const p = await spec.create(o as never, 0);
    const r = await solve(p, solver, { steps: 2, evalEvery: 2, seed: 0, options: { pairs: 4, rewardSteps: 2, lr: 3e-4, ...(solver === "aparl" ? { scoreWeight: 0.01 } : {}) } });
    assert.equal(r.status, "completed");
    const f = r.final as Record<string, number>;
    assert.equal(f.queries, 8);
    assert.equal(f.envSteps, 60 + 2 * 40, "pre-training + 2 rounds of SAC steps (smoke sizes)");
    assert.ok(f.trueReturn >= 0 && f.trueReturn <= 50, `trueReturn ${f.trueReturn}`);
    assert.ok(Number.isFinite(f.upper) && Number.isFinite(f.lower));
    tdispose([r.x, r.y] as Tree[]);
  });
}
