/**
 * The layer-wise quantization sweep of Dumitru et al. 2024 (arXiv 2406.17415, Section 4): for each
 * ordering of the blocks (lim, zd, reverse-lim, and `randomSeeds` random permutations), demote
 * k = 0 .. nLayer blocks from bitsHigh to bitsLow in that order and measure held-out perplexity; the
 * curve perplexity vs fraction of blocks demoted shows how long each ordering keeps the model close to
 * the unquantized one. `pruneComparison` instead removes the k least important blocks (identity) or
 * quantizes them to 2 / 3 bits, and compares the curves at equal packed size.
 *
 * Summary figure per curve: `keepFraction`, the largest k / nLayer such that every point with at most k
 * demoted blocks has perplexity <= (1 + tolerance) * unquantized perplexity (tolerance 0.1 = "within 10%");
 * null when even k = 0 (all blocks at bitsHigh) is outside. For the random orderings: the mean of the
 * seeds' keepFractions, and the keepFraction of the mean curve.
 *
 * Cost: each distinct assignment is evaluated once (k = 0 and k = nLayer are shared by all orderings),
 * and each matrix is quantized once per bit width (RTN, HQQ and the non-sequential GPTQ quantize
 * matrices independently), so the sweep costs about 2 + (nLayer - 1) * nOrderings perplexity
 * evaluations. Measurements: docs/quantization.md and bench/results/quant-sweep.*, quant-llama/.
 */
import type { PlotSpec } from "../report/plots.js";
import { BilevelInputError } from "../errors.js";
import { maxContext, perplexity, type ModelConfig as GPT2Config, type GPT2Weights } from "./model.js";
import { allocate, type Order, type LayerScores } from "./allocate.js";
import type { QuantizedTensor } from "./quantize.js";
import {
  dequantizedWeights,
  disposeAll,
  floatModelBytes,
  linearHessians,
  limScores,
  quantizeModel,
  quantizedModelBytes,
  prunedBlocks,
  PRUNED,
  zdScores,
  type QuantizerName,
  type CalibrationOptions,
} from "./layerwise.js";

/** What a sweep and a prune comparison both take: the quantizer, the token sets and the evaluation windows. */
export interface QuantEvalOptions {
  quantizer?: QuantizerName;
  groupSize?: number;
  /** Held-out tokens for perplexity and calibration tokens for LIM / GPTQ. */
  evalTokens: ArrayLike<number>;
  calibTokens: ArrayLike<number>;
  /** Context length of perplexity windows and calibration windows (default min(128, nPositions)). */
  ctx?: number;
  /** Windows per forward pass (default 8). */
  batch?: number;
  calibration?: CalibrationOptions;
  /** Precomputed scores (else computed from the calibration tokens). */
  scores?: LayerScores;
  onProgress?: (msg: string) => void;
}

/**
 * Perplexity and size of the model quantized to per-block `bits` (PRUNED blocks skipped), cached per
 * allocation, quantized tensors shared across allocations.
 */
function bitsEvaluator(
  config: GPT2Config,
  weights: GPT2Weights,
  evalTokens: ArrayLike<number>,
  o: { quantizer: QuantizerName; groupSize: number; hessians?: Awaited<ReturnType<typeof linearHessians>>; ctx: number; batch: number },
): (bits: number[]) => Promise<{ perplexity: number; bytes: number }> {
  const qcache = new Map<string, QuantizedTensor>();
  const cache = new Map<string, { perplexity: number; bytes: number }>();
  return async (bits) => {
    const key = bits.join(",");
    let r = cache.get(key);
    if (!r) {
      const qm = await quantizeModel(config, weights, bits, { quantizer: o.quantizer, groupSize: o.groupSize, hessians: o.hessians }, qcache);
      const lw = dequantizedWeights(qm);
      const skip = prunedBlocks(bits);
      try {
        r = { perplexity: await perplexity(config, weights, evalTokens, { ctx: o.ctx, batch: o.batch, linearWeights: lw, ...(skip.size ? { skipBlocks: skip } : {}) }), bytes: quantizedModelBytes(qm) };
      } finally {
        disposeAll(lw);
      }
      cache.set(key, r);
    }
    return r;
  };
}

