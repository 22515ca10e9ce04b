/**
 * Acrobot (Sutton 1996; Sutton & Barto 1998, "book" dynamics), written here from the equations of
 * OpenAI Gym's `Acrobot-v1` (gym/envs/classic_control/acrobot.py) — same constants, the same single
 * fourth-order Runge–Kutta step over dt = 0.2 s, angle wrapping, velocity clipping and termination; no
 * code is taken from Gym.
 *
 * State (theta1, theta2, dtheta1, dtheta2); torque a in {-1, 0, +1} (actions 0, 1, 2); m1 = m2 = 1, l1 = 1,
 * lc1 = lc2 = 0.5, I1 = I2 = 1, g = 9.8.
 *     d1 = m1 lc1^2 + m2 (l1^2 + lc2^2 + 2 l1 lc2 cos theta2) + I1 + I2
 *     d2 = m2 (lc2^2 + l1 lc2 cos theta2) + I2
 *     phi2 = m2 lc2 g cos(theta1 + theta2 - pi/2)
 *     phi1 = -m2 l1 lc2 dtheta2^2 sin theta2 - 2 m2 l1 lc2 dtheta2 dtheta1 sin theta2
 *            + (m1 lc1 + m2 l1) g cos(theta1 - pi/2) + phi2
 *     ddtheta2 = (a + d2/d1 phi1 - m2 l1 lc2 dtheta1^2 sin theta2 - phi2) / (m2 lc2^2 + I2 - d2^2/d1)
 *     ddtheta1 = -(d2 ddtheta2 + phi1) / d1
 *
 * Then angles wrap to [-pi, pi], velocities clip to [-4 pi, 4 pi], [-9 pi, 9 pi]. Observation (cos, sin of
 * both angles, both velocities); terminates when -cos theta1 - cos(theta1 + theta2) > 1; reward -1 per
 * step, 0 on termination; reset: each component uniform in [-0.1, 0.1] (mulberry32(seed)); maxSteps 500.
 */
import { ClassicControlEnv, type BoxSpace, type DiscreteSpace } from "./env.js";

export const ACROBOT = {
  dt: 0.2,
  l1: 1.0,
  m1: 1.0,
  m2: 1.0,
  lc1: 0.5,
  lc2: 0.5,
  moi: 1.0,
  g: 9.8,
  maxVel1: 4 * Math.PI,
  maxVel2: 9 * Math.PI,
  torques: [-1, 0, 1],
} as const;

/** The time derivative of (theta1, theta2, dtheta1, dtheta2) under torque `a` ("book" dynamics). */
export function acrobotDerivs(s: readonly number[], a: number): number[] {
  const { m1, m2, l1, lc1, lc2, moi: I, g } = ACROBOT;
  const [t1, t2, dt1, dt2] = s;
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(t2)) + I + I;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(t2)) + I;
  const phi2 = m2 * lc2 * g * Math.cos(t1 + t2 - Math.PI / 2);
  const phi1 =
    -m2 * l1 * lc2 * dt2 ** 2 * Math.sin(t2) - 2 * m2 * l1 * lc2 * dt2 * dt1 * Math.sin(t2) + (m1 * lc1 + m2 * l1) * g * Math.cos(t1 - Math.PI / 2) + phi2;
  const ddt2 = (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * dt1 ** 2 * Math.sin(t2) - phi2) / (m2 * lc2 ** 2 + I - d2 ** 2 / d1);
  const ddt1 = -(d2 * ddt2 + phi1) / d1;
  return [dt1, dt2, ddt1, ddt2];
}

const wrap = (x: number, lo: number, hi: number): number => {
  const d = hi - lo;
  while (x > hi) x -= d;
  while (x < lo) x += d;
  return x;
};
const clip = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);

/** One environment step: an RK4 step of length dt, wrapping and clipping. Pure. */
export function acrobotDynamics(s: readonly number[], action: number): number[] {
  const a = ACROBOT.torques[action];
  const h = ACROBOT.dt;
  const add = (y: readonly number[], k: number[], c: number) => y.map((v, i) => v + c * k[i]);
  const k1 = acrobotDerivs(s, a);
  const k2 = acrobotDerivs(add(s, k1, h / 2), a);
  const k3 = acrobotDerivs(add(s, k2, h / 2), a);
  const k4 = acrobotDerivs(add(s, k3, h), a);
  const ns = s.map((v, i) => v + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
  return [wrap(ns[0], -Math.PI, Math.PI), wrap(ns[1], -Math.PI, Math.PI), clip(ns[2], -ACROBOT.maxVel1, ACROBOT.maxVel1), clip(ns[3], -ACROBOT.maxVel2, ACROBOT.maxVel2)];
}

export const acrobotTerminal = (s: readonly number[]): boolean => -Math.cos(s[0]) - Math.cos(s[1] + s[0]) > 1.0;
export const acrobotObs = (s: readonly number[]): number[] => [Math.cos(s[0]), Math.sin(s[0]), Math.cos(s[1]), Math.sin(s[1]), s[2], s[3]];

export class Acrobot extends ClassicControlEnv {
  readonly name = "acrobot";
  readonly observationSpace: BoxSpace = {
    kind: "box",
    shape: [6],
    low: [-1, -1, -1, -1, -ACROBOT.maxVel1, -ACROBOT.maxVel2],
    high: [1, 1, 1, 1, ACROBOT.maxVel1, ACROBOT.maxVel2],
  };
  readonly actionSpace: DiscreteSpace = { kind: "discrete", n: 3 };

  constructor(maxSteps = 500) {
    super(maxSteps, 0.1);
  }

  protected dynamics(state: readonly number[], action: number): number[] {
    return acrobotDynamics(state, action);
  }

  protected terminal(state: readonly number[]): boolean {
    return acrobotTerminal(state);
  }

  protected observe(state: readonly number[]): number[] {
    return acrobotObs(state);
  }

  protected reward(terminated: boolean): number {
    return terminated ? 0 : -1;
  }
}
