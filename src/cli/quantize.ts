/**
 * `bilevel quantize`: layer-wise mixed-precision quantization of a GPT-2-layout model directory
 * (config.json + model.safetensors, e.g. from `bilevel train-lm`).
 *
 *     bilevel quantize --model DIR --bits-high 4 --bits-low 2 (--avg-bits 3.25 | --demote-fraction 0.375)
 *                      --order lim|zd|random|reverse-lim [--seed S] [--quantizer rtn|gptq] [--group-size 32]
 *                      [--eval-tokens N] [--calib-windows N] [--ctx T] [--json FILE] [--save DIR] [--quiet]
 *     bilevel quantize sweep --model DIR --bits-high 4 --bits-low 2 [--orders lim,zd,random,reverse-lim]
 *                      [--random-seeds 5] [--tolerance 0.1] [--quantizer rtn|gptq] [--group-size 32] [--eval-tokens N] --out DIR
 *
 * Perplexity is measured on the held-out IMDb text (src/quant/text.ts), LIM scores and GPTQ Hessians on
 * the disjoint calibration text. Bad input: one line on stderr naming the flag, exit code 2.
 */
import { Command, Option } from "commander";
import { intArg, numberArg, positiveNumber } from "./args.js";
import fs from "node:fs";
import path from "node:path";
import { initEngine } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { probeWritable, probeWritableDir, writeFileAtomic } from "../node/fsio.js";
import { loadModel, disposeWeights, perplexity, maxContext, modelWidth, type ModelConfig, type GPT2Weights } from "../quant/model.js";
import { calibrationText, heldOutText } from "../quant/text.js";
import { loadTokenizer, tokensFromFlags } from "../quant/tokenizer.js";
import { allocate, demoteCountOf, isOrder, ORDERS, type Order } from "../quant/allocate.js";
import { checkBits } from "../quant/quantize.js";
import {
  dequantizedWeights,
  disposeAll,
  floatModelBytes,
  modelBytesAt,
  limScores,
  linearHessians,
  quantizeModel,
  quantizedModelBytes,
  quantizedWeightStats,
  saveQuantized,
  zdScores,
  QUANTIZERS,
  type QuantizerName,
} from "../quant/layerwise.js";
import { pruneComparison, prunePlotSpec, sweep, sweepPlotSpec, type QuantEvalOptions, type SweepResult } from "../quant/sweep.js";
import { renderSvg } from "../report/plots.js";



export interface QuantizeFlags {
  model: string;
  bitsHigh: number;
  bitsLow: number;
  avgBits?: number;
  demoteFraction?: number;
  order?: string;
  seed?: number;
  quantizer: QuantizerName;
  groupSize: number;
  evalTokens: number;
  calibWindows: number;
  ctx?: number;
  json?: string;
  save?: string;
  orders?: string;
  randomSeeds: number;
  tolerance: number;
  out?: string;
  quiet?: boolean;
  text?: string;
  ids?: string;
  calibText?: string;
  calibIds?: string;
  sizeMb?: number;
  compare?: string;
  lows?: string;
}

const fmt = (v: number, d = 4) => (Number.isInteger(v) ? String(v) : v.toFixed(d));

