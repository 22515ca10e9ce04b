/**
 * PARL on the DeepMind Control Suite (Chakraborty et al. 2023, arXiv 2308.02585, Sec. 6; PEBBLE, Lee,
 * Smith, Abbeel 2021): the problem builder behind `parl-mujoco-cartpole-swingup` and
 * `parl-mujoco-cheetah-run`, implementing the PreferenceProblem contract (src/rl/preference-problem.ts).
 *
 *   x = nu     reward ensemble r_e(s, a) = tanh(MLP_e([s, a])), E members (src/rl/reward-ensemble.ts)
 *   y = theta  SAC actor (squashed Gaussian, src/rl/sac.ts); critics, temperature, replay: internal state
 *   lower      `stepsPerRound` SAC environment steps on the ensemble-mean reward per improvePolicy call,
 *              after relabelling the whole replay buffer with it; before the first query, `pretrainSteps`
 *              of unsupervised pre-training on the state-entropy reward (src/rl/state-entropy.ts), then
 *              the critics are reset (PEBBLE Sec. 4.1)
 *   upper      ensemble Bradley-Terry NLL of a B-Pref teacher's labels (src/rl/teachers.ts) on pairs of
 *              `segment`-step segments from the replay buffer, chosen from a pool of `pool` x the batch by
 *              `sampling` (uniform, disagreement = std_e P_e(1 > 2), entropy = mean_e H(P_e))
 * thetaJacobianT (approximate): the lower level as one soft-greedy step on r_nu, Hessian replaced by -I:
 *   (d theta_star / d nu)^T g ~ grad_nu mean_s [ grad_a r_nu(s, a) . (d a_theta(s, eps)/d theta) g ]
 * on replay states. Defaults: PEBBLE / B-Pref's published constants where given (segment 50, ensemble 3,
 * pool 10x, pre-training 9000 steps, SAC constants); networks and budgets cut for 2 cores (docs/rl/sac.md,
 * docs/tasks/parl-mujoco.md). `smoke=true` shrinks everything to run in seconds.
 */
import type { TaskSpec } from "../problem.js";
import { choice, int, positive } from "../options.js";
import { array, gaussian, jax, mulberry32, np, toFloat64, type Arr, type Tree } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { makeMujocoEnv } from "../rl/mujoco/index.js";
import type { PreferenceHooks, PreferenceProblem } from "../rl/preference-problem.js";
import { ReplayBuffer } from "../rl/replay-buffer.js";
import { RewardEnsemble } from "../rl/reward-ensemble.js";
import { evaluatePolicy, SAC, SACRunner, type SACOptions } from "../rl/sac.js";
import { seedOf } from "../rl/seed.js";
import { StateEntropyReward } from "../rl/state-entropy.js";
import { tanhGaussian, tanhGaussianLogProb } from "../rl/tanh-gaussian.js";
import { teacher, teacherLabel, TEACHERS } from "../rl/teachers.js";

export type ParlMujocoOptions = {
  smoke: boolean;
  segment: number;
  pool: number;
  sampling: string;
  teacher: string;
  ensemble: number;
  rewardHidden: number;
  pretrainSteps: number;
  stepsPerRound: number;
  maxSteps: number;
  actionRepeat: number;
  reward: string;
  hidden: number;
  batch: number;
  stepsPerUpdate: number;
  seedSteps: number;
  sacLr: number;
  evalEpisodes: number;
  heldOutPairs: number;
};

export const PARL_MUJOCO_DEFAULTS: ParlMujocoOptions = {
  smoke: false,
  segment: 50,
  pool: 10,
  sampling: "disagreement",
  teacher: "oracle",
  ensemble: 3,
  rewardHidden: 64,
  pretrainSteps: 9000,
  stepsPerRound: 5000,
  maxSteps: 1000,
  actionRepeat: 1,
  reward: "learned",
  hidden: 64,
  batch: 128,
  stepsPerUpdate: 1,
  seedSteps: 1000,
  sacLr: 1e-4,
  evalEpisodes: 5,
  heldOutPairs: 32,
};

