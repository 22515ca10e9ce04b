/**
 * `cheetah-run` — the DeepMind Control Suite task (Tassa et al. 2018; dm_control/suite/cheetah.py,
 * cheetah.xml), MJCF written here with the suite's physical parameters: a planar 7-capsule runner of total
 * mass 14 kg (root: x and z slides and a pitch hinge, unactuated and undamped), six limited hinges (back
 * and front thigh, shin, foot) with their stiffness, damping and ranges, armature 0.1, friction 0.4,
 * motors with gears 120/90/60 (back) and 90/60/30 (front); Euler at 0.01 s, 1000 control steps of one
 * physics step (10 s, action repeat 1; `actionRepeat` as in cartpole-swingup.ts).
 *
 * Start: each limited joint uniform in its range, then 200 physics steps with zero control (the suite's
 * settling), time reset to 0. Observation (17): qpos without the root x (8), qvel (9).
 * Reward: tol(v, bounds [10, inf), margin 10, linear, value 0) = min(max(v / 10, 0), 1) with v the
 * torso subtree's forward linear velocity (sensor subtreelinvel), in [0, 1].
 */
import type { MainModule } from "mujoco-js";
import { MujocoEnv, type InitRandom } from "./env.js";
import { tolerance } from "./tolerance.js";

/** The six actuated joints: name, body position in its parent, geom (pos, pitch in degrees, half-length), range (degrees), stiffness, damping, motor gear. */
const LEGS = {
  b: [
    { part: "thigh", at: "-0.5 0 0", geom: ["0.1 0 -0.13", -218, 0.145], range: "-30 60", k: 240, c: 6, gear: 120 },
    { part: "shin", at: "0.16 0 -0.25", geom: ["-0.14 0 -0.07", -116, 0.15], range: "-50 50", k: 180, c: 4.5, gear: 90 },
    { part: "foot", at: "-0.28 0 -0.14", geom: ["0.03 0 -0.097", -15, 0.094], range: "-230 50", k: 120, c: 3, gear: 60 },
  ],
  f: [
    { part: "thigh", at: "0.5 0 0", geom: ["-0.07 0 -0.12", 30, 0.133], range: "-57 0.4", k: 180, c: 4.5, gear: 90 },
    { part: "shin", at: "-0.14 0 -0.24", geom: ["0.065 0 -0.09", -34, 0.106], range: "-70 50", k: 120, c: 3, gear: 60 },
    { part: "foot", at: "0.13 0 -0.18", geom: ["0.045 0 -0.07", -34, 0.07], range: "-28 28", k: 60, c: 1.5, gear: 30 },
  ],
} as const;

function leg(side: "b" | "f"): string {
  const parts = LEGS[side];
  let xml = "";
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i];
    const name = `${side}${p.part}`;
    const [gpos, pitch, half] = p.geom;
    xml = `<body name="${name}" pos="${p.at}"><joint name="${name}" class="limb" range="${p.range}" stiffness="${p.k}" damping="${p.c}"/>` + `<geom name="${name}" type="capsule" pos="${gpos}" euler="0 ${pitch} 0" size="0.046 ${half}"/>${xml}</body>`;
  }
  return xml;
}

export function cheetahXML(): string {
  const motors = (["b", "f"] as const).flatMap((s) => LEGS[s].map((p) => `<motor name="${s}${p.part}" joint="${s}${p.part}" gear="${p.gear}" ctrllimited="true" ctrlrange="-1 1"/>`));
  return `<mujoco model="bilevel-cheetah">
  <compiler settotalmass="14"/>
  <option timestep="0.01"/>
  <default>
    <default class="limb"><joint type="hinge" axis="0 1 0" limited="true" armature="0.1" damping="0.01" stiffness="8"/></default>
    <geom contype="1" conaffinity="1" condim="3" friction="0.4 0.1 0.1"/>
  </default>
  <worldbody>
    <geom name="ground" type="plane" pos="98 0 0" size="100 1.25 0.5"/>
    <body name="torso" pos="0 0 0.7">
      <joint name="rootx" type="slide" axis="1 0 0"/>
      <joint name="rootz" type="slide" axis="0 0 1"/>
      <joint name="rooty" type="hinge" axis="0 1 0"/>
      <geom name="torso" type="capsule" fromto="-0.5 0 0 0.5 0 0" size="0.046"/>
      <geom name="head" type="capsule" pos="0.6 0 0.1" euler="0 50 0" size="0.046 0.15"/>
      ${leg("b")}
      ${leg("f")}
    </body>
  </worldbody>
  <sensor><subtreelinvel name="torso_subtreelinvel" body="torso"/></sensor>
  <actuator>${motors.join("")}</actuator>
</mujoco>`;
}

export class CheetahRun extends MujocoEnv {
  readonly name = "cheetah-run";
  readonly obsDim = 17;

  constructor(mj: MainModule, opts: { maxSteps?: number; actionRepeat?: number } = {}) {
    super(mj, cheetahXML(), opts.maxSteps ?? 1000, opts.actionRepeat ?? 1, false);
  }

  protected initialize(rand: InitRandom): void {
    const limited = this.model.jnt_limited as Uint8Array;
    const range = this.model.jnt_range as Float64Array;
    const q = this.qpos();
    for (let j = 0; j < this.model.njnt; j++) if (limited[j]) q[j] = range[2 * j] + (range[2 * j + 1] - range[2 * j]) * rand.uniform();
    this.ctrl().fill(0);
    this.mj.mj_forward(this.model, this.data);
    for (let i = 0; i < 200; i++) this.physicsStep();
    this.data.time = 0;
  }

  protected observe(): number[] {
    return [...Array.from(this.qpos()).slice(1), ...Array.from(this.qvel())];
  }

  /** Forward speed of the torso subtree's centre of mass. */
  speed(): number {
    return (this.data.sensordata as Float64Array)[0];
  }

  protected reward(): number {
    return tolerance(this.speed(), { bounds: [10, Infinity], margin: 10, sigmoid: "linear", valueAtMargin: 0 });
  }
}