export interface SweepOptions extends QuantEvalOptions {
  bitsHigh: number;
  bitsLow: number;
  /** Orderings to sweep (default lim, zd, random, reverse-lim). `random` runs `randomSeeds` seeds 0..K-1. */
  orders?: Order[];
  randomSeeds?: number;
  /** Relative perplexity tolerance of keepFraction (default 0.1). */
  tolerance?: number;
}

export interface SweepPoint {
  demoted: number;
  fraction: number;
  avgBits: number;
  bits: number[];
  perplexity: number;
  /** perplexity / unquantized perplexity - 1. */
  relChange: number;
  bytes: number;
}

export interface SweepCurve {
  order: Order;
  seed?: number;
  /** Blocks from most to least important under the ordering. */
  ranking: number[];
  points: SweepPoint[];
  keepFraction: number | null;
  /** Mean of relChange over k = 0 .. nLayer (the area under the relative-change curve). */
  meanRelChange: number;
}

/** Tolerances at which the summary also reports keepFractions. */
export const SUMMARY_TOLERANCES = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];

export interface SweepResult {
  config: GPT2Config;
  bitsHigh: number;
  bitsLow: number;
  quantizer: QuantizerName;
  groupSize: number;
  tolerance: number;
  evalTokens: number;
  ctx: number;
  basePerplexity: number;
  baseBytes: number;
  scores: { lim: number[]; zd: number[] };
  curves: SweepCurve[];
  summary: {
    /** keepFraction per non-random ordering. */
    keepFraction: Record<string, number | null>;
    /** Mean of the random seeds' keepFractions (null entries count as 0). */
    randomMeanKeepFraction: number | null;
    /** The mean random curve (mean perplexity per k) and its keepFraction. */
    randomMeanCurve: { fraction: number; perplexity: number; min: number; max: number }[];
    randomMeanCurveKeepFraction: number | null;
    /** keepFraction at each of SUMMARY_TOLERANCES: per non-random ordering, and the random seeds' mean. */
    byTolerance: { tolerance: number; keepFraction: Record<string, number | null>; randomMean: number | null }[];
    /** meanRelChange per non-random ordering and the mean over random seeds. */
    meanRelChange: Record<string, number>;
  };
  seconds: number;
}

/** keepFraction of a curve (see the module comment). */
export function keepFraction(ppl: number[], base: number, tolerance: number): number | null {
  const L = ppl.length - 1;
  let k = -1;
  while (k + 1 <= L && ppl[k + 1] <= (1 + tolerance) * base) k++;
  return k < 0 ? null : k / L;
}

