/**
 * SVG plots of a bench with vega-lite, rendered headless by vega (`renderer: "none"`, no canvas): for
 * each plotted metric, metric vs solver seconds and metric vs step, one line per solver (mean over
 * seeds) over a band from the seeds' min to max. vega and vega-lite are optional packages, loaded
 * only when a plot is rendered; without them reports are written without plots.
 */
import type * as VegaLite from "vega-lite";
import { BilevelInputError } from "../errors.js";
import type { BenchResult } from "./bench.js";
import { curves, plotMetrics } from "./stats.js";

export interface Plot {
  /** File name, e.g. `distanceToOptimum-vs-seconds.svg`. */
  file: string;
  metric: string;
  x: "seconds" | "step";
  title: string;
  svg: string;
}

/** A vega-lite specification (plain JSON; see https://vega.github.io/vega-lite/). */
export type PlotSpec = Record<string, unknown>;

/** The note shown where plots are left out because the optional packages are missing. */
export const PLOTS_NEED = "SVG plots need the optional packages vega and vega-lite (npm install vega@6 vega-lite@6)";

let vegaModules: Promise<{ vega: typeof import("vega"); vl: typeof VegaLite } | null> | null = null;
/** vega and vega-lite when installed, else null (loaded once). */
function loadVega(): Promise<{ vega: typeof import("vega"); vl: typeof VegaLite } | null> {
  vegaModules ??= Promise.all([import("vega"), import("vega-lite")]).then(
    ([vega, vl]) => ({ vega, vl }),
    () => null,
  );
  return vegaModules;
}

/** Vega-lite spec of one plot (exported for inspection and tests). */
export function plotSpec(bench: BenchResult, metric: string, x: "seconds" | "step"): PlotSpec {
  const pts = curves(bench, metric);
  const ys = pts.flatMap((p) => [p.min, p.max]);
  // Log scale when every value is positive and they span more than two decades (distances, losses).
  const log = ys.length > 0 && ys.every((v) => v > 0) && Math.max(...ys) / Math.min(...ys) > 100;
  const xTitle = x === "seconds" ? "solver seconds (mean over seeds)" : "outer step";
  const seedNote = bench.seeds > 1 ? `mean over ${bench.seeds} seeds, band min-max` : "1 seed";
  const values = pts.map((p) => ({ solver: p.solver, x: x === "seconds" ? p.seconds : p.step, mean: p.mean, min: p.min, max: p.max, n: p.n }));
  const xEnc = { field: "x", type: "quantitative" as const, title: xTitle };
  const yScale = log ? { type: "log" as const } : { zero: false };
  const scale = { domain: bench.solvers };
  // One legend for both layers, drawn as opaque strokes (not the translucent band fill).
  const color = { field: "solver", type: "nominal" as const, title: "solver", scale, legend: { orient: "bottom", direction: "horizontal", symbolType: "stroke", symbolStrokeWidth: 3, symbolOpacity: 1 } };
  return {
    width: 460,
    height: 260,
    title: { text: `${bench.task}: ${metric} vs ${x === "seconds" ? "wall-clock seconds" : "step"}`, subtitle: seedNote },
    data: { values },
    layer: [
      {
        name: "band",
        mark: { type: "area", opacity: 0.18 },
        encoding: { x: xEnc, y: { field: "min", type: "quantitative", title: metric, scale: yScale }, y2: { field: "max" }, color },
      },
      {
        name: "line",
        mark: { type: "line", strokeWidth: 2 },
        encoding: { x: xEnc, y: { field: "mean", type: "quantitative", title: metric, scale: yScale }, color },
      },
    ],
    config: { font: "sans-serif", view: { stroke: "#ccc" }, background: "white" },
  };
}

/** Render a vega-lite spec to an SVG string in Node (throws a one-line error without vega / vega-lite). */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  const mods = await loadVega();
  if (!mods) throw new BilevelInputError(PLOTS_NEED);
  const { vega, vl } = mods;
  // vega-lite's warnings go to the console by default; keep the CLI's output clean.
  const quiet = {
    level(this: unknown, _?: number) {
      return _ === undefined ? 0 : quiet;
    },
    error: (...a: unknown[]) => {
      throw new Error(`vega-lite: ${a.map(String).join(" ")}`);
    },
    warn: () => quiet,
    info: () => quiet,
    debug: () => quiet,
  };
  const compiled = vl.compile(spec as unknown as VegaLite.TopLevelSpec, { logger: quiet as unknown as NonNullable<Parameters<typeof vl.compile>[1]>["logger"] }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** All plots of a bench: for each plotted metric (see `plotMetrics`), vs seconds and vs step; none without vega. */
export async function benchPlots(bench: BenchResult): Promise<Plot[]> {
  const out: Plot[] = [];
  if (!(await loadVega())) return out;
  for (const metric of plotMetrics(bench.runs)) {
    for (const x of ["seconds", "step"] as const) {
      const spec = plotSpec(bench, metric, x);
      out.push({ file: `${metric}-vs-${x}.svg`, metric, x, title: `${metric} vs ${x}`, svg: await renderSvg(spec) });
    }
  }
  return out;
}
