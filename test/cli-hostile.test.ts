/**
 * The hostile inputs and faults of the reliability issue, as a table: each case runs the real CLI and
 * checks the exit code (2 bad input, 1 a run failure), a single stderr line matching the cause, no
 * stack trace, that nothing was written or destroyed, and (for checks that must come before any work)
 * that it fails fast.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { root } from "./cli-helpers.js";
import { parseSafetensors, serializeSafetensors, f32Tensor } from "../src/quant/safetensors.js";

const bin = path.join(root, "dist/src/cli/main.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-hostile-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const T = (...p: string[]) => path.join(tmp, ...p);

/** Run the CLI (optionally under `ulimit -f BLOCKS`) in `cwd`; exit code, output and wall seconds. */
function run(args: string[], opts: { cwd?: string; fileBlocks?: number } = {}): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  const [cmd, argv] = opts.fileBlocks
    ? ["/bin/sh", ["-c", `ulimit -f ${opts.fileBlocks}; exec "$0" "$@"`, process.execPath, bin, ...args]]
    : [process.execPath, [bin, ...args]];
  return new Promise((resolve) => {
    execFile(cmd, argv as string[], { cwd: opts.cwd ?? tmp, env: { ...process.env, BILEVEL_DEBUG: "" }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** Snapshot of a folder tree (names, sizes, contents) to prove nothing changed. */
function snapshot(dir: string): string {
  if (!fs.existsSync(dir)) return "<none>";
  if (!fs.statSync(dir).isDirectory()) return fs.readFileSync(dir).toString("base64");
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)}:${fs.readFileSync(p).toString("base64")}`);
    }
  };
  walk(dir);
  return out.join("\n");
}

// ---- fixtures ------------------------------------------------------------------------------------
fs.writeFileSync(T("keep.json"), '{"previous": "result"}\n');
fs.mkdirSync(T("a-folder"));
// an existing model folder (train-lm must not overwrite it without --force)
fs.mkdirSync(T("model-old"));
fs.writeFileSync(T("model-old", "README.md"), "# the old model\n");
fs.writeFileSync(T("model-old", "config.json"), "{}\n");
// tiny GPT-2 models for quantize: a good one, one with a NaN weight, one with two tensors sharing bytes, garbage config
const cfg = { vocab_size: 256, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2, layer_norm_epsilon: 1e-5 };
const shapes: [string, number[]][] = [
  ["wte.weight", [256, 8]],
  ["wpe.weight", [16, 8]],
  ...["ln_1", "ln_2"].flatMap((l) => [[`h.0.${l}.weight`, [8]], [`h.0.${l}.bias`, [8]]] as [string, number[]][]),
  ["h.0.attn.c_attn.weight", [8, 24]],
  ["h.0.attn.c_attn.bias", [24]],
  ["h.0.attn.c_proj.weight", [8, 8]],
  ["h.0.attn.c_proj.bias", [8]],
  ["h.0.mlp.c_fc.weight", [8, 32]],
  ["h.0.mlp.c_fc.bias", [32]],
  ["h.0.mlp.c_proj.weight", [32, 8]],
  ["h.0.mlp.c_proj.bias", [8]],
  ["ln_f.weight", [8]],
  ["ln_f.bias", [8]],
];
function writeModel(dir: string, edit: (name: string, v: Float32Array) => void = () => {}): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(cfg));
  const tensors = new Map(
    shapes.map(([name, shape]) => {
      const v = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => (name.includes("ln") && name.endsWith("weight") ? 1 : Math.sin(i + name.length) * 0.02));
      edit(name, v);
      return [name, f32Tensor(v, shape)] as const;
    }),
  );
  fs.writeFileSync(path.join(dir, "model.safetensors"), serializeSafetensors({ metadata: { format: "pt" }, tensors }));
}
writeModel(T("m-good"));
writeModel(T("m-nan"), (name, v) => {
  if (name === "h.0.mlp.c_fc.weight") v[5] = NaN;
});
{
  // overlapping tensors: point ln_f.bias at ln_f.weight's bytes (and drop the now-uncovered tail)
  writeModel(T("m-overlap"));
  const file = T("m-overlap", "model.safetensors");
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString());
  header["ln_f.bias"].data_offsets = header["ln_f.weight"].data_offsets;
  const text = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  fs.writeFileSync(file, Buffer.concat([len, text, b.subarray(8 + n, b.length - 32)]));
  assert.throws(() => parseSafetensors(fs.readFileSync(file)), /overlaps/);
}
fs.mkdirSync(T("m-garbage"));
fs.writeFileSync(T("m-garbage", "config.json"), Buffer.from([0x00, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xfe, 0x07, 0x67, 0x61, 0x72, 0x62]));

interface Case {
  name: string;
  args: string[];
  code: 1 | 2;
  message: RegExp;
  /** Must fail before any work: within this many seconds of wall time. */
  fast?: boolean;
  /** Paths that must be unchanged afterwards (file or folder), and paths that must not exist. */
  keep?: string[];
  absent?: string[];
  fileBlocks?: number;
  cwd?: string;
}

const cases: Case[] = [
  // outputs
  { name: "run --json /dev/full is refused before the run", args: ["run", "toy-sc", "--solver", "bome", "--json", "/dev/full"], code: 2, message: /--json \/dev\/full: cannot write there \(not a regular file\)/, fast: true },
  { name: "run --json /proc/x is refused before the run", args: ["run", "toy-sc", "--solver", "bome", "--json", "/proc/x"], code: 2, message: /--json \/proc\/x: cannot write there \(ENOENT/, fast: true },
  { name: "run --json into a folder", args: ["run", "toy-sc", "--solver", "bome", "--json", T("a-folder")], code: 2, message: /cannot write there \(is a directory\)/, fast: true, keep: [T("a-folder")] },
  { name: "run --json under a missing folder", args: ["run", "toy-sc", "--solver", "bome", "--json", T("no", "such", "r.json")], code: 2, message: /cannot write there \(ENOENT/, fast: true, absent: [T("no")] },
  {
    name: "run --json whose write fails (file size limit) keeps the previous file",
    args: ["run", "toy-sc", "--solver", "bome", "--steps", "3", "--quiet", "--json", T("keep.json")],
    code: 1,
    message: /--json .*keep\.json: cannot write \(EFBIG.*\); the previous file is unchanged/,
    fileBlocks: 1,
    keep: [T("keep.json")],
  },
  { name: "bench --out /proc/q", args: ["bench", "toy-sc", "--solvers", "bome", "--seeds", "1", "--steps", "2", "--out", "/proc/q"], code: 2, message: /--out \/proc\/q: cannot write there/, fast: true },
  { name: "bench --out a file", args: ["bench", "toy-sc", "--solvers", "bome", "--seeds", "1", "--steps", "2", "--out", T("keep.json")], code: 2, message: /--out .*keep\.json: cannot write there \(not a directory\)/, fast: true, keep: [T("keep.json")] },
  { name: "bench of an unknown task makes no folder", args: ["bench", "nope", "--solvers", "bome"], code: 2, message: /unknown task 'nope'/, fast: true, absent: [T("bench-nope")] },
  { name: "bench of a task name with ../ makes no folder anywhere", args: ["bench", "x/../../elsewhere", "--solvers", "bome"], code: 2, message: /unknown task 'x\/\.\.\/\.\.\/elsewhere'/, fast: true, absent: [T("bench-x"), path.join(path.dirname(path.dirname(tmp)), "elsewhere")] },
  { name: "bench --target of a metric the task does not report, before any run or folder", args: ["bench", "toy-sc", "--solvers", "bome", "--target", "nosuch=1", "--out", T("b-target")], code: 2, message: /--target nosuch: task toy-sc does not report 'nosuch' \(it reports: upper, lower, distanceToOptimum/, fast: true, absent: [T("b-target")] },
  { name: "bench --target that is not metric=value", args: ["bench", "toy-sc", "--solvers", "bome", "--target", "x", "--out", T("b-target2")], code: 2, message: /--target x: expected metric=value/, fast: true, absent: [T("b-target2")] },
  { name: "quantize --save /proc/q does not hang", args: ["quantize", "--model", T("m-good"), "--bits-high", "4", "--bits-low", "2", "--avg-bits", "3", "--order", "lim", "--save", "/proc/q"], code: 2, message: /--save \/proc\/q: cannot write there \(ENOENT/, fast: true },
  { name: "quantize sweep --out /proc/q does not hang", args: ["quantize", "sweep", "--model", T("m-good"), "--bits-high", "4", "--bits-low", "2", "--out", "/proc/q"], code: 2, message: /--out \/proc\/q: cannot write there/, fast: true },
  { name: "quantize --save under a file gives the real cause", args: ["quantize", "--model", T("m-good"), "--bits-high", "4", "--bits-low", "2", "--avg-bits", "3", "--order", "lim", "--save", T("keep.json", "q")], code: 2, message: /--save .*keep\.json\/q: cannot write there \(ENOTDIR/, fast: true, keep: [T("keep.json")] },
  { name: "quantize --json /dev/full", args: ["quantize", "--model", T("m-good"), "--bits-high", "4", "--bits-low", "2", "--avg-bits", "3", "--order", "lim", "--json", "/dev/full"], code: 2, message: /--json \/dev\/full: cannot write there/, fast: true },
  { name: "train-lm refuses an existing model folder without --force", args: ["train-lm", "--out", T("model-old"), "--layers", "1", "--d", "8", "--heads", "2", "--ctx", "8", "--steps", "1"], code: 2, message: /--out .*model-old: already exists; pass --force to replace it/, fast: true, keep: [T("model-old")] },
  { name: "train-lm --out /proc/m before training", args: ["train-lm", "--out", "/proc/m", "--steps", "1"], code: 2, message: /--out \/proc\/m: cannot write there/, fast: true },
  { name: "train-lm --ctx 100000 is a size error, not an internal error", args: ["train-lm", "--out", T("lm-big"), "--ctx", "100000"], code: 2, message: /a training step needs about [\d.e+]+ GiB \(ctx 100000.*use a smaller ctx or batch/, fast: true, absent: [T("lm-big")] },
  // integers, seeds, unknown keys
  { name: "bome T=1.5", args: ["run", "toy-sc", "--solver", "bome", "--set", "T=1.5"], code: 2, message: /solver bome\.T: expected a positive integer <= 5000 .*got 1\.5/, fast: true },
  { name: "bome T=-3", args: ["run", "toy-sc", "--solver", "bome", "--set", "T=-3"], code: 2, message: /solver bome\.T: expected a positive integer <= 5000 .*got -3/, fast: true },
  { name: "itd truncate=100 > T", args: ["run", "toy-sc", "--solver", "itd", "--set", "truncate=100"], code: 2, message: /solver itd\.truncate: expected a non-negative integer <= T = 40, got 100/, fast: true },
  { name: "itd truncate=-5", args: ["run", "toy-sc", "--solver", "itd", "--set", "truncate=-5"], code: 2, message: /solver itd\.truncate: .*got -5/, fast: true },
  { name: "aid-cg iters=1.5", args: ["run", "toy-sc", "--solver", "aid-cg", "--set", "iters=1.5"], code: 2, message: /solver aid-cg\.iters: expected a positive integer <= 500/, fast: true },
  { name: "aid-cg iters=100000 is over the stated cap", args: ["run", "toy-sc", "--solver", "aid-cg", "--set", "iters=100000"], code: 2, message: /aid-cg\.iters: expected a positive integer <= 500 \(CG iterations are unrolled into the compiled step, ~370 KB each\), got 100000/, fast: true },
  { name: "seed 2^32 would wrap to 0", args: ["run", "toy-sc", "--solver", "bome", "--seed", "4294967296"], code: 2, message: /seed: expected an integer from 0 to 4294967295/, fast: true },
  { name: "seed above 2^53", args: ["run", "toy-sc", "--solver", "bome", "--seed", "18014398509481984"], code: 2, message: /seed: expected an integer from 0 to 4294967295/, fast: true },
  { name: "--set __proto__=1 is an unknown option", args: ["run", "toy-sc", "--solver", "bome", "--set", "__proto__=1"], code: 2, message: /--set __proto__: unknown option/, fast: true },
  { name: "--set constructor=1 is an unknown option", args: ["run", "toy-sc", "--solver", "bome", "--set", "constructor=1"], code: 2, message: /--set constructor: unknown option/, fast: true },
  { name: "bench --set __proto__=1 is an unknown option", args: ["bench", "toy-sc", "--solvers", "bome", "--set", "__proto__=1", "--out", T("b-proto")], code: 2, message: /--set __proto__: unknown option/, fast: true, absent: [T("b-proto")] },
  { name: "--set without =", args: ["run", "toy-sc", "--solver", "bome", "--set", "T"], code: 2, message: /--set T: expected key=value/, fast: true },
  // sizes and uninterruptible work
  { name: "toy-sc n=30000 over the memory limit", args: ["run", "toy-sc", "--solver", "bome", "--set", "n=30000"], code: 2, message: /task toy-sc: n = 30000 needs about 87\.2 GiB .*more than the limit 4\.00 GiB/, fast: true },
  { name: "toy-sc n=1e7", args: ["run", "toy-sc", "--solver", "bome", "--set", "n=1e7"], code: 2, message: /task toy-sc: n = 10000000 needs about .* TiB/, fast: true },
  { name: "toy-sc n=0", args: ["run", "toy-sc", "--solver", "bome", "--set", "n=0"], code: 2, message: /task toy-sc\.n: expected a positive integer, got 0/, fast: true },
  { name: "toy-sc n=-1", args: ["run", "toy-sc", "--solver", "bome", "--set", "n=-1"], code: 2, message: /task toy-sc\.n: expected a positive integer, got -1/, fast: true },
  { name: "toy-sc n=2.5", args: ["run", "toy-sc", "--solver", "bome", "--set", "n=2.5"], code: 2, message: /task toy-sc\.n: expected a positive integer, got 2\.5/, fast: true },
  { name: "parl-gridworld gamma=0.999999 is refused, not run for minutes", args: ["run", "parl-gridworld", "--solver", "aparl", "--set", "size=20", "--set", "gamma=0.999999", "--time-limit", "5"], code: 2, message: /gamma: 0\.999999 needs about 3\.0e\+7 value-iteration sweeps .*cap 5e\+9/, fast: true },
  // data files
  { name: "quantize of a model with a NaN weight names the tensor", args: ["quantize", "--model", T("m-nan"), "--bits-high", "4", "--bits-low", "2", "--avg-bits", "3", "--order", "lim"], code: 2, message: /model\.safetensors: tensor h\.0\.mlp\.c_fc\.weight has a non-finite value \(NaN\) at element 5/, fast: true },
  { name: "quantize of a model with overlapping tensors names them", args: ["quantize", "--model", T("m-overlap"), "--bits-high", "4", "--bits-low", "2", "--avg-bits", "3", "--order", "lim"], code: 2, message: /model\.safetensors: bad header: tensor 'ln_f\.(bias|weight)' .*overlaps tensor 'ln_f\.(weight|bias)'/, fast: true },
  { name: "a garbage config.json is not echoed as raw bytes", args: ["quantize", "--model", T("m-garbage"), "--bits-high", "4", "--bits-low", "2", "--avg-bits", "3", "--order", "lim"], code: 2, message: /config\.json: not valid JSON/, fast: true },
];

/** Wall-time bound of a check that must come before any work (CLI start-up on a busy 2-core machine included). */
const FAST_SECONDS = 20;

test("hostile inputs and faults: one stderr line, the right exit code, no stack trace, nothing destroyed", async () => {
  const before = new Map<string, string>();
  for (const c of cases) for (const k of c.keep ?? []) before.set(k, snapshot(k));
  const checkoutBefore = fs.readdirSync(root).sort().join(",");
  // three at a time: the cases are independent
  const results: { c: Case; r: Awaited<ReturnType<typeof run>> }[] = [];
  for (let i = 0; i < cases.length; i += 3) {
    const batch = cases.slice(i, i + 3);
    results.push(...(await Promise.all(batch.map(async (c) => ({ c, r: await run(c.args, { fileBlocks: c.fileBlocks, cwd: c.cwd }) })))));
  }
  const failures: string[] = [];
  for (const { c, r } of results) {
    const lines = r.stderr.split("\n").filter((l) => l.length > 0);
    const why: string[] = [];
    if (r.code !== c.code) why.push(`exit ${r.code}, expected ${c.code}`);
    if (lines.length !== 1) why.push(`${lines.length} stderr lines`);
    else if (!c.message.test(lines[0])) why.push(`message ${JSON.stringify(lines[0])} does not match ${c.message}`);
    if (/internal error/.test(r.stderr)) why.push("labelled internal error");
    if (r.stderr.includes("    at ")) why.push("stack trace");
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stderr)) why.push("raw control bytes on stderr");
    if (c.fast && r.seconds > FAST_SECONDS) why.push(`took ${r.seconds.toFixed(1)} s (expected to fail before any work)`);
    for (const k of c.keep ?? []) if (snapshot(k) !== before.get(k)) why.push(`${k} changed`);
    for (const a of c.absent ?? []) if (fs.existsSync(a)) why.push(`${a} was created`);
    if (why.length) failures.push(`${c.name}: ${why.join("; ")}\n    stderr: ${r.stderr.trim()}`);
  }
  // no temporary or probe files left next to any target
  const leftovers = fs.readdirSync(tmp).filter((n) => n.startsWith("."));
  if (leftovers.length) failures.push(`temporary files left in ${tmp}: ${leftovers.join(", ")}`);
  assert.equal(fs.readdirSync(root).sort().join(","), checkoutBefore, "the checkout gained or lost entries (e.g. bench-nope/)");
  assert.deepEqual(failures, [], `\n${failures.join("\n")}`);
});

test("train-lm: a diverging run is a run failure (exit 1, one line, not 'internal error') and saves nothing", async () => {
  const out = T("lm-diverge");
  const r = await run(["train-lm", "--out", out, "--layers", "1", "--d", "16", "--heads", "2", "--ctx", "16", "--batch", "2", "--steps", "5", "--lr", "1e30", "--warmup", "0", "--quiet"]);
  const lines = r.stderr.split("\n").filter((l) => l);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^bilevel: error: training diverged at step \d+ \(loss (NaN|Infinity)\); nothing saved; lower --lr$/);
  assert.ok(!fs.existsSync(out), "no model folder after a diverged run");
});

test("train-lm --force replaces a model folder with one consistent set (README, config, weights, log)", async () => {
  const out = T("model-replace");
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, "README.md"), "# the old model\n");
  fs.writeFileSync(path.join(out, "stale.bin"), "old");
  const r = await run(["train-lm", "--out", out, "--layers", "1", "--d", "16", "--heads", "2", "--ctx", "16", "--batch", "2", "--steps", "2", "--eval-every", "1", "--force", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), ["README.md", "config.json", "model.safetensors", "train-log.json"]);
  const log = JSON.parse(fs.readFileSync(path.join(out, "train-log.json"), "utf8"));
  const readme = fs.readFileSync(path.join(out, "README.md"), "utf8");
  assert.equal(log.steps, 2);
  assert.match(readme, /1 blocks, d 16, 2 heads, context 16/);
  assert.ok(readme.includes(`held-out loss ${log.finalValLoss} nats/byte`), readme);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8")).n_embd, 16);
  assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith(".model-replace")), [], "no temporary or old folder left");
});

test("fsio: probes refuse /proc, devices, folders and missing parents in one line and leave no probe file", async () => {
  const { probeWritable, probeWritableDir, mkdirs } = await import("../src/node/fsio.js");
  const { BilevelInputError } = await import("../src/errors.js");
  const refused = (fn: () => void, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof BilevelInputError && re.test(e.message) && !e.message.includes("\n"), String(re));
  refused(() => probeWritable("/proc/x", "--json"), /^--json \/proc\/x: cannot write there \(ENOENT/);
  refused(() => probeWritable("/dev/full", "--json"), /^--json \/dev\/full: cannot write there \(not a regular file\)/);
  refused(() => probeWritable(T("a-folder"), "--json"), /is a directory/);
  refused(() => probeWritable(T("missing", "r.json"), "--json"), /ENOENT/);
  refused(() => probeWritable(T("keep.json", "r.json"), "--json"), /ENOTDIR/);
  refused(() => probeWritableDir("/proc/q/r", "--out"), /^--out \/proc\/q\/r: cannot write there/);
  refused(() => probeWritableDir(T("keep.json"), "--out"), /not a directory/);
  assert.throws(() => mkdirs("/proc/a/b"), /ENOENT/); // one level at a time: no endless recursive mkdir
  probeWritable(T("fresh.json"), "--json");
  probeWritableDir(T("fresh-dir", "sub"), "--out");
  assert.ok(fs.statSync(T("fresh-dir", "sub")).isDirectory());
  assert.ok(!fs.existsSync(T("fresh.json")));
  assert.deepEqual(fs.readdirSync(T("fresh-dir", "sub")), []);
  assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith(".bilevel-write-test")), []);
});

test("fsio: writeFileAtomic replaces regular files only; writeDirAtomic keeps the old folder on failure and without force", async () => {
  const { writeFileAtomic, writeDirAtomic } = await import("../src/node/fsio.js");
  const { BilevelInputError, BilevelRunError } = await import("../src/errors.js");
  const f = T("atomic.json");
  writeFileAtomic(f, "one\n");
  writeFileAtomic(f, "two\n");
  assert.equal(fs.readFileSync(f, "utf8"), "two\n");
  // a FIFO (like /dev/full, not a regular file) is never renamed over
  const fifo = T("a-fifo");
  await new Promise<void>((resolve, reject) => execFile("mkfifo", [fifo], (e) => (e ? reject(e) : resolve())));
  assert.throws(() => writeFileAtomic(fifo, "x", "--json"), (e: unknown) => e instanceof BilevelRunError && /--json .*a-fifo: cannot write \(not a regular file\); nothing written/.test(e.message));
  assert.ok(fs.statSync(fifo).isFIFO());
  assert.throws(() => writeFileAtomic(T("missing", "x.json"), "x"), (e: unknown) => e instanceof BilevelRunError && /ENOENT/.test(e.message));

  const dir = T("set");
  await writeDirAtomic(dir, "--out", (d) => fs.writeFileSync(path.join(d, "a.txt"), "v1"));
  assert.equal(fs.readFileSync(path.join(dir, "a.txt"), "utf8"), "v1");
  await assert.rejects(writeDirAtomic(dir, "--out", (d) => fs.writeFileSync(path.join(d, "a.txt"), "v2")), (e: unknown) => e instanceof BilevelInputError && /already exists; pass --force/.test(e.message));
  await assert.rejects(
    writeDirAtomic(dir, "--out", (d) => {
      fs.writeFileSync(path.join(d, "a.txt"), "half");
      throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    }, { force: true }),
    (e: unknown) => e instanceof BilevelRunError && /--out .*set: cannot write \(ENOSPC.*\); the previous folder is unchanged/.test(e.message),
  );
  assert.deepEqual(fs.readdirSync(dir), ["a.txt"]);
  assert.equal(fs.readFileSync(path.join(dir, "a.txt"), "utf8"), "v1");
  await writeDirAtomic(dir, "--out", (d) => fs.writeFileSync(path.join(d, "b.txt"), "v2"), { force: true });
  assert.deepEqual(fs.readdirSync(dir), ["b.txt"]);
  assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith(".set.") || n.startsWith(".atomic.json")), [], "no temporary or old copies left");
});
