/**
 * Soft actor-critic — Haarnoja, Zhou, Hartikainen, Tucker, Ha, Tan, Kumar, Zhu, Gupta, Abbeel, Levine
 * (2018), "Soft Actor-Critic Algorithms and Applications", arXiv 1812.05905 (learned temperature), with
 * pytorch_sac's structure (PEBBLE's base). One jit-compiled update on a batch from the replay buffer:
 *
 *   y = r + gamma (1 - done) [ min_j Qbar_j(s', a') - alpha log pi(a' | s') ],  a' ~ pi(. | s')
 *   critic:  phi_j <- Adam( grad_phi sum_j mean (Q_j(s, a) - y)^2 )
 *   actor:   theta <- Adam( grad_theta mean [ alpha log pi(a~ | s) - min_j Q_j(s, a~) ] ),  a~ ~ pi(. | s)
 *   alpha:   log alpha <- Adam( mean [ alpha (-log pi(a~ | s) - Hbar) ] ),  Hbar = -actDim
 *   target:  phibar <- (1 - tau) phibar + tau phi          every `targetEvery` updates
 *
 * Policy: the squashed Gaussian of src/rl/tanh-gaussian.ts; networks: tanh MLPs (src/rl/mlp.ts).
 * Defaults: PEBBLE / B-Pref's SAC (discount 0.99, initial temperature 0.1, lr 1e-4, tau 0.005, target
 * every 2, actor every 1) with networks, batch and update ratio cut for a 2-core machine (hidden 2 x 64,
 * batch 128, one update per environment step after 1000 uniform-random seed steps); why:
 * docs/rl/sac.md. Acting runs on the host (a copy of the actor read back after each update).
 */