function checkFlags(mode: string | undefined, f: QuantizeFlags): void {
  if (mode !== undefined && mode !== "sweep") throw new BilevelInputError(`quantize: unknown mode '${mode}' (expected nothing or 'sweep')`);
  checkBits(f.bitsHigh, "--bits-high");
  if (f.compare !== undefined) {
    if (f.bitsLow !== undefined) throw new BilevelInputError("--bits-low: not an option of `quantize sweep --compare prune` (use --lows)");
    f.bitsLow = Math.max(2, f.bitsHigh - 1); // only the allocation checks read it
  }
  if (f.bitsLow === undefined) throw new BilevelInputError("--bits-low: required (2-8, fewer than --bits-high)");
  checkBits(f.bitsLow, "--bits-low");
  if (f.bitsLow >= f.bitsHigh) throw new BilevelInputError(`--bits-low: expected fewer bits than --bits-high (${f.bitsHigh}), got ${f.bitsLow}`);
  if (!fs.existsSync(f.model) || !fs.statSync(f.model).isDirectory()) throw new BilevelInputError(`--model ${f.model}: not a directory`);
  if (mode === "sweep") {
    if (f.out === undefined) throw new BilevelInputError("--out: required for `quantize sweep`");
    for (const flag of ["avgBits", "demoteFraction", "json", "save", "sizeMb", ...(f.compare === undefined ? (["order"] as const) : [])] as const) {
      if (f[flag] !== undefined) throw new BilevelInputError(`--${flag.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}: not an option of \`quantize sweep\` (use --orders, --out)`);
    }
    if (f.compare !== undefined && f.compare !== "prune") throw new BilevelInputError(`--compare: expected 'prune', got '${f.compare}'`);
    if (f.compare !== undefined && f.order !== undefined && !isOrder(f.order)) throw new BilevelInputError(`--order: expected one of ${ORDERS.join(", ")}, got '${f.order}'`);
    if (f.compare === undefined && f.lows !== undefined) throw new BilevelInputError("--lows: only with --compare prune");
  } else {
    if (f.out !== undefined || f.orders !== undefined) throw new BilevelInputError(`--${f.out !== undefined ? "out" : "orders"}: only for \`quantize sweep\``);
    if (f.compare !== undefined || f.lows !== undefined) throw new BilevelInputError(`--${f.compare !== undefined ? "compare" : "lows"}: only for \`quantize sweep\``);
    if ([f.avgBits, f.demoteFraction, f.sizeMb].filter((v) => v !== undefined).length !== 1) throw new BilevelInputError("--avg-bits: give exactly one of --avg-bits, --demote-fraction and --size-mb");
    if (f.order === undefined) throw new BilevelInputError(`--order: required (one of ${ORDERS.join(", ")})`);
    if (!isOrder(f.order)) throw new BilevelInputError(`--order: expected one of ${ORDERS.join(", ")}, got '${f.order}'`);
  }
}

function parseOrders(s: string | undefined): Order[] {
  if (s === undefined) return [...ORDERS];
  const out = s.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
  if (out.length === 0) throw new BilevelInputError("--orders: expected a comma-separated list");
  for (const o of out) if (!isOrder(o)) throw new BilevelInputError(`--orders: unknown ordering '${o}' (expected ${ORDERS.join(", ")})`);
  return [...new Set(out)] as Order[];
}