/** Run the sweep (does not consume the weights). */
export async function sweep(config: GPT2Config, weights: GPT2Weights, opts: SweepOptions): Promise<SweepResult> {
  const t0 = performance.now();
  const L = config.nLayer;
  const orders = opts.orders ?? ["lim", "zd", "random", "reverse-lim"];
  const randomSeeds = opts.randomSeeds ?? 5;
  const quantizer = opts.quantizer ?? "rtn";
  const groupSize = opts.groupSize ?? 32;
  const tolerance = opts.tolerance ?? 0.1;
  const ctx = opts.ctx ?? Math.min(128, maxContext(config));
  const batch = opts.batch ?? 8;
  if (orders.length === 0) throw new BilevelInputError("orders: expected at least one ordering");
  const log = opts.onProgress ?? (() => {});
  const calib = { ctx, batch, ...opts.calibration };

  const lim = opts.scores?.lim ?? (await limScores(config, weights, opts.calibTokens, calib));
  const zd = opts.scores?.zd ?? (await zdScores(config, weights));
  log(`scores: lim [${lim.map((v) => v.toFixed(3)).join(", ")}] zd [${zd.map((v) => v.toFixed(4)).join(", ")}]`);
  const hessians = quantizer === "gptq" ? await linearHessians(config, weights, opts.calibTokens, calib) : undefined;

  const basePerplexity = await perplexity(config, weights, opts.evalTokens, { ctx, batch });
  log(`unquantized perplexity ${basePerplexity.toFixed(4)}`);
  const evalBits = bitsEvaluator(config, weights, opts.evalTokens, { quantizer, groupSize, hessians, ctx, batch });

  const runs: { order: Order; seed?: number }[] = [];
  for (const o of orders) {
    if (o === "random") for (let s = 0; s < randomSeeds; s++) runs.push({ order: o, seed: s });
    else runs.push({ order: o });
  }
  const curves: SweepCurve[] = [];
  for (const run of runs) {
    const points: SweepPoint[] = [];
    let ranking: number[] = [];
    for (let k = 0; k <= L; k++) {
      const al = allocate({ nLayers: L, bitsHigh: opts.bitsHigh, bitsLow: opts.bitsLow, order: run.order, seed: run.seed, demoteCount: k, scores: { lim, zd } });
      ranking = al.ranking;
      const r = await evalBits(al.bits);
      points.push({ demoted: k, fraction: k / L, avgBits: al.avgBits, bits: al.bits, perplexity: r.perplexity, relChange: r.perplexity / basePerplexity - 1, bytes: r.bytes });
      log(`${run.order}${run.seed !== undefined ? ` seed ${run.seed}` : ""}: ${k}/${L} demoted, perplexity ${r.perplexity.toFixed(4)}`);
    }
    curves.push({
      ...run,
      ranking,
      points,
      keepFraction: keepFraction(points.map((p) => p.perplexity), basePerplexity, tolerance),
      meanRelChange: points.reduce((s, p) => s + p.relChange, 0) / points.length,
    });
  }

  const keep: Record<string, number | null> = {};
  for (const c of curves) if (c.order !== "random") keep[c.order] = c.keepFraction;
  const rnd = curves.filter((c) => c.order === "random");
  const randomMeanCurve = rnd.length
    ? Array.from({ length: L + 1 }, (_, k) => {
        const v = rnd.map((c) => c.points[k].perplexity);
        return { fraction: k / L, perplexity: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v) };
      })
    : [];
  return {
    config,
    bitsHigh: opts.bitsHigh,
    bitsLow: opts.bitsLow,
    quantizer,
    groupSize,
    tolerance,
    evalTokens: opts.evalTokens.length,
    ctx,
    basePerplexity,
    baseBytes: floatModelBytes(config),
    scores: { lim, zd },
    curves,
    summary: {
      keepFraction: keep,
      randomMeanKeepFraction: rnd.length ? rnd.reduce((s, c) => s + (c.keepFraction ?? 0), 0) / rnd.length : null,
      randomMeanCurve,
      randomMeanCurveKeepFraction: rnd.length ? keepFraction(randomMeanCurve.map((p) => p.perplexity), basePerplexity, tolerance) : null,
      byTolerance: SUMMARY_TOLERANCES.map((tol) => {
        const kf = (c: SweepCurve) => keepFraction(c.points.map((p) => p.perplexity), basePerplexity, tol);
        const k: Record<string, number | null> = {};
        for (const c of curves) if (c.order !== "random") k[c.order] = kf(c);
        return { tolerance: tol, keepFraction: k, randomMean: rnd.length ? rnd.reduce((s, c) => s + (kf(c) ?? 0), 0) / rnd.length : null };
      }),
      meanRelChange: {
        ...Object.fromEntries(curves.filter((c) => c.order !== "random").map((c) => [c.order, c.meanRelChange])),
        ...(rnd.length ? { random: rnd.reduce((s, c) => s + c.meanRelChange, 0) / rnd.length } : {}),
      },
    },
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Options of `pruneComparison`. */
export interface PruneCompareOptions extends QuantEvalOptions {
  bitsHigh: number;
  /** Low bit widths to quantize the affected blocks to (default [2, 3]). */
  lows?: number[];
  /** Ordering that picks the affected blocks (default lim). */
  order?: Order;
  seed?: number;
}

/** One curve of `pruneComparison`: the k least important blocks pruned, or quantized to `bits`. */
export interface PruneCurve {
  kind: "prune" | "quantize";
  bits: number | null;
  points: SweepPoint[];
}

export interface PruneCompareResult {
  config: GPT2Config;
  order: Order;
  bitsHigh: number;
  lows: number[];
  quantizer: QuantizerName;
  groupSize: number;
  evalTokens: number;
  ctx: number;
  basePerplexity: number;
  baseBytes: number;
  ranking: number[];
  curves: PruneCurve[];
  /** At each pruning point's packed bytes: the perplexity of each quantization curve at the same bytes (linear in bytes between its points; null outside its range). */
  equalSize: { pruned: number; bytes: number; prune: number; quantized: Record<string, number | null> }[];
  seconds: number;
}

/** Perplexity of a curve at `bytes` (linear between the two points around it), null outside the curve's range. */
export function atBytes(points: { bytes: number; perplexity: number }[], bytes: number): number | null {
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    const [lo, hi] = a.bytes <= b.bytes ? [a, b] : [b, a];
    if (bytes >= lo.bytes && bytes <= hi.bytes) return hi.bytes === lo.bytes ? lo.perplexity : lo.perplexity + ((bytes - lo.bytes) / (hi.bytes - lo.bytes)) * (hi.perplexity - lo.perplexity);
  }
  return null;
}

