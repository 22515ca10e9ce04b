/**
 * A replay buffer of transitions (s, a, r, s', not-done) for off-policy learning (SAC; PEBBLE's relabelled
 * experience), in flat float64 host arrays with a fixed capacity (oldest overwritten first). Besides the
 * learning reward `reward` (true or learned; `relabel` rewrites it) it keeps the hidden true reward (for
 * teachers and evaluation only), each action's behaviour log-probability (importance weights), and the
 * episode id and time index of every transition (to cut segments of consecutive steps).
 */
import { BilevelInputError } from "../errors.js";

export interface Batch {
  obs: Float64Array;
  act: Float64Array;
  reward: Float64Array;
  nextObs: Float64Array;
  notDone: Float64Array;
  n: number;
}

export class ReplayBuffer {
  readonly obs: Float64Array;
  readonly act: Float64Array;
  readonly nextObs: Float64Array;
  readonly reward: Float64Array;
  readonly trueReward: Float64Array;
  readonly notDone: Float64Array;
  readonly logProb: Float64Array;
  readonly episode: Int32Array;
  readonly time: Int32Array;
  /** Transitions stored (at most the capacity). */
  size = 0;
  /** Transitions ever added. */
  added = 0;

  constructor(
    readonly capacity: number,
    readonly obsDim: number,
    readonly actDim: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new BilevelInputError(`capacity: expected a positive integer, got ${capacity}`);
    this.obs = new Float64Array(capacity * obsDim);
    this.nextObs = new Float64Array(capacity * obsDim);
    this.act = new Float64Array(capacity * actDim);
    this.reward = new Float64Array(capacity);
    this.trueReward = new Float64Array(capacity);
    this.notDone = new Float64Array(capacity);
    this.logProb = new Float64Array(capacity);
    this.episode = new Int32Array(capacity);
    this.time = new Int32Array(capacity);
  }

  /** Store one transition; returns its slot. */
  add(t: { obs: ArrayLike<number>; act: ArrayLike<number>; reward: number; trueReward: number; nextObs: ArrayLike<number>; terminated: boolean; logProb: number; episode: number; time: number }): number {
    const i = this.added % this.capacity;
    this.obs.set(t.obs, i * this.obsDim);
    this.nextObs.set(t.nextObs, i * this.obsDim);
    this.act.set(t.act, i * this.actDim);
    this.reward[i] = t.reward;
    this.trueReward[i] = t.trueReward;
    this.notDone[i] = t.terminated ? 0 : 1;
    this.logProb[i] = t.logProb;
    this.episode[i] = t.episode;
    this.time[i] = t.time;
    this.added++;
    this.size = Math.min(this.added, this.capacity);
    return i;
  }

  /** `n` transitions drawn uniformly with replacement. */
  sample(n: number, rand: () => number): Batch {
    if (this.size === 0) throw new BilevelInputError("replay buffer: sample from an empty buffer");
    const { obsDim: d, actDim: k } = this;
    const b: Batch = { obs: new Float64Array(n * d), act: new Float64Array(n * k), reward: new Float64Array(n), nextObs: new Float64Array(n * d), notDone: new Float64Array(n), n };
    for (let j = 0; j < n; j++) {
      const i = Math.floor(rand() * this.size);
      b.obs.set(this.obs.subarray(i * d, i * d + d), j * d);
      b.nextObs.set(this.nextObs.subarray(i * d, i * d + d), j * d);
      b.act.set(this.act.subarray(i * k, i * k + k), j * k);
      b.reward[j] = this.reward[i];
      b.notDone[j] = this.notDone[i];
    }
    return b;
  }

  /** Rewrite the learning reward of every stored transition (PEBBLE's relabelling). */
  relabel(rewardOf: (obs: Float64Array, act: Float64Array, n: number) => Float64Array): void {
    const r = rewardOf(this.obs.subarray(0, this.size * this.obsDim), this.act.subarray(0, this.size * this.actDim), this.size);
    this.reward.set(r.subarray(0, this.size));
  }
}