/** Run `bilevel quantize [sweep]`; resolves to the exit code. */
export async function quantizeCommand(mode: string | undefined, f: QuantizeFlags): Promise<number> {
  checkFlags(mode, f);
  const orders = mode === "sweep" ? parseOrders(f.orders) : [];
  if (f.json !== undefined) probeWritable(f.json, "--json");
  if (f.out !== undefined) probeWritableDir(f.out, "--out");
  if (f.save !== undefined) probeWritableDir(f.save, "--save");
  await initEngine({ dtype: "float32" });
  const say = (s: string) => {
    if (!f.quiet) process.stdout.write(s + "\n");
  };
  const { config, weights } = loadModel(f.model);
  try {
    const L = config.nLayer;
    let target: { avgBits?: number; demoteFraction?: number; demoteCount?: number };
    if (f.sizeMb !== undefined) {
      // the fewest demotions (in the order) whose packed size fits the budget: sizes fall with every demotion
      const budget = f.sizeMb * 1e6;
      const sizes = Array.from({ length: L + 1 }, (_, k) => modelBytesAt(config, Array.from({ length: L }, (_, i) => (i < L - k ? f.bitsHigh : f.bitsLow)), f.groupSize, f.quantizer));
      const k = sizes.findIndex((b) => b <= budget);
      if (k < 0) throw new BilevelInputError(`--size-mb: ${f.sizeMb} MB is below the smallest size at these settings, ${(sizes[L] / 1e6).toFixed(6)} MB (every block at --bits-low ${f.bitsLow})`);
      target = { demoteCount: k };
    } else target = f.avgBits !== undefined ? { avgBits: f.avgBits } : { demoteFraction: f.demoteFraction };
    // Refuse an unreachable target before any work.
    if (mode !== "sweep") demoteCountOf({ nLayers: L, bitsHigh: f.bitsHigh, bitsLow: f.bitsLow, order: f.order as Order, ...target });
    const ctx = f.ctx ?? Math.min(128, maxContext(config));
    if (ctx > maxContext(config)) throw new BilevelInputError(`--ctx: ${ctx} exceeds the model context ${maxContext(config)}`);
    const { evalTokens, calibTokens } = tokenSets(f, config.vocabSize, ctx);
    const calib = { ctx, windows: f.calibWindows };
    if (mode === "sweep" && f.compare === "prune") return await runPruneCompare(f, config, weights, evalTokens, calibTokens, ctx, calib, say);
    if (mode === "sweep") return await runSweep(f, orders, config, weights, evalTokens, calibTokens, ctx, calib, say);

    const t0 = performance.now();
    const lim = await limScores(config, weights, calibTokens, calib);
    const zd = await zdScores(config, weights);
    const al = allocate({
      nLayers: config.nLayer,
      bitsHigh: f.bitsHigh,
      bitsLow: f.bitsLow,
      order: f.order as Order,
      seed: f.seed ?? 0,
      scores: { lim, zd },
      ...target,
    });
    const hessians = f.quantizer === "gptq" ? await linearHessians(config, weights, calibTokens, calib) : undefined;
    const qm = await quantizeModel(config, weights, al.bits, { quantizer: f.quantizer, groupSize: f.groupSize, hessians });
    const before = await perplexity(config, weights, evalTokens, { ctx });
    const lw = dequantizedWeights(qm);
    let after: number;
    try {
      after = await perplexity(config, weights, evalTokens, { ctx, linearWeights: lw });
    } finally {
      disposeAll(lw);
    }
    const bytesBefore = floatModelBytes(config);
    const bytesAfter = quantizedModelBytes(qm);
    const st = quantizedWeightStats(qm);
    const fileBytes = f.save !== undefined ? await saveQuantized(f.save, qm, weights) : undefined;
    const record = {
      model: f.model,
      config,
      quantizer: f.quantizer,
      groupSize: f.groupSize,
      bitsHigh: f.bitsHigh,
      bitsLow: f.bitsLow,
      avgBits: al.avgBits,
      order: al.order,
      ...(al.order === "random" ? { seed: al.seed } : {}),
      ...(f.sizeMb !== undefined ? { sizeBudgetMb: f.sizeMb } : {}),
      evalTokens: evalTokens.length,
      evalSource: f.text ?? f.ids ?? "IMDb held-out text",
      calibrationTokens: calibTokens.length,
      ctx,
      perplexity: { before, after, relChange: after / before - 1 },
      bytes: { before: bytesBefore, after: bytesAfter, quantizedWeights: st.weights, quantizedWeightBytes: st.bytes, effectiveBitsPerQuantizedWeight: st.effectiveBits, ...(fileBytes !== undefined ? { savedFile: fileBytes } : {}) },
      layers: Array.from({ length: config.nLayer }, (_, i) => ({ layer: i, lim: lim[i], zd: zd[i], rank: al.ranking.indexOf(i), bits: al.bits[i] })),
      ranking: al.ranking,
      demoted: al.demoted,
      seconds: (performance.now() - t0) / 1000,
    };
    if (f.json !== undefined) writeFileAtomic(f.json, JSON.stringify(record, null, 2) + "\n", "--json");
    const lines = [
      `${f.model}: ${config.nLayer} layers, d ${modelWidth(config)}; ${f.quantizer} group ${f.groupSize}; ${f.bitsHigh}/${f.bitsLow} bits, average ${fmt(al.avgBits)} (order ${al.order}${al.order === "random" ? ` seed ${al.seed}` : ""})`,
      `  perplexity    before ${fmt(before)}  after ${fmt(after)}  (${after >= before ? "+" : ""}${((after / before - 1) * 100).toFixed(2)}%; ${evalTokens.length} held-out tokens)`,
      `  size (bytes)  before ${bytesBefore} (float32)  after ${bytesAfter} (${fmt(st.effectiveBits, 3)} bits per quantized weight incl. scales/zeros)`,
      ...(fileBytes !== undefined ? [`  saved         ${path.join(f.save!, "quantized.safetensors")} (${fileBytes} bytes)`] : []),
      `  layer   lim      zd       rank  bits`,
      ...record.layers.map((l) => `  ${String(l.layer).padEnd(6)}  ${l.lim.toFixed(4)}   ${l.zd.toFixed(4)}   ${String(l.rank).padEnd(4)}  ${l.bits}`),
    ];
    say(lines.join("\n"));
    return 0;
  } finally {
    disposeWeights(weights);
  }
}

