/** bench/scaling.ts's pure helpers (line fit, growth shape, budget limits, extrapolation, plot) and the engine's peak-bytes counter. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fitLine, growth, largestWithin, predictBytes, scalingPlotSpec } from "../bench/scaling-fit.js";
import { array, liveBuffers, peakBufferBytes, resetPeakBuffers, trackBuffers } from "../src/engine/index.js";
import { renderSvg } from "../src/report/plots.js";
import { setup } from "./helpers.js";

await setup("float32");

test("fitLine recovers an exact line and the least-squares line of noisy points", () => {
  const l = fitLine([10, 50, 200], [100 + 3 * 10, 100 + 3 * 50, 100 + 3 * 200]);
  assert.ok(Math.abs(l.slope - 3) < 1e-12 && Math.abs(l.intercept - 100) < 1e-9, JSON.stringify(l));
  assert.ok(Math.abs(l.r2 - 1) < 1e-12, `r2 ${l.r2}`);
  // (0,0), (1,1), (2,1): slope 1/2, intercept 1/6, r2 = sxy^2 / (sxx syy) = 1 / (2 * 2/3) = 3/4
  const m = fitLine([0, 1, 2], [0, 1, 1]);
  assert.ok(Math.abs(m.slope - 0.5) < 1e-15 && Math.abs(m.intercept - 1 / 6) < 1e-15 && Math.abs(m.r2 - 0.75) < 1e-15, JSON.stringify(m));
  assert.equal(fitLine([1, 2], [5, 5]).r2, 1); // a constant is fitted exactly
  assert.throws(() => fitLine([1], [1]), /at least 2 points/);
  assert.throws(() => fitLine([1, 1], [1, 2]), /all x values are equal/);
  assert.throws(() => fitLine([1, 2], [1]), /2 x values but 1 y values/);
});

test("growth tells a flat series from a linear one", () => {
  assert.equal(growth([10, 50, 200], [250, 251, 252]).shape, "flat"); // +0.8% over the range
  assert.equal(growth([10, 50, 200], [250, 300, 488]).shape, "linear");
  assert.equal(growth([10, 50, 200], [250, 260, 1000]).shape, "nonlinear"); // r2 0.96
  assert.equal(growth([10, 50, 200], [250, 1000, 260]).shape, "flat"); // the fitted line barely rises);
  assert.ok(Math.abs(growth([0, 10], [100, 120]).relativeGrowth - 0.2) < 1e-12);
});

test("largestWithin: the largest x on the line inside the budget; null when the line does not grow", () => {
  assert.equal(largestWithin({ slope: 2, intercept: 100 }, 1000), 450);
  assert.equal(largestWithin({ slope: 2, intercept: 100 }, 1001), 450);
  assert.equal(largestWithin({ slope: 2, intercept: 2000 }, 1000), 0);
  assert.equal(largestWithin({ slope: 0, intercept: 100 }, 1000), null);
  assert.equal(largestWithin({ slope: -1, intercept: 100 }, 1000), null);
});

test("predictBytes extrapolates through the last two points and never below the largest measured", () => {
  assert.equal(predictBytes([], 10), null);
  assert.equal(predictBytes([{ x: 10, bytes: 7 }], 50), 7);
  assert.equal(predictBytes([{ x: 50, bytes: 300 }, { x: 10, bytes: 100 }], 200), 300 + 5 * 150);
  assert.equal(predictBytes([{ x: 10, bytes: 300 }, { x: 50, bytes: 200 }], 200), 200); // shrinking: the last value
});

test("the scaling plot has six panels (ms, RSS and engine bytes against T and n) and renders to SVG", async () => {
  const pts = [10, 50, 200].flatMap((T) => [
    { impl: "bilevel", variant: "itd", sweep: "T" as const, x: T, msPerStep: 10 * T, msMin: 9 * T, msMax: 11 * T, peakRssMiB: 200 + T, enginePeakMiB: 50 + T },
    { impl: "torch", variant: "itd", sweep: "T" as const, x: T, msPerStep: 5 * T, msMin: 4 * T, msMax: 6 * T, peakRssMiB: 300 + T },
  ]);
  const spec = scalingPlotSpec(pts, "test", { n: 5000, T: 10 }) as { vconcat: { hconcat: unknown[] }[] };
  assert.equal(spec.vconcat.length, 2);
  assert.equal(spec.vconcat.flatMap((r) => r.hconcat).length, 6);
  const svg = await renderSvg(spec);
  assert.ok(svg.startsWith("<svg") && svg.includes("peak RSS (MiB)"), svg.slice(0, 200));
});

test("peakBufferBytes holds the high-water mark of live engine bytes until resetPeakBuffers", async () => {
  await trackBuffers();
  const before = liveBuffers().bytes;
  resetPeakBuffers();
  assert.equal(peakBufferBytes(), before);
  const a = array(new Float32Array(1000).fill(1), [1000]); // 4000 bytes of float32
  assert.equal(liveBuffers().bytes, before + 4000);
  a.dispose();
  assert.equal(liveBuffers().bytes, before);
  assert.equal(peakBufferBytes(), before + 4000);
  resetPeakBuffers();
  assert.equal(peakBufferBytes(), before);
});
