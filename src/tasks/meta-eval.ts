/**
 * The held-out evaluation of the meta-learning tasks: mean and 95% CI half-width of the per-episode
 * score after adaptation from x, the same for the baseline adapted from a random initialization, and the
 * paired per-episode improvement with its CI (docs/tasks/meta-learning.md, "Metrics").
 */
import { jax, tdispose, tref, type Arr } from "../engine/index.js";
import { toDevice, type Episodes, type HostEpisodes } from "./episodes.js";
import type { Params } from "./mlp.js";
import { meanCI } from "./stats.js";

/**
 * The held-out evaluation: `score(x, episodes)` -> per-episode scores [n] (compiled), run over the
 * held-out episodes in chunks; the baseline from x0 is computed once and cached.
 */
export function makeEvaluator(
  score: (x: Params, e: Episodes) => Arr,
  heldOut: (chunk: number, count: number) => HostEpisodes,
  nEval: number,
  chunk: number,
  lowerIsBetter: boolean,
  names: { metric: string; baseline: string; improvement: string },
) {
  const jitted = jax.jit((x: Params, e: Episodes) => score(x, e));
  // held-out chunks are regenerated from their seeds on every evaluation (host work is small; this
  // keeps device memory flat for 500 image episodes)
  const scores = async (x: Params): Promise<Float64Array> => {
    const out = new Float64Array(nEval);
    let o = 0;
    for (let s = 0, i = 0; s < nEval; s += chunk, i++) {
      const v = await jitted(tref(x), toDevice(heldOut(i, Math.min(chunk, nEval - s)))).data();
      out.set(Float64Array.from(v as ArrayLike<number>), o);
      o += v.length;
    }
    tdispose(x);
    return out;
  };
  let base: Float64Array | null = null;
  return async (x: Params, x0: () => Params): Promise<Record<string, number>> => {
    if (!base) base = await scores(x0());
    const m = await scores(x);
    const diff = m.map((v, i) => (lowerIsBetter ? base![i] - v : v - base![i]));
    const a = meanCI(m);
    const b = meanCI(base);
    const d = meanCI(diff);
    return {
      [names.metric]: a.mean,
      [`${names.metric}CI`]: a.ci,
      [names.baseline]: b.mean,
      [`${names.baseline}CI`]: b.ci,
      [names.improvement]: d.mean,
      [`${names.improvement}CI`]: d.ci,
      evalEpisodes: nEval,
    };
  };
}
