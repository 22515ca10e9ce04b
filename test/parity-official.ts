/**
 * Host statements of the official update loops (float64, plain JS), one per solver, written from the
 * official code's rule and quirks; the parity tests (test/parity-*.test.ts) and docs/solvers/*.md
 * measurements compare the solvers with them. Each cites the official file it follows.
 */
import type { QuadraticData } from "../src/tasks/toys.js";
import { matvec, transpose } from "../src/linalg.js";
import type { Flat } from "./parity-common.js";
import { filled } from "./parity-common.js";

// ---------------------------------------------------------------------------------------------------
// BOME: Cranial-XIX/BOME toy/toy_lls.py, bilevel_descent_bome (lines 35-107).
export const BOME_OFFICIAL = { k: 10, eta: 0.5, xLr: 0.5, wLr: 0.5, xhatLr: 0.5 };
const clamp = (v: number) => Math.min(100, Math.max(-100, v)); // LOWER, UPPER of toy_lls.py

/** The official update loop, written out for the scalar toy: f = 1/2 (w - x1)^2 + 1/2 (x0 - 1)^2, g = 1/2 x0^2 - w x0. */
export function officialBome(steps: number, o = BOME_OFFICIAL): Flat[] {
  let [w, x0, x1] = [0, 0, 0];
  const out: Flat[] = [{ x: Float64Array.of(w), y: Float64Array.of(x0, x1) }];
  for (let i = 0; i < steps; i++) {
    let xh = x0; // xhat.data = x.data.clone(), then k SGD steps on g(., w)
    for (let j = 0; j < o.k; j++) xh = clamp(xh - o.xhatLr * (xh - w));
    const df = [x0 - 1, x1 - w, w - x1]; // (f_x0, f_x1, f_w)
    const dg = [x0 - w, 0, -x0 + xh]; // grad of g(x, w) - g(xhat, w) in (x0, x1, w), xhat held constant
    const normDq = dg.reduce((s, v) => s + v * v, 0);
    const dot = df.reduce((s, v, t) => s + v * dg[t], 0);
    const lam = Math.max(0, o.eta - dot / (normDq + 1e-8));
    const d = df.map((v, t) => v + lam * dg[t]);
    w = w - o.wLr * d[2];
    x0 = clamp(x0 - o.xLr * d[0]);
    x1 = clamp(x1 - o.xLr * d[1]);
    out.push({ x: Float64Array.of(w), y: Float64Array.of(x0, x1) });
  }
  return out;
}


// ---------------------------------------------------------------------------------------------------
// sl-BAMM: vis-opt-group/sl-BAMM merely_convex/strategy3.py, BAMM_CG branch (lines 348-391), --BDA --thelr.
export const BAMM_OFFICIAL = { mu0: 0.9, p0: 10, tau: 1 / 40, yLr: 0.1, alpha: 0.1 };
const nrm = (v: Float64Array) => Math.sqrt(v.reduce((s, a) => s + a * a, 0));
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, ai, i) => s + ai * b[i], 0);

/**
 * The official BAMM_CG loop on the toy, written out: phi = (1 - a) f + a F with a fixed (`a`), one y step
 * on phi, one multiplier step v <- v - ita (H v - grad_y F), x step with the old v and
 * x_lr = (k+1)^(-1.5 tau) mu_k^3 y_lr, mu_k = mu0 / (k+1)^(1/p0). `joint` switches the numerator of ita
 * to ||r||^2 (bilevel's default); `schedule` puts mu_k into phi (bilevel's default).
 */
