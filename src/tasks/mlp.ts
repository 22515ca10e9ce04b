/** The MLPs of the meta-learning tasks: nn.Linear layout (W [out, in], b [out]), PyTorch's initialization, batched over episodes or shared. */
import { array, jax, np, tmap, type Arr } from "../engine/index.js";

/** MLP parameters by name: W0, b0, W1, b1, ... */
export type Params = Record<string, Arr>;

/** MLP parameters in nn.Linear layout with PyTorch's default initialization U(-1/sqrt(in), 1/sqrt(in)). */
export function initMlp(sizes: number[], rand: () => number): Params {
  const p: Params = {};
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fin, fout] = [sizes[l], sizes[l + 1]];
    const bound = 1 / Math.sqrt(fin);
    const W = new Float32Array(fout * fin).map(() => (2 * rand() - 1) * bound);
    const b = new Float32Array(fout).map(() => (2 * rand() - 1) * bound);
    p[`W${l}`] = array(W, [fout, fin]);
    p[`b${l}`] = array(b, [fout]);
  }
  return p;
}

/** Broadcast every leaf to a leading axis of n copies (differentiable: the gradient sums). Consumes x. */
export function broadcastParams(x: Params, n: number): Params {
  return tmap((a) => np.broadcastTo(a.reshape([1, ...a.shape]), [n, ...a.shape]), x) as Params;
}

/**
 * Batched MLP: parameters with a leading episode axis (W_l [B, out, in], b_l [B, out]) applied to
 * X [B, m, in] (ReLU between layers, linear output). Consumes params and X.
 */
export function mlpBatched(p: Params, X: Arr, layers: number): Arr {
  let h = X;
  for (let l = 0; l < layers; l++) {
    const W = p[`W${l}`];
    const b = p[`b${l}`];
    const [B, out, fin] = W.shape;
    const z = fin === 1 ? h.mul(W.reshape([B, 1, out])) : np.matmul(h, W.transpose([0, 2, 1]));
    h = z.add(b.reshape([B, 1, out]));
    if (l + 1 < layers) h = jax.nn.relu(h);
  }
  return h;
}

/** Shared (unbatched) MLP on X [m, in], ReLU on every layer when `reluLast`. Consumes p and X. */
export function mlpShared(p: Params, X: Arr, layers: number, reluLast: boolean): Arr {
  let h = X;
  for (let l = 0; l < layers; l++) {
    const W = p[`W${l}`];
    const fout = W.shape[0];
    h = np.matmul(h, W.transpose()).add(p[`b${l}`].reshape([1, fout]));
    if (l + 1 < layers || reluLast) h = jax.nn.relu(h);
  }
  return h;
}
