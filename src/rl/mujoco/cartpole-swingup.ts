/**
 * `cartpole-swingup` — the DeepMind Control Suite task (Tassa et al. 2018; dm_control/suite/cartpole.py,
 * cartpole.xml), MJCF written here with the suite's physical parameters: a 1 kg cart on a rail (range
 * +-1.8 m, damping 5e-4), a 1 m capsule pole of 0.1 kg (hinge damping 2e-6), motor gear 10, RK4 at 0.01 s,
 * contacts off; 1000 control steps of one physics step (10 s, action repeat 1; `actionRepeat` R and
 * `maxSteps` 1000 / R give the same 10 s with R physics steps per action, rewards summed over them).
 *
 * Start: cart x ~ 0.01 N(0, 1), pole angle pi + 0.01 N(0, 1) (hanging down), velocities 0.01 N(0, 1).
 * Observation (5): cart x, cos angle, sin angle, cart velocity, angular velocity.
 * Reward (the suite's smooth reward, in [0, 1]):
 *   upright = (cos angle + 1) / 2,  centered = (1 + tol(x, margin 2)) / 2,
 *   small_control = (4 + tol(u, margin 1, quadratic, value 0)) / 5,
 *   small_velocity = (1 + tol(angular velocity, margin 5)) / 2,
 *   r = upright * small_control * small_velocity * centered          (tol: src/rl/mujoco/tolerance.ts)
 * `damping: false` removes both joint dampings (for the energy-conservation check).
 */
import type { MainModule } from "mujoco-js";
import { MujocoEnv, type InitRandom } from "./env.js";
import { tolerance } from "./tolerance.js";

export function cartpoleXML(damping = true): string {
  const slide = damping ? 5e-4 : 0;
  const hinge = damping ? 2e-6 : 0;
  return `<mujoco model="bilevel-cartpole">
  <option timestep="0.01" integrator="RK4"><flag contact="disable" energy="enable"/></option>
  <worldbody>
    <geom name="floor" type="plane" pos="0 0 -0.05" size="4 4 0.2"/>
    <body name="cart" pos="0 0 1">
      <joint name="slider" type="slide" axis="1 0 0" limited="true" range="-1.8 1.8" solreflimit="0.08 1" damping="${slide}"/>
      <geom name="cart" type="box" size="0.2 0.15 0.1" mass="1"/>
      <body name="pole">
        <joint name="hinge" type="hinge" axis="0 1 0" damping="${hinge}"/>
        <geom name="pole" type="capsule" fromto="0 0 0 0 0 1" size="0.045" mass="0.1"/>
      </body>
    </body>
  </worldbody>
  <actuator><motor name="slide" joint="slider" gear="10" ctrllimited="true" ctrlrange="-1 1"/></actuator>
</mujoco>`;
}

export class CartpoleSwingup extends MujocoEnv {
  readonly name = "cartpole-swingup";
  readonly obsDim = 5;

  constructor(mj: MainModule, opts: { damping?: boolean; maxSteps?: number; actionRepeat?: number } = {}) {
    super(mj, cartpoleXML(opts.damping ?? true), opts.maxSteps ?? 1000, opts.actionRepeat ?? 1, true);
  }

  protected initialize(rand: InitRandom): void {
    const n = rand.normal(4);
    const q = this.qpos();
    q[0] = 0.01 * n[0];
    q[1] = Math.PI + 0.01 * n[1];
    const v = this.qvel();
    v[0] = 0.01 * n[2];
    v[1] = 0.01 * n[3];
  }

  protected observe(): number[] {
    const q = this.qpos();
    const v = this.qvel();
    return [q[0], Math.cos(q[1]), Math.sin(q[1]), v[0], v[1]];
  }

  protected reward(): number {
    const q = this.qpos();
    const v = this.qvel();
    const upright = (Math.cos(q[1]) + 1) / 2;
    const centered = (1 + tolerance(q[0], { margin: 2 })) / 2;
    const smallControl = (4 + tolerance(this.ctrl()[0], { margin: 1, valueAtMargin: 0, sigmoid: "quadratic" })) / 5;
    const smallVelocity = (1 + tolerance(v[1], { margin: 5 })) / 2;
    return upright * smallControl * smallVelocity * centered;
  }
}