export function officialBamm(N: number, steps: number, start: number, v: { joint?: boolean; schedule?: boolean } = {}): Flat[] {
  const o = BAMM_OFFICIAL;
  let [x, y1, y2] = [filled(N, start), filled(N, start), filled(N, start)];
  let [v1, v2] = [filled(N, 0), filled(N, 0)];
  const out: Flat[] = [{ x: x.slice(), y: Float64Array.from([...y1, ...y2]) }];
  for (let k = 0; k < steps; k++) {
    const mu = (o.mu0 * 1) / Math.pow(k + 1, 1 / o.p0);
    const xLr = Math.pow(k + 1, -1.5 * o.tau) * Math.pow(mu, 3) * o.yLr;
    const a = v.schedule ? mu : o.alpha;
    // grad_y phi = (1 - a)(y1 - x, 0) + a (y1 - 1, y2 - x); grad^2_yy phi = diag(I, a I); grad^2_xy phi v = -(1 - a) v1 - a v2
    const py1 = y1.map((u, i) => (1 - a) * (u - x[i]) + a * (u - 1));
    const py2 = y2.map((u, i) => a * (u - x[i]));
    const t1 = v1.map((u, i) => u - (y1[i] - 1)); // H v - grad_y F
    const t2 = v2.map((u, i) => a * u - (y2[i] - x[i]));
    const num = v.joint ? dot(t1, t1) + dot(t2, t2) : (nrm(t1) + nrm(t2)) ** 2;
    const ita = num / (dot(t1, t1) + a * dot(t2, t2) + 1e-12);
    const gx = x.map((u, i) => u - y2[i] + (1 - a) * v1[i] + a * v2[i]); // grad_x F - grad^2_xy phi v_k
    x = x.map((u, i) => u - xLr * gx[i]);
    [y1, y2] = [y1.map((u, i) => u - o.yLr * py1[i]), y2.map((u, i) => u - o.yLr * py2[i])];
    [v1, v2] = [v1.map((u, i) => u - ita * t1[i]), v2.map((u, i) => u - ita * t2[i])];
    out.push({ x: x.slice(), y: Float64Array.from([...y1, ...y2]) });
  }
  return out;
}


// ---------------------------------------------------------------------------------------------------
// LV-HBA: SUSTech-Optimization/LV-HBA Toy-example/LLC/LV-HBA.py, fun() (lines 61-133), n = 100.
// The official g is 1'x + 1'y (its lambda multiplies +g); toy-constrained's is -(1'x + 1'y), so the
// official lambda and z are the negatives of bilevel's.
export const LVHBA_OFFICIAL = { alpha: 0.008, beta: 0.02, eta: 0.01, lambda0: 1, gamma1: 10, gamma2: 10, u: 1000, c0: 0.025, p: 0.3 };

/**
 * The official loop. `start` = official: x = -20, y = theta = 10, lambda = 1, z = -1 (the file's projected
 * start, lines 67-79); `v.lo` = 0 clips lambda, z to [0, u] in bilevel's sign (i.e. the official ones to
 * [-u, 0]); `v.halfspace` projects only when 1'w < 0 (bilevel's g > 0, toy-constrained's violated constraint).
 */
