/**
 * Pure helpers of bench/scaling.ts (tested in test/scaling.test.ts): the least-squares line through a
 * sweep, the largest size a fitted memory line allows within a budget, the memory a point would need
 * by extrapolating the points measured before it, and the vega-lite spec of bench/results/scaling.svg.
 */
import type { PlotSpec } from "../src/report/plots.js";

/** Least-squares line y = intercept + slope x, with the coefficient of determination r2 (1 for a perfect fit). */
export function fitLine(xs: number[], ys: number[]): { slope: number; intercept: number; r2: number; n: number } {
  if (xs.length !== ys.length) throw new Error(`fitLine: ${xs.length} x values but ${ys.length} y values`);
  const n = xs.length;
  if (n < 2) throw new Error(`fitLine: need at least 2 points, got ${n}`);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) throw new Error("fitLine: all x values are equal");
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : Math.min(1, (sxy * sxy) / (sxx * syy));
  return { slope, intercept, r2, n };
}

/**
 * How y grows over the measured x range: "flat" when the fitted line rises by less than `tol` (default
 * 5%) of its value at the smallest x, "linear" when it rises more and fits with r2 >= 0.98, else
 * "nonlinear". `relativeGrowth` is that rise over the value at the smallest x.
 */
export function growth(xs: number[], ys: number[], tol = 0.05): { shape: "flat" | "linear" | "nonlinear"; relativeGrowth: number } {
  const line = fitLine(xs, ys);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const at = line.intercept + line.slope * lo;
  const relativeGrowth = (line.slope * (hi - lo)) / Math.abs(at);
  const shape = relativeGrowth < tol ? "flat" : line.r2 >= 0.98 ? "linear" : "nonlinear";
  return { shape, relativeGrowth };
}

/**
 * The largest x with intercept + slope x <= budget (rounded down), or null when the line does not grow
 * (slope <= 0: memory does not limit x).
 */
export function largestWithin(line: { slope: number; intercept: number }, budget: number): number | null {
  if (!(line.slope > 0)) return null;
  return Math.max(0, Math.floor((budget - line.intercept) / line.slope));
}

/**
 * Memory a point at `x` would need, extrapolated from the (x, bytes) points measured before it: the line
 * through the last two (at least their larger value), the single value with one point, null with none.
 */
export function predictBytes(measured: { x: number; bytes: number }[], x: number): number | null {
  const m = [...measured].sort((a, b) => a.x - b.x);
  if (m.length === 0) return null;
  if (m.length === 1) return m[0].bytes;
  const [a, b] = m.slice(-2);
  const slope = (b.bytes - a.bytes) / (b.x - a.x);
  return Math.max(b.bytes, b.bytes + slope * (x - b.x));
}

/** One measured point as the plot draws it. */
export interface ScalingPlotPoint {
  impl: string;
  variant: string;
  sweep: "T" | "n";
  x: number;
  msPerStep: number;
  msMin: number;
  msMax: number;
  peakRssMiB: number;
  /** bilevel only: the engine's peak live-buffer MiB. */
  enginePeakMiB?: number;
}

/**
 * Six panels: ms/step (log axis), peak RSS and bilevel's engine buffers (linear axes, so slopes show)
 * against T (n fixed) and against n (T fixed); a line per variant and implementation.
 */
export function scalingPlotSpec(points: ScalingPlotPoint[], title: string, fixed: { n: number; T: number }): PlotSpec {
  const values = points.map((p) => ({ ...p, series: `${p.variant} (${p.impl})` }));
  const panel = (sweep: "T" | "n", field: "msPerStep" | "peakRssMiB" | "enginePeakMiB", yTitle: string) => ({
    width: 250,
    height: 190,
    title: `${yTitle} vs ${sweep === "T" ? `T (n = ${fixed.n})` : `n (T = ${fixed.T})`}`,
    transform: [{ filter: { field: "sweep", equal: sweep } }, { filter: `isValid(datum.${field})` }],
    mark: { type: "line", point: true, strokeWidth: 2 },
    encoding: {
      x: { field: "x", type: "quantitative", title: sweep === "T" ? "inner steps T" : "training samples n", scale: { type: "log", nice: false } },
      y: { field, type: "quantitative", title: yTitle, scale: field === "msPerStep" ? { type: "log" } : { zero: false } },
      color: { field: "variant", type: "nominal", title: "solver", legend: { orient: "bottom" } },
      strokeDash: { field: "impl", type: "nominal", title: "implementation", legend: { orient: "bottom", symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2 } },
      detail: { field: "series" },
    },
  });
  return {
    title: { text: title },
    data: { values },
    vconcat: [
      { hconcat: [panel("T", "msPerStep", "ms per outer step"), panel("T", "peakRssMiB", "peak RSS (MiB)"), panel("T", "enginePeakMiB", "bilevel engine buffers (MiB)")] },
      { hconcat: [panel("n", "msPerStep", "ms per outer step"), panel("n", "peakRssMiB", "peak RSS (MiB)"), panel("n", "enginePeakMiB", "bilevel engine buffers (MiB)")] },
    ],
    config: { font: "sans-serif", view: { stroke: "#ccc" }, background: "white" },
  };
}
