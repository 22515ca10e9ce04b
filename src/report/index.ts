/** Benchmarks of several solvers on one task, and their JSON, CSV, SVG and HTML outputs. */
export { runBench, checkBench, machineInfo, setFor, benchSpecs, localExecutor } from "./bench.js";
export type { BenchOptions, BenchProgress, BenchResult, BenchTarget, MachineInfo, BenchExecutor } from "./bench.js";
export { writeBench, toCsv, toJson, toHtml, csvHeader } from "./write.js";
export type { ReportOptions, WrittenBench } from "./write.js";
export { benchPlots, plotSpec, renderSvg } from "./plots.js";
export type { Plot } from "./plots.js";
export { summarize, curves, plotMetrics, metricColumns, lowerIsBetter, reached } from "./stats.js";
export type { SolverSummary, CurvePoint } from "./stats.js";