export function officialLvhba(n: number, steps: number, v: { lo?: number; halfspace?: boolean; start?: { x: number; y: number; lam: number; z: number } } = {}): Flat[] {
  const o = LVHBA_OFFICIAL;
  const st = v.start ?? { x: -20, y: 10, lam: o.lambda0, z: -1 };
  // clip to [-u, u] (lines 103, 121); with v.lo = 0, bilevel's lambda in [0, u] means the official one in [-u, 0]
  const clip = (a: number) => Math.min(v.lo === undefined ? o.u : -v.lo, Math.max(-o.u, a));
  let x = filled(n, st.x);
  let y = filled(2 * n, st.y);
  let th = filled(2 * n, st.y);
  let [lam, z] = [st.lam, st.z];
  const sum = (a: Float64Array) => a.reduce((s, t) => s + t, 0);
  const out: Flat[] = [{ x: x.slice(), y: y.slice() }];
  for (let k = 0; k < steps; k++) {
    const ck = o.c0 * Math.pow(k + 1, o.p);
    // d4_0 = f_y(x, theta) + lambda g_y + (theta - y) / gamma1,  f_y = (theta1 - x, 1)
    const d40 = th.map((t, i) => (i < n ? t - x[i] : 1) + lam + (t - y[i]) / o.gamma1);
    const d41 = -(sum(x) + sum(th)) + (lam - z) / o.gamma2;
    th = th.map((t, i) => t - o.eta * d40[i]);
    lam = clip(lam - o.eta * d41);
    // d1 = F_x / ck + f_x(x, y) - f_x(x, theta) - lambda g_x;  d2 = F_y / ck + f_y(x, y) - (y - theta) / gamma1
    const d1 = x.map((xi, i) => (xi - y[n + i]) / ck - y[i] + th[i] - lam);
    const d2 = y.map((yi, i) => (i < n ? yi - 1 : -(x[i - n] - yi)) / ck + (i < n ? yi - x[i] : 1) - (yi - th[i]) / o.gamma1);
    x = x.map((xi, i) => xi - o.alpha * d1[i]);
    y = y.map((yi, i) => yi - o.alpha * d2[i]);
    let w = Float64Array.from([...x, ...y]);
    const s = sum(w);
    if (!v.halfspace || s < 0) {
      w = w.map((t) => t - s / w.length); // line 114
      const s2 = sum(w);
      if (!v.halfspace) w = w.map((t) => t - s2); // line 115 (only removes the rounding left by line 114)
    }
    x = w.slice(0, n);
    y = w.slice(n);
    z = clip(z - o.beta * (-(lam - z) / o.gamma2));
    out.push({ x: x.slice(), y: y.slice() });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// BDA: the official code (vis-opt-group/BDA, boml/lower_iter/aggr.py, TensorFlow) ships no toy; BOAT
// (callous-youth/BOAT, boat_torch/gm_ol/ngd.py lines 154-163 with gda_loss of examples/data_hyper_cleaning/
// configs/loss_func_dhl.py:41-53) runs T steps of SGD (step lr) on alpha_t F + (1 - alpha_t) f with
// alpha_t = alpha_init alpha_decay^t, restarted every outer step, and differentiates F(x, y_T) through the
// unrolled steps. Written out on toy-lls (every entry separate): dy1/dx and dy2/dx are scalars per entry.
export const BDA_BOAT = { T: 5, lr: 0.1, alphaInit: 0.5, alphaDecay: 0.9, lrX: 0.1 };

/** `fixedF`: the official boml weights instead, alpha_t F + (1 - alphaInit) f (f's weight does not decay). */
export function boatBda(n: number, steps: number, o = BDA_BOAT, fixedF = false): Flat[] {
  let [x, y1, y2] = [filled(n, 0), filled(n, 0), filled(n, 0)];
  const out: Flat[] = [{ x: x.slice(), y: Float64Array.from([...y1, ...y2]) }];
  for (let k = 0; k < steps; k++) {
    const [ny1, ny2, nx] = [y1.slice(), y2.slice(), x.slice()];
    for (let i = 0; i < n; i++) {
      let [a, b, J1, J2] = [y1[i], y2[i], 0, 0]; // y_0 = y_k does not depend on x
      let alpha = o.alphaInit;
      for (let t = 0; t < o.T; t++) {
        // grad_y (alpha F + (1 - alpha) f) = (alpha (y1 - 1) + (1 - alpha)(y1 - x), alpha (y2 - x))
        const wf = fixedF ? 1 - o.alphaInit : 1 - alpha;
        const g1 = alpha * (a - 1) + wf * (a - x[i]);
        const g2 = alpha * (b - x[i]);
        J1 = J1 - o.lr * (alpha * J1 + wf * (J1 - 1));
        J2 = J2 - o.lr * alpha * (J2 - 1);
        a = a - o.lr * g1;
        b = b - o.lr * g2;
        alpha = alpha * o.alphaDecay;
      }
      // d/dx F(x, y_T(x)) = (x - y2) + J1 (y1 - 1) + J2 (y2 - x)
      const h = x[i] - b + J1 * (a - 1) + J2 * (b - x[i]);
      nx[i] = x[i] - o.lrX * h;
      ny1[i] = a;
      ny2[i] = b;
    }
    [x, y1, y2] = [nx, ny1, ny2];
    out.push({ x: x.slice(), y: Float64Array.from([...y1, ...y2]) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// SOBA and StocBiO: benchopt/benchmark_bilevel solvers/soba.py (soba_one_iter, lines 55-83) and
// solvers/stocbio.py (stocbio_one_iter, lines 66-101; shia_jax in benchmark_utils/hessian_approximation.py),
// full-batch, on toy-quadratic without noise: f = 1/2 y'Hy + x'Cy + a'y, F = 1/2 ||y - yt||^2 + mu/2 ||x||^2.
// benchmark_bilevel's v solves H v = -grad_y F (its v is minus bilevel's).
export function quadOracles(d: QuadraticData) {
  const Ct = transpose(d.C);
  return {
    gy: (x: Float64Array, y: Float64Array) => add3(matvec(d.H, y), matvec(Ct, x), d.a), // grad_y f
    hvp: (v: Float64Array) => Float64Array.from(matvec(d.H, v)),
    cross: (v: Float64Array) => Float64Array.from(matvec(d.C, v)), // grad_x <grad_y f, v> = C v
    Fy: (y: Float64Array) => y.map((u, i) => u - d.yt[i]),
    Fx: (x: Float64Array) => x.map((u) => d.mu * u),
  };
}
const add3 = (a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>) => Float64Array.from(a, (u, i) => u + b[i] + c[i]);

export const SOBA_BENCHOPT = { stepSize: 0.1, outerRatio: 1, exponents: [0.5, 0.5] };
export function benchoptSoba(d: QuadraticData, steps: number, o = SOBA_BENCHOPT): Flat[] {
  const q = quadOracles(d);
  let x = new Float64Array(d.C.rows);
  let y = new Float64Array(d.H.rows);
  let v = new Float64Array(d.H.rows);
  const out: Flat[] = [{ x: x.slice(), y: y.slice() }];
  for (let k = 0; k < steps; k++) {
    const rho = o.stepSize / (k + 1) ** o.exponents[0];
    const gam = o.stepSize / o.outerRatio / (k + 1) ** o.exponents[1];
    const [gy, hv, cv, Fy, Fx] = [q.gy(x, y), q.hvp(v), q.cross(v), q.Fy(y), q.Fx(x)];
    y = y.map((u, i) => u - rho * gy[i]);
    v = v.map((u, i) => u - rho * (hv[i] + Fy[i]));
    x = x.map((u, i) => u - gam * (cv[i] + Fx[i]));
    out.push({ x: x.slice(), y: y.slice() });
  }
  return out;
}

export const STOCBIO_BENCHOPT = { stepSize: 0.1, outerRatio: 1, nInner: 10, nShia: 10 };
export function benchoptStocbio(d: QuadraticData, steps: number, o = STOCBIO_BENCHOPT): Flat[] {
  const q = quadOracles(d);
  let x = new Float64Array(d.C.rows);
  let y = new Float64Array(d.H.rows);
  const out: Flat[] = [{ x: x.slice(), y: y.slice() }];
  for (let k = 0; k < steps; k++) {
    for (let t = 0; t < o.nInner; t++) {
      const g = q.gy(x, y);
      y = y.map((u, i) => u - o.stepSize * g[i]);
    }
    const [Fy, Fx] = [q.Fy(y), q.Fx(x)];
    // shia_jax: s = v + sum_{q=1..Q} (I - eta H)^q v, returned as eta s
    let w = Fy.slice();
    const s = Fy.slice();
    for (let t = 0; t < o.nShia; t++) {
      const hw = q.hvp(w);
      w = w.map((u, i) => u - o.stepSize * hw[i]);
      for (let i = 0; i < s.length; i++) s[i] += w[i];
    }
    const implicit = q.cross(s.map((u) => o.stepSize * u));
    x = x.map((u, i) => u - (o.stepSize / o.outerRatio) * (Fx[i] - implicit[i]));
    out.push({ x: x.slice(), y: y.slice() });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// UFO-BLO: xingyousong/ufom toy/toy.py, simulate_blo (the update) and blo_and_deriv (the r inner steps and
// the exact meta-gradient), on the two quadratic tasks l_i(t) = 1/2 a_i t^2 - b_i t (toy.py's f_and_deriv
// with |t - b/a| <= A = 400). Two deliberate simplifications, stated in docs/solvers/ufo.md: both tasks
// every step (toy-ufo's F is their sum; the official draws one task per step), and 1/q for its 1/(q + 1e-8).
// The coins come from `coin(k)`, the same uniform draws the solver uses.
export const UFO_TOY = { a: [0.5, 1.5], b: [0, 10], r: 10, alpha: 0.1, q: 0.9, startStep: 5, stepPower: 1 };
export function officialUfo(steps: number, coin: (k: number) => number, o = UFO_TOY): Flat[] {
  let x = 0;
  const out: Flat[] = [{ x: Float64Array.of(x), y: Float64Array.of(0, 0) }];
  for (let k = 0; k < steps; k++) {
    let [fo, ex] = [0, 0];
    const phiT: number[] = [];
    for (let i = 0; i < 2; i++) {
      const ts = [x];
      for (let j = 0; j < o.r; j++) ts.push(ts[j] - o.alpha * (o.a[i] * ts[j] - o.b[i]));
      const foD = o.a[i] * ts[o.r] - o.b[i];
      let d = foD;
      for (let j = o.r - 1; j >= 0; j--) d = (1 - o.alpha * o.a[i]) * d;
      fo += foD;
      ex += d;
      phiT.push(ts[o.r]);
    }
    const flip = coin(k) < o.q ? 1 : 0;
    const update = flip ? fo * (1 - 1 / o.q) + ex / o.q : fo; // q = 0: FO-BLO (FOML), every step first order
    x = x - (o.startStep / (k + 1) ** o.stepPower) * update;
    out.push({ x: Float64Array.of(x), y: Float64Array.from(phiT) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// BO-REP: MingruiLiu-ML-Lab/Bilevel-Optimization-under-Unbounded-Smoothness, data_cleaning/bo_rep.py,
// Learner.forward (lines 82-139) and hypergradient (165-183), full batch, on a quartic lower level
// f = 1/2 y'Hy + 1/4 sum y^4 + x'Cy + a'y and F = 1/2 ||y - yt||^2 (no x in F, as in the official
// data-cleaning problem, whose hypergradient therefore has no grad_x F term). z_0 = 0 here (the official
// draws it Xavier-uniform, line 64-65).
export const BOREP_OFFICIAL = { interval: 2, yWarmStart: 10, innerLr: 0.05, outerLr: 0.05, beta: 0.9, nu: 0.01 };
export function officialBorep(d: QuadraticData, steps: number, o = BOREP_OFFICIAL): Flat[] {
  const Ct = transpose(d.C);
  const g = (x: Float64Array, y: Float64Array) => add3(matvec(d.H, y), matvec(Ct, x), d.a).map((u, i) => u + y[i] ** 3);
  const hvp = (y: Float64Array, v: Float64Array) => Float64Array.from(matvec(d.H, v), (u, i) => u + 3 * y[i] * y[i] * v[i]);
  let x = new Float64Array(d.C.rows);
  let y = new Float64Array(d.H.rows);
  let z = new Float64Array(d.H.rows);
  let m = new Float64Array(d.C.rows);
  const out: Flat[] = [{ x: x.slice(), y: y.slice() }];
  for (let k = 0; k < steps; k++) {
    const jacob = hvp(y, z); // line 96: at y_k, before the lower update
    if (k % o.interval === 0) {
      // lines 98-105: one step with the gradient at y_k, then y_warm_start more; .grad is never zeroed in between
      let acc = g(x, y);
      y = y.map((u, i) => u - o.innerLr * acc[i]);
      for (let i = 0; i < o.yWarmStart; i++) {
        const gi = g(x, y);
        acc = acc.map((u, j) => u + gi[j]);
        y = y.map((u, j) => u - o.innerLr * acc[j]);
      }
    }
    const Fy = y.map((u, i) => u - d.yt[i]); // line 169, at the updated y
    z = z.map((u, i) => u - o.nu * (jacob[i] - Fy[i])); // line 171
    const gxz = Float64Array.from(matvec(d.C, z)).map((u) => -u); // line 181: grad_x of -<grad_y f, z>
    m = m.map((u, i) => o.beta * u + (1 - o.beta) * gxz[i]); // line 182
    const nm = Math.sqrt(m.reduce((s, u) => s + u * u, 0));
    x = x.map((u, i) => u - (o.outerLr / (1e-10 + nm)) * m[i]); // lines 118-126
    out.push({ x: x.slice(), y: y.slice() });
  }
  return out;
}
