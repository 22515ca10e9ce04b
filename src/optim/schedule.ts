/**
 * Step-size schedules lr_k (k = 0, 1, ... the outer step), each in two forms that give the same value:
 * `at(k)` on the host in float64 (pass the result into a compiled step as a scalar) and `traced(k)` on a
 * scalar array inside a compiled step (no retracing as k changes). `floor` is a fraction of lr below
 * which lr_k never falls.
 *   constant     lr_k = lr
 *   step         lr_k = lr max(factor^floor(k / every), floor)                 (torch StepLR)
 *   polynomial   lr_k = max(lr / (k + 1)^power, floor lr)
 *   cosine       lr_k = lr (floor + (1 - floor) (1 + cos(pi min(k, steps) / steps)) / 2)
 */
import { np, scalar, type Arr } from "../engine/index.js";

export interface Schedule {
  /** lr_k on the host, in float64. */
  at(k: number): number;
  /** lr_k from a scalar array k (consumed), inside a compiled step. */
  traced(k: Arr): Arr;
  /** True when lr_k = lr for every k (solvers then skip the schedule's operations). */
  constant: boolean;
}

export const constant = (lr: number): Schedule => ({ at: () => lr, traced: (k) => (k.dispose(), scalar(lr)), constant: true });

/** torch's StepLR with a floor: lr times factor every `every` steps, never below floor * lr. */
export function stepDecay(lr: number, factor: number, every: number, floor = 0): Schedule {
  return {
    at: (k) => lr * Math.max(Math.pow(factor, Math.floor(k / every)), floor),
    traced: (k) => np.maximum(np.exp(np.floor(k.div(every)).mul(Math.log(factor))), floor).mul(lr),
    constant: factor === 1 || every <= 0,
  };
}

/** lr / (k + 1)^power, never below floor * lr. */
export function polynomial(lr: number, power: number, floor = 0): Schedule {
  return {
    at: (k) => Math.max(lr / Math.pow(k + 1, power), floor * lr),
    traced: (k) => np.maximum(np.power(k.add(1), -power).mul(lr), floor * lr),
    constant: power === 0,
  };
}

/** Cosine decay from lr to floor * lr over `steps` steps, then flat. */
export function cosine(lr: number, steps: number, floor = 0): Schedule {
  const c = (t: number) => floor + ((1 - floor) * (1 + Math.cos((Math.PI * Math.min(t, steps)) / steps))) / 2;
  return {
    at: (k) => lr * c(k),
    traced: (k) => np.cos(np.minimum(k, steps).mul(Math.PI / steps)).add(1).mul(((1 - floor) * lr) / 2).add(floor * lr),
    constant: false,
  };
}

/** -lr for a number or a scalar array (borrowed), for the plain steps solvers write themselves. */
export const negate = (lr: number | Arr): number | Arr => (typeof lr === "number" ? -lr : lr.ref.neg());
