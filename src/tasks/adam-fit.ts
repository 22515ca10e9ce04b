/**
 * Train a parameter tree with host Adam (src/optim/host-adam.ts) on gradients the engine computes: the
 * baselines' plain training loops (no bilevel structure, small parameter counts). The parameters live on the
 * host as one float64 vector; each step uploads them, calls `grad` (consumes its arguments) and reads the
 * gradient back.
 */
import { array, type Arr } from "../engine/index.js";
import { Adam } from "../optim/host-adam.js";

/** Host copy of a tree of arrays: names, shapes and one flat vector (consumes the arrays). */
export interface HostParams {
  keys: string[];
  shapes: number[][];
  theta: Float64Array;
}

export async function toHost(p: Record<string, Arr>): Promise<HostParams> {
  const keys = Object.keys(p);
  const shapes = keys.map((k) => p[k].shape);
  const parts = await Promise.all(keys.map((k) => p[k].data()));
  const theta = new Float64Array(parts.reduce((a, v) => a + v.length, 0));
  parts.reduce((off, v) => (theta.set(v, off), off + v.length), 0);
  return { keys, shapes, theta };
}

/** The engine tree of a host copy (fresh arrays). */
export function fromHost(h: HostParams): Record<string, Arr> {
  let off = 0;
  return Object.fromEntries(h.keys.map((k, i) => {
    const n = h.shapes[i].reduce((a, b) => a * b, 1);
    return [k, array(h.theta.subarray(off, (off += n)), h.shapes[i])];
  }));
}

/**
 * `steps` Adam steps (step size `lr`) on h.theta in place; `grad(params, t)` returns the gradient tree at
 * step t. Returns the largest |gradient| entry of the last step.
 */
export async function adamFit(h: HostParams, grad: (p: Record<string, Arr>, t: number) => Record<string, Arr>, steps: number, lr: number): Promise<number> {
  const adam = new Adam(h.theta.length, lr);
  const g = new Float64Array(h.theta.length);
  for (let t = 0; t < steps; t++) {
    const gt = grad(fromHost(h), t);
    let off = 0;
    for (const k of h.keys) {
      const v = await gt[k].data();
      g.set(v, off);
      off += v.length;
    }
    adam.step(h.theta, g);
  }
  let inf = 0;
  for (const v of g) inf = Math.max(inf, Math.abs(v));
  return inf;
}