import { array, gaussian, jax, mulberry32, np, toFloat64, zeros, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { HostMLP, mlpApply } from "./mlp.js";
import type { ContinuousEnv } from "./mujoco/env.js";
import { ReplayBuffer } from "./replay-buffer.js";
import { tanhGaussian, tanhGaussianHost } from "./tanh-gaussian.js";

export interface SACOptions {
  hidden: number;
  layers: number;
  batch: number;
  lr: number;
  alphaLr: number;
  initTemperature: number;
  gamma: number;
  tau: number;
  targetEvery: number;
  /** Environment steps per update (1 = one update per step; 2 = every other step). */
  stepsPerUpdate: number;
  /** Uniform-random actions before the first update. */
  seedSteps: number;
}

export const SAC_DEFAULTS: SACOptions = {
  hidden: 64,
  layers: 2,
  batch: 128,
  lr: 1e-4,
  alphaLr: 1e-4,
  initTemperature: 0.1,
  gamma: 0.99,
  tau: 0.005,
  targetEvery: 2,
  stepsPerUpdate: 1,
  seedSteps: 1000,
};

/** The learning reward of a transition (true or learned), evaluated on the host. */
export type RewardFn = (obs: number[], act: number[], nextObs: number[], trueReward: number) => number;

type Params = Record<"th" | "phi" | "phiT" | "logA" | "mth" | "vth" | "mphi" | "vphi" | "ma" | "va", Arr>;

const B1 = 0.9;
const B2 = 0.999;

/** One Adam step on a flat vector; c1, c2 = 1 / (1 - beta^t). Consumes p, g, m, v, c1, c2. */
function adam(p: Arr, g: Arr, m: Arr, v: Arr, lr: number, c1: Arr, c2: Arr): [Arr, Arr, Arr] {
  const m2 = m.mul(B1).add(g.ref.mul(1 - B1));
  const v2 = v.mul(B2).add(g.ref.mul(g).mul(1 - B2));
  const step = m2.ref.mul(c1).div(np.sqrt(v2.ref.mul(c2)).add(1e-8));
  return [p.sub(step.mul(lr)), m2, v2];
}

export class SAC {
  readonly opts: SACOptions;
  readonly actorNet: HostMLP;
  readonly criticNet: HostMLP;
  /** The jax state (parameters and Adam moments). */
  private p: Params;
  private t = 0;
  private updates = 0;
  private readonly updateFn: (p: Params, c: Arr, O: Arr, A: Arr, R: Arr, O2: Arr, ND: Arr, E1: Arr, E2: Arr) => { p: Params; loss: Arr };
  private readonly noise: () => number;

  constructor(
    readonly obsDim: number,
    readonly actDim: number,
    opts: Partial<SACOptions>,
    seed: number,
  ) {
    const o = (this.opts = { ...SAC_DEFAULTS, ...opts });
    for (const k of ["hidden", "layers", "batch", "targetEvery", "stepsPerUpdate"] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new BilevelInputError(`${k}: expected a positive integer, got ${o[k]}`);
    }
    if (!Number.isInteger(o.seedSteps) || o.seedSteps < 0) throw new BilevelInputError(`seedSteps: expected an integer >= 0, got ${o.seedSteps}`);
    for (const k of ["lr", "alphaLr", "initTemperature"] as const) if (!(o[k] > 0)) throw new BilevelInputError(`${k}: expected a positive number, got ${o[k]}`);
    if (!(o.gamma >= 0 && o.gamma < 1)) throw new BilevelInputError(`gamma: expected a number in [0, 1), got ${o.gamma}`);
    if (!(o.tau > 0 && o.tau <= 1)) throw new BilevelInputError(`tau: expected a number in (0, 1], got ${o.tau}`);
    const hid = new Array<number>(o.layers).fill(o.hidden);
    this.actorNet = HostMLP.init([obsDim, ...hid, 2 * actDim], seed);
    this.criticNet = new HostMLP([obsDim + actDim, ...hid, 1]);
    this.noise = mulberry32(seed ^ 0x5ac);
    const phi = this.freshCritics(seed);
    this.p = {
      th: this.actorNet.flatArray(),
      phi: array(phi),
      phiT: array(phi),
      logA: array([Math.log(o.initTemperature)]),
      mth: zeros([this.actorNet.size]),
      vth: zeros([this.actorNet.size]),
      mphi: zeros([phi.length]),
      vphi: zeros([phi.length]),
      ma: zeros([1]),
      va: zeros([1]),
    };
    this.updateFn = jax.jit((p: Params, c: Arr, O: Arr, A: Arr, R: Arr, O2: Arr, ND: Arr, E1: Arr, E2: Arr) => this.update_(p, c, O, A, R, O2, ND, E1, E2)) as never;
  }

  /** Two critics' parameters [phi_1; phi_2], PyTorch-default initialization from `seed`. */
  private freshCritics(seed: number): Float64Array {
    const q1 = HostMLP.init(this.criticNet.sizes, seed * 2 + 1).theta;
    const q2 = HostMLP.init(this.criticNet.sizes, seed * 2 + 2).theta;
    const phi = new Float64Array(q1.length * 2);
    phi.set(q1);
    phi.set(q2, q1.length);
    return phi;
  }

  /** Q_1(s, a), Q_2(s, a) of flat critics phi [2 P] on features F [B, d + k]. Consumes phi, F. */
  private critics(phi: Arr, F: Arr): [Arr, Arr] {
    const P = this.criticNet.size;
    const q1 = mlpApply(this.criticNet.unflat(phi.ref.slice([0, P])), F.ref).reshape([-1]);
    const q2 = mlpApply(this.criticNet.unflat(phi.slice([P, 2 * P])), F).reshape([-1]);
    return [q1, q2];
  }

  private update_(p: Params, c: Arr, O: Arr, A: Arr, R: Arr, O2: Arr, ND: Arr, E1: Arr, E2: Arr): { p: Params; loss: Arr } {
    const o = this.opts;
    const k = this.actDim;
    const actor = (th: Arr) => this.actorNet.unflat(th);
    const c1 = c.ref.slice([0, 1]);
    const c2 = c.ref.slice([1, 2]);
    const tau = c.slice([2, 3]);
    const alpha = jax.lax.stopGradient(np.exp(p.logA.ref));
    // critic target
    const next = tanhGaussian(actor(p.th.ref), O2.ref, E2, k);
    const [t1, t2] = this.critics(p.phiT.ref, np.concatenate([O2, next.a], -1));
    const y = jax.lax.stopGradient(R.add(np.minimum(t1, t2).sub(alpha.ref.mul(next.logp)).mul(ND).mul(o.gamma)));
    const F = np.concatenate([O.ref, A], -1);
    const criticLoss = (phi: Arr) => {
      const [q1, q2] = this.critics(phi, F.ref);
      const d1 = q1.sub(y.ref);
      const d2 = q2.sub(y.ref);
      return d1.ref.mul(d1).mean().add(d2.ref.mul(d2).mean());
    };
    const [lossQ, gphi] = jax.valueAndGrad(criticLoss)(p.phi.ref) as unknown as [Arr, Arr];
    F.dispose();
    y.dispose();
    const [phi, mphi, vphi] = adam(p.phi, gphi, p.mphi, p.vphi, o.lr, c1.ref, c2.ref);
    // actor, on the updated critics
    const phiConst = jax.lax.stopGradient(phi.ref);
    const actorLoss = (th: Arr) => {
      const s = tanhGaussian(actor(th), O.ref, E1.ref, k);
      const [q1, q2] = this.critics(phiConst.ref, np.concatenate([O.ref, s.a], -1));
      return alpha.ref.mul(s.logp).sub(np.minimum(q1, q2)).mean();
    };
    const gth = jax.grad(actorLoss)(p.th.ref) as unknown as Arr;
    phiConst.dispose();
    const logp = jax.lax.stopGradient(tanhGaussian(actor(p.th.ref), O, E1, k).logp);
    const [th, mth, vth] = adam(p.th, gth, p.mth, p.vth, o.lr, c1.ref, c2.ref);
    // temperature: d/d log alpha of mean[alpha (-log pi - Hbar)] = alpha mean(-log pi - Hbar)
    const ga = alpha.mul(logp.neg().add(k).mean()).reshape([1]);
    const [logA, ma, va] = adam(p.logA, ga, p.ma, p.va, o.alphaLr, c1, c2);
    const phiT = p.phiT.mul(tau.ref.neg().add(1)).add(phi.ref.mul(tau));
    return { p: { th, phi, phiT, logA, mth, vth, mphi, vphi, ma, va }, loss: lossQ };
  }

  /** An action for one observation: sampled (with its log-probability) or the mean action (`deterministic`). */
  act(obs: ArrayLike<number>, deterministic = false): { action: number[]; logProb: number } {
    return tanhGaussianHost(this.actorNet, obs, deterministic ? null : gaussian(this.noise, this.actDim));
  }

  /** One SAC update on a batch from `buffer`; returns the critic loss. */
  async update(buffer: ReplayBuffer, rand: () => number): Promise<number> {
    const o = this.opts;
    const b = buffer.sample(o.batch, rand);
    const n = b.n;
    this.t++;
    this.updates++;
    const tau = this.updates % o.targetEvery === 0 ? o.tau : 0;
    const c = array([1 / (1 - B1 ** this.t), 1 / (1 - B2 ** this.t), tau]);
    const E1 = array(gaussian(rand, n * this.actDim), [n, this.actDim]);
    const E2 = array(gaussian(rand, n * this.actDim), [n, this.actDim]);
    const r = this.updateFn(this.p, c, array(b.obs, [n, this.obsDim]), array(b.act, [n, this.actDim]), array(b.reward), array(b.nextObs, [n, this.obsDim]), array(b.notDone), E1, E2);
    this.p = r.p;
    this.actorNet.theta.set(await toFloat64(this.p.th.ref));
    return (await toFloat64(r.loss))[0];
  }

  /** The current temperature alpha. */
  async alpha(): Promise<number> {
    return Math.exp((await toFloat64(this.p.logA.ref))[0]);
  }

  /** Re-initialize both critics, their targets and their Adam moments (PEBBLE's reset after pre-training). */
  resetCritic(seed: number): void {
    const phi = this.freshCritics(seed);
    for (const k of ["phi", "phiT", "mphi", "vphi"] as const) this.p[k].dispose();
    this.p.phi = array(phi);
    this.p.phiT = array(phi);
    this.p.mphi = zeros([phi.length]);
    this.p.vphi = zeros([phi.length]);
  }

  /** The actor's flat parameters (a fresh array owned by the caller). */
  actorParams(): Arr {
    return this.p.th.ref;
  }

  dispose(): void {
    for (const v of Object.values(this.p)) v.dispose();
    (this.updateFn as unknown as { dispose?: () => void }).dispose?.();
  }
}

/**
 * Environment interaction for SAC: `steps` control steps of `env` (episodes reset by seed), each stored in
 * `buffer` with the learning reward `rewardOf` (the true reward when omitted), uniform-random actions for
 * the first `seedSteps` transitions of the buffer, and one SAC update per `stepsPerUpdate` steps after them.
 */
export class SACRunner {
  private obs: number[] | null = null;
  private episode = -1;
  private t = 0;
  /** Environment steps taken. */
  envSteps = 0;
  readonly returns: number[] = [];
  private epReturn = 0;
  private readonly rand: () => number;

  constructor(
    readonly env: ContinuousEnv,
    readonly agent: SAC,
    readonly buffer: ReplayBuffer,
    readonly seed: number,
  ) {
    this.rand = mulberry32(seed ^ 0x7e57);
  }

  async run(steps: number, rewardOf?: RewardFn, update = true): Promise<void> {
    const { env, agent, buffer } = this;
    const o = agent.opts;
    for (let s = 0; s < steps; s++) {
      if (this.obs === null) {
        this.episode++;
        this.obs = env.reset(Math.floor(this.rand() * 2 ** 31));
        this.t = 0;
        this.epReturn = 0;
      }
      const random = buffer.added < o.seedSteps;
      const { action, logProb } = random ? { action: Array.from({ length: env.actDim }, () => 2 * this.rand() - 1), logProb: -env.actDim * Math.LN2 } : agent.act(this.obs);
      const r = env.step(action);
      const reward = rewardOf ? rewardOf(this.obs, action, r.obs, r.reward) : r.reward;
      buffer.add({ obs: this.obs, act: action, reward, trueReward: r.reward, nextObs: r.obs, terminated: r.terminated, logProb, episode: this.episode, time: this.t });
      this.epReturn += r.reward;
      this.t++;
      this.envSteps++;
      this.obs = r.terminated || r.truncated ? null : r.obs;
      if (this.obs === null) this.returns.push(this.epReturn);
      if (update && buffer.added >= o.seedSteps && this.envSteps % o.stepsPerUpdate === 0) await agent.update(buffer, this.rand);
      if (s % 64 === 63) await new Promise<void>((res) => setImmediate(res));
    }
  }
}

/** Mean true return of `episodes` episodes of the mean action (seeds from `seed`). */
export function evaluatePolicy(env: ContinuousEnv, agent: SAC, episodes: number, seed: number): number {
  const rand = mulberry32(seed);
  let total = 0;
  for (let e = 0; e < episodes; e++) {
    let obs = env.reset(Math.floor(rand() * 2 ** 31));
    for (let t = 0; t < env.maxSteps; t++) {
      const r = env.step(agent.act(obs, true).action);
      total += r.reward;
      if (r.terminated || r.truncated) break;
      obs = r.obs;
    }
  }
  return total / episodes;
}