/**
 * Pruning against quantizing (the paper's Section 5 comparison): with the blocks ranked by `order`, for
 * k = 0 .. nLayer remove the k least important blocks (identity; the rest at bitsHigh), or quantize
 * them to each of `lows` bits; every point reports perplexity, average bits and packed bytes, and
 * `equalSize` compares the curves at the pruning points' sizes. Does not consume the weights.
 */
export async function pruneComparison(config: GPT2Config, weights: GPT2Weights, opts: PruneCompareOptions): Promise<PruneCompareResult> {
  const t0 = performance.now();
  const L = config.nLayer;
  const lows = opts.lows ?? [2, 3];
  const order = opts.order ?? "lim";
  const quantizer = opts.quantizer ?? "rtn";
  const groupSize = opts.groupSize ?? 32;
  const ctx = opts.ctx ?? Math.min(128, maxContext(config));
  const batch = opts.batch ?? 8;
  const log = opts.onProgress ?? (() => {});
  for (const b of lows) if (!(b < opts.bitsHigh)) throw new BilevelInputError(`lows: ${b} bits is not below bits-high ${opts.bitsHigh}`);
  const calib = { ctx, batch, ...opts.calibration };
  const lim = opts.scores?.lim ?? (order === "lim" || order === "reverse-lim" ? await limScores(config, weights, opts.calibTokens, calib) : undefined);
  const zd = opts.scores?.zd ?? (order === "zd" ? await zdScores(config, weights) : undefined);
  const hessians = quantizer === "gptq" ? await linearHessians(config, weights, opts.calibTokens, calib) : undefined;
  const basePerplexity = await perplexity(config, weights, opts.evalTokens, { ctx, batch });
  const evalBits = bitsEvaluator(config, weights, opts.evalTokens, { quantizer, groupSize, hessians, ctx, batch });
  const rank = allocate({ nLayers: L, bitsHigh: opts.bitsHigh, bitsLow: lows[0], order, seed: opts.seed, demoteCount: 0, scores: { lim, zd } }).ranking;
  const curves: PruneCurve[] = [];
  for (const low of [PRUNED, ...lows]) {
    const points: SweepPoint[] = [];
    for (let k = 0; k <= L; k++) {
      const bits = new Array<number>(L).fill(opts.bitsHigh);
      for (const i of rank.slice(L - k)) bits[i] = low;
      const r = await evalBits(bits);
      const avgBits = bits.reduce((a, b) => a + b, 0) / L;
      points.push({ demoted: k, fraction: k / L, avgBits, bits, perplexity: r.perplexity, relChange: r.perplexity / basePerplexity - 1, bytes: r.bytes });
      log(`${low === PRUNED ? "prune" : `${low}-bit`}: ${k}/${L} blocks, ${r.bytes} bytes, perplexity ${r.perplexity.toFixed(4)}`);
    }
    curves.push({ kind: low === PRUNED ? "prune" : "quantize", bits: low === PRUNED ? null : low, points });
  }
  const prune = curves[0].points;
  const equalSize = prune.map((p) => ({
    pruned: p.demoted,
    bytes: p.bytes,
    prune: p.perplexity,
    quantized: Object.fromEntries(curves.slice(1).map((c) => [`${c.bits}-bit`, atBytes(c.points, p.bytes)])),
  }));
  return {
    config,
    order,
    bitsHigh: opts.bitsHigh,
    lows,
    quantizer,
    groupSize,
    evalTokens: opts.evalTokens.length,
    ctx,
    basePerplexity,
    baseBytes: floatModelBytes(config),
    ranking: rank,
    curves,
    equalSize,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Vega-lite spec: perplexity vs packed bytes for pruning and each quantization curve. */
export function prunePlotSpec(r: PruneCompareResult): PlotSpec {
  const values = r.curves.flatMap((c) => c.points.map((p) => ({ curve: c.kind === "prune" ? "prune" : `${r.bitsHigh}/${c.bits} bits`, megabytes: p.bytes / 1e6, perplexity: p.perplexity })));
  return {
    width: 460,
    height: 280,
    title: { text: `pruning vs quantizing the least important blocks (${r.order} order, ${r.quantizer}, group ${r.groupSize})`, subtitle: `${r.config.nLayer} blocks; unquantized perplexity ${r.basePerplexity.toFixed(3)}` },
    layer: [{ data: { values }, mark: { type: "line", point: true, strokeWidth: 2 }, encoding: { x: { field: "megabytes", type: "quantitative", title: "packed size (MB)" }, y: { field: "perplexity", type: "quantitative", scale: { type: "log" }, title: "held-out perplexity" }, color: { field: "curve", type: "nominal" } } }],
    config: { font: "sans-serif", view: { stroke: "#ccc" }, background: "white" },
  };
}

/** Vega-lite spec: perplexity vs fraction of blocks demoted, one line per ordering (random: mean with min-max band), dashed rules at the unquantized perplexity and at (1 + tolerance) times it. */
export function sweepPlotSpec(r: SweepResult): PlotSpec {
  const lines: { ordering: string; fraction: number; perplexity: number }[] = [];
  for (const c of r.curves) if (c.order !== "random") for (const p of c.points) lines.push({ ordering: c.order, fraction: p.fraction, perplexity: p.perplexity });
  const rndName = `random (mean of ${r.curves.filter((c) => c.order === "random").length})`;
  for (const p of r.summary.randomMeanCurve) lines.push({ ordering: rndName, fraction: p.fraction, perplexity: p.perplexity });
  const band = r.summary.randomMeanCurve.map((p) => ({ ordering: rndName, fraction: p.fraction, min: p.min, max: p.max }));
  const names = [...new Set(lines.map((l) => l.ordering))];
  const color = { field: "ordering", type: "nominal" as const, title: "ordering", scale: { domain: names }, legend: { orient: "bottom", direction: "horizontal", symbolType: "stroke", symbolStrokeWidth: 3 } };
  const x = { field: "fraction", type: "quantitative" as const, title: "fraction of blocks demoted", scale: { domain: [0, 1] } };
  const ys = lines.map((l) => l.perplexity);
  const log = Math.max(...ys) / Math.min(...ys) > 20;
  const yScale = log ? { type: "log" as const } : { zero: false };
  const rules = [
    { label: "unquantized", y: r.basePerplexity },
    { label: `+${Math.round(r.tolerance * 100)}%`, y: (1 + r.tolerance) * r.basePerplexity },
  ];
  return {
    width: 460,
    height: 280,
    title: {
      text: `perplexity vs blocks demoted ${r.bitsHigh} -> ${r.bitsLow} bits (${r.quantizer}, group ${r.groupSize})`,
      subtitle: `${r.config.nLayer} blocks; held-out ${r.evalTokens} tokens; unquantized ${r.basePerplexity.toFixed(3)}`,
    },
    layer: [
      { data: { values: band }, mark: { type: "area", opacity: 0.15 }, encoding: { x, y: { field: "min", type: "quantitative", scale: yScale }, y2: { field: "max" }, color } },
      { data: { values: lines }, mark: { type: "line", point: true, strokeWidth: 2 }, encoding: { x, y: { field: "perplexity", type: "quantitative", title: "held-out perplexity", scale: yScale }, color } },
      { data: { values: rules }, mark: { type: "rule", strokeDash: [4, 4], color: "#888" }, encoding: { y: { field: "y", type: "quantitative" } } },
    ],
    config: { font: "sans-serif", view: { stroke: "#ccc" }, background: "white" },
  };
}
