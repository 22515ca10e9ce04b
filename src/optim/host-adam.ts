/** Adam (Kingma & Ba 2015) on a flat host parameter vector: beta1 0.9, beta2 0.999, eps 1e-8 by default. */
export class Adam {
  private m: Float64Array;
  private v: Float64Array;
  private t = 0;
  constructor(
    n: number,
    public lr: number,
    private b1 = 0.9,
    private b2 = 0.999,
    private eps = 1e-8,
  ) {
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }
  /**
   * The current diagonal preconditioner lr / (sqrt(v_hat) + eps): the sensitivity of one Adam step to its
   * gradient when the moment estimates are held fixed (used for the lower level's Jacobian). lr before any step.
   */
  precond(): Float64Array {
    const out = new Float64Array(this.v.length);
    const c2 = this.t > 0 ? 1 - this.b2 ** this.t : 1;
    for (let i = 0; i < out.length; i++) out[i] = this.t > 0 ? this.lr / (Math.sqrt(this.v[i] / c2) + this.eps) : this.lr;
    return out;
  }
  /** The scalar step lr / (sqrt(mean_i v_hat_i) + eps): Adam's step size over the RMS gradient (lr before any step). */
  stepScale(): number {
    if (this.t === 0) return this.lr;
    let s = 0;
    for (let i = 0; i < this.v.length; i++) s += this.v[i];
    return this.lr / (Math.sqrt(s / this.v.length / (1 - this.b2 ** this.t)) + this.eps);
  }
  /** theta <- theta - lr * Adam(grad), in place (descent on the gradient given). */
  step(theta: Float64Array, grad: ArrayLike<number>): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    for (let i = 0; i < theta.length; i++) {
      const g = grad[i];
      this.m[i] = this.b1 * this.m[i] + (1 - this.b1) * g;
      this.v[i] = this.b2 * this.v[i] + (1 - this.b2) * g * g;
      theta[i] -= (this.lr * (this.m[i] / c1)) / (Math.sqrt(this.v[i] / c2) + this.eps);
    }
  }
}