/** What `smoke=true` sets (a run of a few outer steps in seconds; for tests). */
export const PARL_MUJOCO_SMOKE: Partial<ParlMujocoOptions> = {
  segment: 10,
  rewardHidden: 16,
  pretrainSteps: 60,
  stepsPerRound: 40,
  maxSteps: 50,
  hidden: 16,
  batch: 16,
  stepsPerUpdate: 4,
  seedSteps: 40,
  evalEpisodes: 1,
  heldOutPairs: 8,
};

export const PARL_MUJOCO_SPEC = {
  segment: int(1),
  pool: int(1),
  sampling: choice("uniform", "disagreement", "entropy"),
  teacher: choice(...TEACHERS),
  ensemble: int(1),
  rewardHidden: int(1),
  pretrainSteps: int(0),
  stepsPerRound: int(1),
  maxSteps: int(1, 1000),
  actionRepeat: int(1, 1000),
  reward: choice("learned", "true"),
  hidden: int(1),
  batch: int(1),
  stepsPerUpdate: int(1),
  seedSteps: int(0),
  sacLr: positive(),
  evalEpisodes: int(1),
  heldOutPairs: int(1),
};

export const PARL_MUJOCO_HELP: Record<keyof ParlMujocoOptions, string> = {
  smoke: "tiny sizes and budgets (runs in seconds; for tests): " + Object.entries(PARL_MUJOCO_SMOKE).map(([k, v]) => `${k}=${v}`).join(" "),
  segment: "steps per queried segment (PEBBLE: 50)",
  pool: "candidate pairs per query, as a multiple of the batch (PEBBLE: 10)",
  sampling: "query selection: uniform, disagreement (std of the members' preference probability) or entropy",
  teacher: "B-Pref scripted teacher: oracle, noisy (Bradley-Terry beta 1), mistake (eps 0.1), skip, myopic (gamma 0.9), equal",
  ensemble: "reward-model ensemble members (PEBBLE: 3)",
  rewardHidden: "hidden units of each reward member (2 tanh layers; PEBBLE: 3 x 256)",
  pretrainSteps: "unsupervised pre-training steps on the state-entropy reward (PEBBLE: 9000)",
  stepsPerRound: "SAC environment steps per outer step (between query rounds)",
  maxSteps: "control steps per episode (the suite: 1000; maxSteps x actionRepeat <= 1000)",
  actionRepeat: "physics steps per control step, rewards summed over them (the suite: 1; PlaNet: 8 cartpole, 4 cheetah)",
  reward: "the policy's reward: learned (the ensemble mean; PEBBLE / PARL) or true (the environment's: the SAC ceiling; pairs are still queried and the ensemble trained, unseen by the policy)",
  hidden: "SAC hidden units (2 tanh layers; PEBBLE: 2 x 1024)",
  batch: "SAC batch (PEBBLE: 1024 / 512)",
  stepsPerUpdate: "environment steps per SAC update (PEBBLE: 1)",
  seedSteps: "uniform-random steps before the first SAC update",
  sacLr: "SAC Adam step size of actor, critics and temperature (PEBBLE: 1e-4)",
  evalEpisodes: "mean-action episodes behind trueReturn",
  heldOutPairs: "oracle-labelled pairs of random-policy segments behind the reported `upper` and prefAccuracy (not queries)",
};

type HostPairs = { obs: Float64Array; act: Float64Array; label: Float64Array; weight: Float64Array; logBehaviour: Float64Array; trueReturn: [number, number][]; n: number };

