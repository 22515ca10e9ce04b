/**
 * Continuous-control environments on MuJoCo (src/rl/mujoco/loader.ts) behind one seeded interface, in the
 * style of the DeepMind Control Suite (Tassa et al. 2018): actions in the box [-1, 1]^actDim (values
 * outside it are clipped, as MuJoCo's ctrlrange does; a wrong length or a non-finite entry is a one-line
 * BilevelInputError), `actionRepeat` physics steps per control step, a fixed episode length with no
 * early termination (the suite's 1000 steps), the task's reward read from the state after each physics
 * step and summed over the repeat (dm_control's / PlaNet's action-repeat convention; one term at repeat 1).
 */
import type { MainModule, MjData, MjModel } from "mujoco-js";
import { gaussian, mulberry32 } from "../../engine/index.js";
import { BilevelInputError } from "../../errors.js";
import type { StepResult } from "../env.js";
import { modelFromXML } from "./loader.js";

/** A seeded episodic environment with actions in [-1, 1]^actDim. */
export interface ContinuousEnv {
  readonly name: string;
  readonly obsDim: number;
  readonly actDim: number;
  /** Control steps per episode. */
  readonly maxSteps: number;
  /** Physics steps per control step. */
  readonly actionRepeat: number;
  /** Starts an episode; the same seed gives the same episode for the same actions. */
  reset(seed: number): number[];
  /** Applies one action (clipped to [-1, 1]); throws BilevelInputError for a wrong length or a non-finite entry. */
  step(action: ArrayLike<number>): StepResult;
  /** Frees the physics state (the environment is unusable afterwards). */
  dispose(): void;
}

/** A seeded normal / uniform source for episode initialization. */
export interface InitRandom {
  uniform(): number;
  normal(n: number): Float64Array;
}

export abstract class MujocoEnv implements ContinuousEnv {
  abstract readonly name: string;
  abstract readonly obsDim: number;
  readonly actDim: number;
  protected readonly model: MjModel;
  protected readonly data: MjData;
  private t = 0;
  private done = true;
  private disposed = false;

  constructor(
    protected readonly mj: MainModule,
    xml: string,
    readonly maxSteps: number,
    readonly actionRepeat: number,
    /** The model's integrator is RK4 (stepped with mj_step). */
    private readonly rk4: boolean,
  ) {
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new BilevelInputError(`maxSteps: expected a positive integer, got ${maxSteps}`);
    if (!Number.isInteger(actionRepeat) || actionRepeat < 1) throw new BilevelInputError(`actionRepeat: expected a positive integer, got ${actionRepeat}`);
    this.model = modelFromXML(mj, xml);
    this.data = new mj.MjData(this.model);
    this.actDim = this.model.nu;
  }

  /** Set the episode's initial state (qpos, qvel) from `rand`; mj_forward runs afterwards. */
  protected abstract initialize(rand: InitRandom): void;
  /** The observation of the current state (a fresh array). */
  protected abstract observe(): number[];
  /** The task reward of the current state and control, in [0, 1] (per physics step). */
  protected abstract reward(): number;

  protected qpos(): Float64Array {
    return this.data.qpos as Float64Array;
  }
  protected qvel(): Float64Array {
    return this.data.qvel as Float64Array;
  }
  protected ctrl(): Float64Array {
    return this.data.ctrl as Float64Array;
  }

  /** One physics step with the current controls: RK4 models with mj_step; Euler ones with mj_step2 + mj_step1 (dm_control's order), so positions, velocities and sensors are current after the step. */
  protected physicsStep(): void {
    if (this.rk4) this.mj.mj_step(this.model, this.data);
    else {
      this.mj.mj_step2(this.model, this.data);
      this.mj.mj_step1(this.model, this.data);
    }
  }

  reset(seed: number): number[] {
    this.live();
    const rand = mulberry32(seed);
    this.mj.mj_resetData(this.model, this.data);
    this.initialize({ uniform: rand, normal: (n) => gaussian(rand, n) });
    this.mj.mj_forward(this.model, this.data);
    this.t = 0;
    this.done = false;
    return this.observe();
  }

  step(action: ArrayLike<number>): StepResult {
    this.live();
    if (this.done) throw new BilevelInputError(`${this.name}: step called before reset or after the episode ended`);
    if (!action || action.length !== this.actDim) throw new BilevelInputError(`action: expected ${this.actDim} numbers in [-1, 1], got ${action ? action.length : action}`);
    const ctrl = this.ctrl();
    for (let i = 0; i < this.actDim; i++) {
      const a = action[i];
      if (typeof a !== "number" || !Number.isFinite(a)) throw new BilevelInputError(`action[${i}]: expected a finite number in [-1, 1], got ${a}`);
      ctrl[i] = Math.min(1, Math.max(-1, a));
    }
    let reward = 0;
    for (let k = 0; k < this.actionRepeat; k++) {
      this.physicsStep();
      reward += this.reward();
    }
    this.t++;
    const truncated = this.t >= this.maxSteps;
    this.done = truncated;
    return { obs: this.observe(), reward, terminated: false, truncated };
  }

  /**
   * Put the running episode in the physical state (qpos, qvel) (checks and tests of physical facts);
   * the episode's step count is kept.
   */
  setState(qpos: ArrayLike<number>, qvel: ArrayLike<number>): void {
    this.live();
    if (qpos.length !== this.model.nq || qvel.length !== this.model.nv) throw new BilevelInputError(`state: expected qpos of ${this.model.nq} and qvel of ${this.model.nv} numbers, got ${qpos.length} and ${qvel.length}`);
    this.qpos().set(Array.from(qpos));
    this.qvel().set(Array.from(qvel));
    this.mj.mj_forward(this.model, this.data);
  }

  /** Total mechanical energy (potential + kinetic) of the current state (the model enables the energy flag). */
  energy(): number {
    this.live();
    this.mj.mj_forward(this.model, this.data);
    const e = this.data.energy as Float64Array;
    return e[0] + e[1];
  }

  /** The simulated time of the current state, in seconds. */
  time(): number {
    return this.data.time;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.data.delete();
    this.model.delete();
  }

  private live(): void {
    if (this.disposed) throw new BilevelInputError(`${this.name}: environment used after dispose()`);
  }
}