/** The quantizer, token sets, windows and progress line a sweep and a prune comparison share. */
function evalOptions(f: QuantizeFlags, evalTokens: ArrayLike<number>, calibTokens: ArrayLike<number>, ctx: number, calib: { ctx: number; windows: number }, say: (s: string) => void): QuantEvalOptions {
  return { quantizer: f.quantizer, groupSize: f.groupSize, evalTokens, calibTokens, ctx, calibration: calib, onProgress: (m) => say(`  ${m}`) };
}

async function runSweep(
  f: QuantizeFlags,
  orders: Order[],
  config: ModelConfig,
  weights: GPT2Weights,
  evalTokens: ArrayLike<number>,
  calibTokens: ArrayLike<number>,
  ctx: number,
  calib: { ctx: number; windows: number },
  say: (s: string) => void,
): Promise<number> {
  const r: SweepResult = await sweep(config, weights, {
    bitsHigh: f.bitsHigh,
    bitsLow: f.bitsLow,
    orders,
    randomSeeds: f.randomSeeds,
    tolerance: f.tolerance,
    ...evalOptions(f, evalTokens, calibTokens, ctx, calib, say),
  });
  const out = path.resolve(f.out!);
  const base = `quant-sweep`;
  const svg = await renderSvg(sweepPlotSpec(r));
  writeFileAtomic(path.join(out, `${base}.json`), JSON.stringify({ model: f.model, ...r }, null, 2) + "\n", "--out");
  writeFileAtomic(path.join(out, `${base}.svg`), svg, "--out");
  const L = config.nLayer;
  const pct = (v: number | null) => (v === null ? "none" : `${(v * 100).toFixed(1)}%`);
  const lines = [`sweep ${f.bitsHigh} -> ${f.bitsLow} bits (${r.quantizer}, group ${r.groupSize}), unquantized perplexity ${fmt(r.basePerplexity)}; within ${r.tolerance * 100}% up to:`];
  for (const [o, v] of Object.entries(r.summary.keepFraction)) lines.push(`  ${o.padEnd(12)} ${pct(v)} of ${L} blocks demoted`);
  if (r.summary.randomMeanKeepFraction !== null) {
    lines.push(`  ${"random".padEnd(12)} ${pct(r.summary.randomMeanKeepFraction)} (mean of ${f.randomSeeds} seeds; mean curve ${pct(r.summary.randomMeanCurveKeepFraction)})`);
  }
  lines.push(
    `  mean relative perplexity change over k: ${Object.entries(r.summary.meanRelChange)
      .map(([o, v]) => `${o} ${(v * 100).toFixed(2)}%`)
      .join(", ")}`,
  );
  lines.push(`  k demoted  ${r.curves.map((c) => (c.order === "random" ? `rnd${c.seed}` : c.order).padStart(12)).join("")}`);
  for (let k = 0; k <= L; k++) lines.push(`  ${String(k).padEnd(9)}  ${r.curves.map((c) => fmt(c.points[k].perplexity).padStart(12)).join("")}`);
  lines.push(`wrote ${path.join(out, `${base}.json`)} and ${base}.svg (${r.seconds.toFixed(0)} s)`);
  say(lines.join("\n"));
  return 0;
}