/** Build a PARL problem on MuJoCo environment `envName`. */
export async function parlMujoco(envName: string, opts: ParlMujocoOptions, taskSeed: number): Promise<PreferenceProblem<Arr, Arr>> {
  const o: ParlMujocoOptions = opts.smoke ? { ...opts, ...PARL_MUJOCO_SMOKE } : opts;
  const t = teacher(o.teacher);
  if (!["uniform", "disagreement", "entropy"].includes(o.sampling)) throw new BilevelInputError(`sampling: expected uniform, disagreement or entropy, got '${o.sampling}'`);
  if (o.segment > o.maxSteps) throw new BilevelInputError(`segment: expected at most maxSteps ${o.maxSteps}, got ${o.segment}`);
  if (o.maxSteps * o.actionRepeat > 1000) throw new BilevelInputError(`maxSteps: expected maxSteps x actionRepeat <= 1000 physics steps (the suite's episode), got ${o.maxSteps} x ${o.actionRepeat}`);
  if (o.reward !== "learned" && o.reward !== "true") throw new BilevelInputError(`reward: expected learned or true, got '${o.reward}'`);
  const trueReward = o.reward === "true";
  const env = await makeMujocoEnv(envName, { maxSteps: o.maxSteps, actionRepeat: o.actionRepeat });
  const evalEnv = await makeMujocoEnv(envName, { maxSteps: o.maxSteps, actionRepeat: o.actionRepeat });
  const d = env.obsDim;
  const k = env.actDim;
  const L = o.segment;
  const ens = new RewardEnsemble(d, k, o.ensemble, [o.rewardHidden, o.rewardHidden]);
  const sacOpts: Partial<SACOptions> = { hidden: o.hidden, batch: o.batch, stepsPerUpdate: o.stepsPerUpdate, seedSteps: o.seedSteps, lr: o.sacLr, alphaLr: o.sacLr };
  // replay capacity: the pre-training and 20 rounds, at most 100k transitions (~40 MB for cheetah-run); older
  // transitions are overwritten first, and a segment never straddles the write position (episode ids differ)
  const capacity = Math.min(o.pretrainSteps + 20 * o.stepsPerRound, 100_000);

  let agent: SAC | null = null;
  let buffer = new ReplayBuffer(1, d, k);
  let runner: SACRunner | null = null;
  let pretrained = false;
  let queries = 0;
  let labelled = 0;
  let runSeed = 0;
  const entropy = new StateEntropyReward(5);

  const cutPairs = (n: number, rand: () => number): [number, number][] => {
    const starts: number[] = [];
    const ok = (i: number) => i + L <= buffer.size && buffer.episode[i] === buffer.episode[i + L - 1];
    for (let tries = 0; starts.length < 2 * n && tries < 1000 * n; tries++) {
      const i = Math.floor(rand() * Math.max(1, buffer.size - L + 1));
      if (ok(i)) starts.push(i);
    }
    if (starts.length < 2 * n) throw new BilevelInputError(`segment: the replay buffer (${buffer.size} steps) holds too few ${L}-step segments`);
    return Array.from({ length: n }, (_, i) => [starts[2 * i], starts[2 * i + 1]]);
  };

  /** Each ensemble member's return of the L-step segment starting at slot `start`. */
  const memberReturns = (start: number): Float64Array => {
    const out = new Float64Array(o.ensemble);
    for (let s = start; s < start + L; s++) {
      const r = ens.memberRewards(buffer.obs.subarray(s * d, s * d + d), buffer.act.subarray(s * k, s * k + k));
      for (let e = 0; e < o.ensemble; e++) out[e] += r[e];
    }
    return out;
  };

  const avgSegmentReturn = (): number => {
    const rs = runner?.returns ?? [];
    if (rs.length > 0) return (rs.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, rs.length)) * (L / o.maxSteps);
    let s = 0;
    for (let i = 0; i < buffer.size; i++) s += buffer.trueReward[i];
    return buffer.size > 0 ? (s / buffer.size) * L : 0;
  };

  const toPairs = (chosen: [number, number][], lab: (r1: Float64Array, r2: Float64Array) => number | null): HostPairs => {
    const n = chosen.length;
    const p: HostPairs = { obs: new Float64Array(n * 2 * L * d), act: new Float64Array(n * 2 * L * k), label: new Float64Array(n), weight: new Float64Array(n), logBehaviour: new Float64Array(n), trueReturn: [], n };
    chosen.forEach((pair, i) => {
      const R: [number, number] = [0, 0];
      pair.forEach((start, j) => {
        p.obs.set(buffer.obs.subarray(start * d, (start + L) * d), (i * 2 + j) * L * d);
        p.act.set(buffer.act.subarray(start * k, (start + L) * k), (i * 2 + j) * L * k);
        for (let s = start; s < start + L; s++) (R[j] += buffer.trueReward[s]), (p.logBehaviour[i] += buffer.logProb[s]);
      });
      p.trueReturn.push(R);
      const y = lab(buffer.trueReward.subarray(pair[0], pair[0] + L), buffer.trueReward.subarray(pair[1], pair[1] + L));
      p.label[i] = y ?? 0.5;
      p.weight[i] = y === null ? 0 : 1;
    });
    return p;
  };

  const pairsTree = (p: HostPairs): Tree => ({
    obs: array(p.obs, [p.n, 2, L, d]),
    act: array(p.act, [p.n, 2, L, k]),
    label: array(p.label, [p.n]),
    weight: array(p.weight, [p.n]),
    logBehaviour: array(p.logBehaviour, [p.n]),
  });

  const ensurePretrained = async () => {
    if (pretrained) return;
    pretrained = true;
    const r = runner!;
    if (trueReward) return await r.run(o.pretrainSteps); // the ceiling: the same steps on the true reward, no reset
    const rand = mulberry32(seedOf(runSeed, 5));
    const ref = new Float64Array(256 * d);
    await r.run(o.pretrainSteps, (_s, _a, next) => {
      const m = Math.min(256, buffer.size);
      if (m === 0) return 0;
      for (let j = 0; j < m; j++) {
        const i = Math.floor(rand() * buffer.size);
        ref.set(buffer.nextObs.subarray(i * d, i * d + d), j * d);
      }
      return entropy.rewards(next, 1, ref, m, d)[0];
    });
    agent!.resetCritic(seedOf(runSeed, 6));
  };

  // held-out pairs: segments of uniform-random episodes, labelled by the noiseless oracle (not queries)
  const held = await (async () => {
    const rand = mulberry32(seedOf(taskSeed, 77));
    const hb = new ReplayBuffer(2 * o.heldOutPairs * o.maxSteps, d, k);
    const save = buffer;
    buffer = hb;
    for (let e = 0; buffer.added < 2 * o.heldOutPairs * L; e++) {
      let obs = env.reset(Math.floor(rand() * 2 ** 31));
      for (let s = 0; s < o.maxSteps; s++) {
        const a = Array.from({ length: k }, () => 2 * rand() - 1);
        const r = env.step(a);
        hb.add({ obs, act: a, reward: 0, trueReward: r.reward, nextObs: r.obs, terminated: false, logProb: 0, episode: e, time: s });
        obs = r.obs;
      }
    }
    const oracle = teacher("oracle");
    const p = toPairs(cutPairs(o.heldOutPairs, rand), (r1, r2) => teacherLabel(oracle, r1, r2, 0, rand));
    buffer = save;
    return p;
  })();
  const heldTree = pairsTree(held) as Record<string, Arr>;
  const heldStates = array(held.obs, [held.n * 2 * L, d]);

  // (d theta_star / d nu)^T g on a batch of replay states (see the doc comment)
  const sensitivity = jax.jit((nu: Arr, theta: Arr, g: Arr, O: Arr, E: Arr) => {
    const actorNet = agent!.actorNet;
    const f = (th: Arr) => tanhGaussian(actorNet.unflat(th), O.ref, E.ref, k).a;
    const [a, da] = jax.jvp(f, [theta], [g]) as unknown as [Arr, Arr];
    E.dispose();
    const aC = jax.lax.stopGradient(a);
    const daC = jax.lax.stopGradient(da);
    const out = jax.grad((v: Arr) => {
      const ga = jax.grad((act: Arr) => ens.meanReward(v.ref, np.concatenate([O.ref, act], -1)).sum())(aC.ref) as unknown as Arr;
      return ga.mul(daC.ref).sum(-1).mean();
    })(nu) as unknown as Arr;
    aC.dispose();
    daC.dispose();
    O.dispose();
    return out;
  });

  const hooks: PreferenceHooks<Arr, Arr> = {
    async improvePolicy(nu, theta, _seed, _k) {
      theta.dispose(); // the actor is the agent's own; theta is its copy
      ens.load(await toFloat64(nu));
      await ensurePretrained();
      if (trueReward) {
        await runner!.run(o.stepsPerRound); // the buffer holds the true rewards already
        return agent!.actorParams();
      }
      buffer.relabel((obs, act, n) => ens.rewards(obs, act, n));
      await runner!.run(o.stepsPerRound, (s, a) => ens.reward(s, a));
      return agent!.actorParams();
    },

    async queryPairs(theta, n, seed, kk) {
      theta.dispose();
      if (!Number.isInteger(n) || n < 1) throw new BilevelInputError(`queryPairs: expected a positive integer n, got ${n}`);
      await ensurePretrained();
      const rand = mulberry32(seedOf(seed, kk, 2));
      const pool = cutPairs(o.sampling === "uniform" ? n : o.pool * n, rand);
      let chosen = pool;
      if (o.sampling !== "uniform") {
        const score = pool.map(([a, b]) => {
          const A = memberReturns(a);
          const B = memberReturns(b);
          const P = Array.from(A, (ra, e) => 1 / (1 + Math.exp(-(ra - B[e]))));
          const mean = P.reduce((s, v) => s + v, 0) / P.length;
          if (o.sampling === "disagreement") return Math.sqrt(P.reduce((s, v) => s + (v - mean) ** 2, 0) / P.length);
          const H = (q: number) => (q <= 0 || q >= 1 ? 0 : -q * Math.log(q) - (1 - q) * Math.log(1 - q));
          return P.reduce((s, v) => s + H(v), 0) / P.length;
        });
        chosen = pool.map((p, i) => ({ p, s: score[i], i })).sort((x, y) => y.s - x.s || x.i - y.i).slice(0, n).map((v) => v.p);
      }
      const avg = avgSegmentReturn();
      const p = toPairs(chosen, (r1, r2) => teacherLabel(t, r1, r2, avg, rand));
      queries += n;
      labelled += p.weight.reduce((s, v) => s + v, 0);
      return pairsTree(p);
    },

    pairNll: (nu, pairs) => ens.pairNll(nu, pairs),

    pairLogProb(theta, pairs) {
      const { obs, act, label, weight, logBehaviour } = pairs as Record<string, Arr>;
      label.dispose();
      weight.dispose();
      logBehaviour.dispose();
      const n = obs.shape[0];
      const lp = tanhGaussianLogProb(agent!.actorNet.unflat(theta), obs.reshape([n * 2 * L, d]), act.reshape([n * 2 * L, k]), k);
      return lp.reshape([n, 2 * L]).sum(-1);
    },

    pairBehaviourLogProb(pairs) {
      const { obs, act, label, weight, logBehaviour } = pairs as Record<string, Arr>;
      for (const a of [obs, act, label, weight]) a.dispose();
      return logBehaviour;
    },

    async thetaJacobianT(nu, theta, g) {
      const rand = mulberry32(seedOf(runSeed, queries, 9));
      const B = Math.min(64, buffer.size);
      const O = new Float64Array(B * d);
      for (let j = 0; j < B; j++) {
        const i = Math.floor(rand() * buffer.size);
        O.set(buffer.obs.subarray(i * d, i * d + d), j * d);
      }
      return sensitivity(nu, theta, g, array(O, [B, d]), array(gaussian(rand, B * k), [B, k])) as Arr;
    },

    queries: () => queries,
  };

  return {
    name: `parl-mujoco-${envName}`,
    preference: hooks,
    init(seed: number) {
      agent?.dispose();
      runSeed = seed;
      agent = new SAC(d, k, sacOpts, seedOf(seed, 12));
      buffer = new ReplayBuffer(capacity, d, k);
      runner = new SACRunner(env, agent, buffer, seedOf(seed, 13));
      pretrained = false;
      queries = labelled = 0;
      const nu = ens.init(seedOf(seed, 11));
      ens.load(nu);
      return { x: array(nu), y: agent.actorParams() };
    },
    upper(nu, theta) {
      theta.dispose();
      const h = heldTree;
      return ens.pairNll(nu, { obs: h.obs.ref, act: h.act.ref, label: h.label.ref, weight: h.weight.ref, logBehaviour: h.logBehaviour.ref }).mean();
    },
    lower(nu, theta) {
      const M = held.n * 2 * L;
      const a = tanhGaussian(agent!.actorNet.unflat(theta), heldStates.ref, np.zeros([M, k], { dtype: heldStates.dtype }), k);
      a.logp.dispose();
      return ens.meanReward(nu, np.concatenate([heldStates.ref, a.a], -1)).mean().neg();
    },
    async evaluate(nu, theta) {
      theta.dispose();
      ens.load(await toFloat64(nu));
      const trueReturn = evaluatePolicy(evalEnv, agent!, o.evalEpisodes, seedOf(taskSeed, 99));
      let agree = 0;
      let counted = 0;
      for (let i = 0; i < held.n; i++) {
        const [r1, r2] = held.trueReturn[i];
        if (r1 === r2) continue;
        let m1 = 0;
        let m2 = 0;
        for (let s = 0; s < L; s++) {
          const row = (j: number) => (i * 2 + j) * L + s;
          m1 += ens.reward(held.obs.subarray(row(0) * d, row(0) * d + d), held.act.subarray(row(0) * k, row(0) * k + k));
          m2 += ens.reward(held.obs.subarray(row(1) * d, row(1) * d + d), held.act.subarray(row(1) * k, row(1) * k + k));
        }
        counted++;
        if (m1 > m2 === r1 > r2) agree++;
      }
      const out: Record<string, number> = { trueReturn, queries, labelled, envSteps: runner!.envSteps, episodeLength: o.maxSteps };
      if (counted > 0) out.prefAccuracy = agree / counted;
      return out;
    },
    info: { env: envName, obsDim: d, actDim: k, maxSteps: o.maxSteps, actionRepeat: o.actionRepeat, reward: o.reward, segment: L, ensemble: o.ensemble, sampling: o.sampling, teacher: o.teacher, sac: `2 x ${o.hidden} tanh, batch ${o.batch}, ${o.stepsPerUpdate} env steps per update`, smoke: o.smoke },
  };
}

/** The task spec of PARL on one MuJoCo environment (the two registered tasks differ only in the environment). */
export function parlMujocoTask(env: "cartpole-swingup" | "cheetah-run"): TaskSpec<ParlMujocoOptions> {
  return {
    name: `parl-mujoco-${env}`,
    description: `PARL / PEBBLE reward learning from preferences on dm_control ${env} (MuJoCo); reward ensemble (upper) and SAC (lower); smoke=true runs in seconds`,
    defaults: PARL_MUJOCO_DEFAULTS,
    spec: PARL_MUJOCO_SPEC,
    help: PARL_MUJOCO_HELP,
    steps: 10,
    solverDefaults: {
      aparl: { pairs: 20, rewardSteps: 50, lr: 3e-4, scoreWeight: 0.01, accuracy: 0.97, steps: 10 },
      pebble: { pairs: 20, rewardSteps: 50, lr: 3e-4, accuracy: 0.97, steps: 10 },
    },
    create: (o, seed) => parlMujoco(env, o, seed),
  };
}
