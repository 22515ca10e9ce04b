/**
 * A small MLP in nn.Linear layout (W_l [out, in], b_l [out]) with tanh hidden layers and a linear output,
 * PyTorch's default initialization U(-1/sqrt(in), 1/sqrt(in)) for W and b (the last layer optionally
 * scaled). Parameters live in one flat Float64Array on the host (layer by layer, W then b), which is also
 * the layout of gradients and of the jax-js pytrees {W0, b0, ...}; `forward` runs one input on the host
 * (acting), `mlpApply` a batch in jax-js (gradients).
 */
import { array, mulberry32, np, toFloat64, type Arr } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";

export type MLPTree = Record<string, Arr>;

export class HostMLP {
  readonly sizes: number[];
  /** All parameters, layer by layer (W_l row-major [out, in], then b_l). */
  readonly theta: Float64Array;
  readonly offsets: { W: number; b: number; fin: number; fout: number }[] = [];

  constructor(sizes: number[], theta?: Float64Array) {
    if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) throw new BilevelInputError(`sizes: expected >= 2 positive integers, got [${sizes.join(", ")}]`);
    this.sizes = sizes.slice();
    let o = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fin = sizes[l];
      const fout = sizes[l + 1];
      this.offsets.push({ W: o, b: o + fin * fout, fin, fout });
      o += fin * fout + fout;
    }
    if (theta && theta.length !== o) throw new BilevelInputError(`theta: expected ${o} parameters for sizes [${sizes.join(", ")}], got ${theta.length}`);
    this.theta = theta ? Float64Array.from(theta) : new Float64Array(o);
  }

  get size(): number {
    return this.theta.length;
  }

  /** PyTorch default init U(-1/sqrt(in), 1/sqrt(in)); the last layer scaled by `lastScale`. */
  static init(sizes: number[], seed: number, lastScale = 1): HostMLP {
    const m = new HostMLP(sizes);
    const rand = mulberry32(seed);
    m.offsets.forEach(({ W, b, fin, fout }, l) => {
      const k = 1 / Math.sqrt(fin);
      const s = l + 1 === m.offsets.length ? lastScale : 1;
      for (let i = 0; i < fin * fout; i++) m.theta[W + i] = s * k * (2 * rand() - 1);
      for (let i = 0; i < fout; i++) m.theta[b + i] = s * k * (2 * rand() - 1);
    });
    return m;
  }

  clone(): HostMLP {
    return new HostMLP(this.sizes, this.theta);
  }

  /** Forward pass of one input on the host (tanh hidden layers, linear output). */
  forward(x: ArrayLike<number>): Float64Array {
    let h: ArrayLike<number> = x;
    const th = this.theta;
    const L = this.offsets.length;
    for (let l = 0; l < L; l++) {
      const { W, b, fin, fout } = this.offsets[l];
      const z = new Float64Array(fout);
      for (let o = 0; o < fout; o++) {
        let s = th[b + o];
        const r = W + o * fin;
        for (let i = 0; i < fin; i++) s += th[r + i] * h[i];
        z[o] = l + 1 < L ? Math.tanh(s) : s;
      }
      h = z;
    }
    return h as Float64Array;
  }

  /** The parameters as a jax-js pytree {W0, b0, W1, b1, ...} (fresh arrays owned by the caller). */
  tree(): MLPTree {
    const t: MLPTree = {};
    this.offsets.forEach(({ W, b, fin, fout }, l) => {
      t[`W${l}`] = array(this.theta.subarray(W, W + fin * fout), [fout, fin]);
      t[`b${l}`] = array(this.theta.subarray(b, b + fout), [fout]);
    });
    return t;
  }

  /** All parameters as one flat jax-js vector [size] (a fresh array owned by the caller). */
  flatArray(): Arr {
    return array(this.theta);
  }

  /** The pytree {W0, b0, ...} cut out of a flat vector in `theta`'s layout (differentiable). Consumes v. */
  unflat(v: Arr): MLPTree {
    if (v.shape.length !== 1 || v.shape[0] !== this.size) {
      const shape = `[${v.shape.join(", ")}]`;
      v.dispose();
      throw new BilevelInputError(`parameters: expected a flat vector of ${this.size} for MLP [${this.sizes.join(", ")}], got shape ${shape}`);
    }
    const t: MLPTree = {};
    const L = this.offsets.length;
    this.offsets.forEach(({ W, b, fin, fout }, l) => {
      t[`W${l}`] = v.ref.slice([W, W + fin * fout]).reshape([fout, fin]);
      t[`b${l}`] = (l + 1 === L ? v : v.ref).slice([b, b + fout]);
    });
    return t;
  }

  /** A pytree shaped like `tree()` read into one flat vector in `theta`'s layout (consumes the tree). */
  async flatten(t: MLPTree): Promise<Float64Array> {
    const out = new Float64Array(this.size);
    for (let l = 0; l < this.offsets.length; l++) {
      const { W, b } = this.offsets[l];
      out.set(await toFloat64(t[`W${l}`]), W);
      out.set(await toFloat64(t[`b${l}`]), b);
    }
    return out;
  }
}

/** The MLP in jax-js on a batch X [N, in]: tanh hidden layers, linear output [N, out]. Consumes p and X. */
export function mlpApply(p: MLPTree, X: Arr): Arr {
  let h = X;
  const L = Object.keys(p).length / 2;
  for (let l = 0; l < L; l++) {
    const W = p[`W${l}`];
    const fout = W.shape[0];
    h = np.matmul(h, W.transpose()).add(p[`b${l}`].reshape([1, fout]));
    if (l + 1 < L) h = np.tanh(h);
  }
  return h;
}