/**
 * Evaluation tokens (--text / --ids, else the IMDb held-out text through the folder's tokenizer), at
 * most --eval-tokens of them, and calibration tokens (--calib-text / --calib-ids, else the IMDb
 * calibration text), --calib-windows * ctx of them.
 */
function tokenSets(f: QuantizeFlags, vocabSize: number, ctx: number): { evalTokens: number[]; calibTokens: number[] } {
  const fromText = (text: string, n: number): number[] => {
    const tok = loadTokenizer(f.model, vocabSize);
    // a prefix long enough for n tokens (a token covers at most a few characters), else all of it
    let ids = tok.encode(text.slice(0, 8 * n));
    if (ids.length < n && text.length > 8 * n) ids = tok.encode(text);
    return ids.slice(0, n);
  };
  const evalTokens = f.text !== undefined || f.ids !== undefined ? tokensFromFlags(f.model, vocabSize, f).slice(0, f.evalTokens) : fromText(heldOutText(), f.evalTokens);
  const nCal = f.calibWindows * ctx;
  const calibTokens =
    f.calibText !== undefined || f.calibIds !== undefined
      ? tokensFromFlags(f.model, vocabSize, { text: f.calibText, ids: f.calibIds }, { text: "--calib-text", ids: "--calib-ids" }).slice(0, nCal)
      : fromText(calibrationText(), nCal);
  if (evalTokens.length < ctx + 1) throw new BilevelInputError(`${f.ids !== undefined ? "--ids" : f.text !== undefined ? "--text" : "--eval-tokens"}: ${evalTokens.length} evaluation tokens, need at least ctx + 1 = ${ctx + 1}`);
  if (calibTokens.length < ctx) throw new BilevelInputError(`${f.calibIds !== undefined ? "--calib-ids" : "--calib-text"}: ${calibTokens.length} calibration tokens, need at least ctx = ${ctx}`);
  return { evalTokens, calibTokens };
}

function parseLows(s: string | undefined, bitsHigh: number): number[] {
  if (s === undefined) return [2, 3].filter((b) => b < bitsHigh);
  const out = s.split(",").map((x) => Number(x.trim()));
  for (const b of out) {
    checkBits(b, "--lows");
    if (b >= bitsHigh) throw new BilevelInputError(`--lows: ${b} bits is not below --bits-high ${bitsHigh}`);
  }
  return [...new Set(out)];
}

async function runPruneCompare(
  f: QuantizeFlags,
  config: ModelConfig,
  weights: GPT2Weights,
  evalTokens: ArrayLike<number>,
  calibTokens: ArrayLike<number>,
  ctx: number,
  calib: { ctx: number; windows: number },
  say: (s: string) => void,
): Promise<number> {
  const r = await pruneComparison(config, weights, {
    bitsHigh: f.bitsHigh,
    lows: parseLows(f.lows, f.bitsHigh),
    order: (f.order as Order | undefined) ?? "lim",
    seed: f.seed,
    ...evalOptions(f, evalTokens, calibTokens, ctx, calib, say),
  });
  const out = path.resolve(f.out!);
  const svg = await renderSvg(prunePlotSpec(r));
  writeFileAtomic(path.join(out, "quant-prune.json"), JSON.stringify({ model: f.model, ...r }, null, 2) + "\n", "--out");
  writeFileAtomic(path.join(out, "quant-prune.svg"), svg, "--out");
  const lines = [`prune vs quantize (${r.order} order, ${r.quantizer}, group ${r.groupSize}, others at ${r.bitsHigh} bits), unquantized perplexity ${fmt(r.basePerplexity)}`];
  lines.push(`  pruned  bytes      prune      ${r.lows.map((b) => `${b}-bit@same size`.padStart(16)).join("")}`);
  for (const e of r.equalSize) lines.push(`  ${String(e.pruned).padEnd(6)}  ${String(e.bytes).padEnd(9)}  ${fmt(e.prune).padStart(9)}  ${r.lows.map((b) => (e.quantized[`${b}-bit`] === null ? "-" : fmt(e.quantized[`${b}-bit`]!)).padStart(16)).join("")}`);
  lines.push(`wrote ${path.join(out, "quant-prune.json")} and quant-prune.svg (${r.seconds.toFixed(0)} s)`);
  say(lines.join("\n"));
  return 0;
}

