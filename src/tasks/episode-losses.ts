/** Per-episode losses and scores over a leading episode axis (the meta-learning tasks' support, query and held-out metrics). */
import { jax, np, type Arr } from "../engine/index.js";

/** Per-episode mean squared error [B] of predictions [B, m, 1] against targets. Consumes both. */
export const mseLoss = (pred: Arr, y: Arr): Arr => {
  const r = pred.sub(y);
  return r.ref.mul(r).mean([1, 2]);
};
/** Per-episode mean cross-entropy [B] of logits [B, m, c] against one-hot targets. Consumes both. */
export const ceLoss = (logits: Arr, y: Arr): Arr => {
  const lse = jax.nn.logsumexp(logits.ref, -1);
  return lse.sub(logits.mul(y).sum(-1)).mean(-1);
};
/** Per-episode accuracy [B] (argmax of logits vs one-hot targets, ties count as wrong). Consumes both. */
export const accuracy = (logits: Arr, y: Arr): Arr => {
  const best = logits.ref.max(-1, { keepdims: true });
  const hit = np.equal(logits, best).astype(y.dtype).mul(y).sum(-1);
  return np.minimum(hit, 1).mean(-1);
};