/** Register `quantize` on the CLI program; `done` receives the exit code. */
export function addQuantizeCommand(program: Command, done: (code: number) => void): void {
  program
    .command("quantize")
    .description("layer-wise mixed-precision quantization of a GPT-2-layout model (LIM / ZD orderings); `quantize sweep` for the curve")
    .argument("[mode]", "`sweep`: perplexity vs fraction of blocks demoted for each ordering")
    .requiredOption("--model <DIR>", "model directory (config.json + model.safetensors)")
    .requiredOption("--bits-high <B>", "bits of the important blocks (2-8)", intArg("--bits-high", 2, 8))
    .option("--bits-low <B>", "bits of the demoted blocks (2-8, < bits-high; not with --compare prune, which takes --lows)", intArg("--bits-low", 2, 8))
    .option("--avg-bits <A>", "target average bits (must be reachable with whole blocks)", numberArg("--avg-bits"))
    .option("--demote-fraction <F>", "fraction of blocks at bits-low (instead of --avg-bits)", numberArg("--demote-fraction"))
    .option("--order <ORDER>", `block ordering: ${ORDERS.join(", ")}`)
    .option("--seed <S>", "seed of the random ordering (default 0)", intArg("--seed", 0))
    .addOption(new Option("--quantizer <Q>", "quantizer").choices(QUANTIZERS).default("rtn"))
    .option("--group-size <G>", "input rows per scale / zero point", intArg("--group-size", 1), 32)
    .option("--eval-tokens <N>", "held-out bytes for perplexity", intArg("--eval-tokens", 2), 32768)
    .option("--calib-windows <N>", "calibration windows of ctx bytes for LIM and GPTQ", intArg("--calib-windows", 1), 16)
    .option("--ctx <T>", "context length of perplexity / calibration windows (default min(128, n_positions))", intArg("--ctx", 1))
    .option("--json <FILE>", "write the result record to FILE")
    .option("--save <DIR>", "write the packed model (config.json + quantized.safetensors) to DIR")
    .option("--orders <LIST>", "sweep: comma-separated orderings (default lim,zd,random,reverse-lim)")
    .option("--random-seeds <K>", "sweep: random orderings with seeds 0..K-1", intArg("--random-seeds", 1), 5)
    .option("--tolerance <R>", "sweep: relative perplexity tolerance of the summary (0.1 = within 10%)", positiveNumber("--tolerance"), 0.1)
    .option("--out <DIR>", "sweep: output directory for quant-sweep.json and quant-sweep.svg")
    .option("--size-mb <X>", "pick the allocation: the fewest blocks at bits-low (in --order) whose packed size is <= X MB", positiveNumber("--size-mb"))
    .option("--text <FILE>", "evaluate on this UTF-8 text (the folder's tokenizer) instead of the IMDb held-out text")
    .option("--ids <FILE.json>", "evaluate on this JSON array of token ids")
    .option("--calib-text <FILE>", "calibrate (LIM, GPTQ) on this text instead of the IMDb calibration text")
    .option("--calib-ids <FILE.json>", "calibrate on this JSON array of token ids")
    .option("--compare <WHAT>", "sweep: 'prune' = remove the k least important blocks vs quantize them to --lows bits")
    .option("--lows <LIST>", "sweep --compare prune: low bit widths (default 2,3)")
    .option("--quiet", "no output on stdout")
    .action(async (mode: string | undefined, f: QuantizeFlags) => {
      done(await quantizeCommand(mode, f));
    });
}
