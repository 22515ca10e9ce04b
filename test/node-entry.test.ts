/**
 * The Node side of the runtime split: BILEVEL_THREADS / BILEVEL_JIT / BILEVEL_DEVICE are read by the
 * Node set-up only, an invalid value is one line and exit 2 for every CLI command (never a stack
 * trace at import), the device flag and records, and the `bilevel/node` entry.
 */
import "../src/node/host.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readEngineEnv } from "../src/node/host.js";
import { currentDeviceName, engineInfo, initEngine } from "../src/engine/index.js";
import { runTask } from "../src/experiment.js";
import { BilevelInputError } from "../src/errors.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "dist/src/cli/main.js");

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, BILEVEL_DEBUG: "", ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test("readEngineEnv: valid values, defaults, and one line per invalid variable", () => {
  assert.deepEqual(readEngineEnv({}), { threads: null, jit: true, device: null, problems: [] });
  assert.deepEqual(readEngineEnv({ BILEVEL_THREADS: "3", BILEVEL_JIT: "0", BILEVEL_DEVICE: "cpu" }), { threads: 3, jit: false, device: "cpu", problems: [] });
  assert.deepEqual(readEngineEnv({ BILEVEL_THREADS: "", BILEVEL_JIT: "", BILEVEL_DEVICE: "" }).problems, []);
  for (const t of ["0", "abc", "-2", "1.5", "65", "1e1", " "]) {
    const p = readEngineEnv({ BILEVEL_THREADS: t }).problems;
    assert.equal(p.length, 1, `BILEVEL_THREADS=${t}`);
    assert.match(p[0], /^BILEVEL_THREADS: expected an integer from 1 to 64, got '/);
  }
  assert.match(readEngineEnv({ BILEVEL_JIT: "yes" }).problems[0], /^BILEVEL_JIT: expected 0 .* or 1 .*, got 'yes'$/);
  assert.match(readEngineEnv({ BILEVEL_DEVICE: "gpu" }).problems[0], /^BILEVEL_DEVICE: expected one of wasm, webgpu, cpu, got 'gpu'$/);
});

test("CLI: an invalid engine variable is one line on stderr and exit 2 for every command, even list", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ BILEVEL_THREADS: "abc" }, /BILEVEL_THREADS: expected an integer from 1 to 64, got 'abc'/],
    [{ BILEVEL_THREADS: "0" }, /BILEVEL_THREADS/],
    [{ BILEVEL_JIT: "2" }, /BILEVEL_JIT: expected 0/],
    [{ BILEVEL_DEVICE: "tpu" }, /BILEVEL_DEVICE: expected one of wasm, webgpu, cpu, got 'tpu'/],
  ];
  for (const [env, re] of cases) {
    const args = /THREADS: expected an integer .* 'abc'/.test(re.source) ? ["run", "toy-sc", "--solver", "bome", "--steps", "1"] : ["list"];
    {
      const r = await cli(args, env);
      assert.equal(r.code, 2, `${JSON.stringify(env)} ${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^bilevel: error: /);
      assert.match(lines[0], re);
    }
  }
});

test("CLI: --device cpu runs there and the record names it; BILEVEL_DEVICE sets the default; a bad --device is exit 2", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-device-"));
  try {
    const out = path.join(dir, "r.json");
    const r = await cli(["run", "toy-sc", "--solver", "bome", "--steps", "2", "--device", "cpu", "--quiet", "--json", out], {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(fs.readFileSync(out, "utf8")).engine.device, "cpu");
    const e = await cli(["run", "toy-sc", "--solver", "bome", "--steps", "2", "--quiet", "--json", out], { BILEVEL_DEVICE: "cpu", BILEVEL_JIT: "0" });
    assert.equal(e.code, 0, e.stderr);
    const rec = JSON.parse(fs.readFileSync(out, "utf8"));
    assert.equal(rec.engine.device, "cpu");
    assert.equal(rec.engine.jit, false);
    const bad = await cli(["run", "toy-sc", "--solver", "bome", "--device", "tpu"], {});
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, /--device/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("runTask runs on the engine's current device; devices switch between runs; records name the device", async () => {
  await initEngine({ device: "cpu" });
  const onCpu = await runTask({ task: "toy-sc", solver: "bome", steps: 3 });
  assert.equal(onCpu.record.engine.device, "cpu");
  assert.equal(currentDeviceName(), "cpu");
  await initEngine({ device: "wasm" });
  const onWasm = await runTask({ task: "toy-sc", solver: "bome", steps: 3 });
  assert.equal(onWasm.record.engine.device, "wasm");
  assert.equal(engineInfo().host, "node");
  // Same algorithm, same data, different backends: float32 agreement.
  assert.ok(Math.abs(onCpu.record.final.distanceToOptimum - onWasm.record.final.distanceToOptimum) < 1e-4);
  await assert.rejects(initEngine({ device: "tpu" as never }), (e: unknown) => e instanceof BilevelInputError && /device: expected one of/.test(e.message));
});

test("Node webgpu: used only when the optional npm package `webgpu` is installed and an adapter exists", async (t) => {
  try {
    await initEngine({ device: "webgpu" });
  } catch (e) {
    assert.ok(e instanceof BilevelInputError, String(e));
    assert.ok(!e.message.includes("\n"));
    t.skip(`webgpu under Node not available here: ${e.message}`);
    await initEngine({ device: "wasm" });
    return;
  }
  const r = await runTask({ task: "toy-sc", solver: "bome", steps: 3 });
  assert.equal(r.record.engine.device, "webgpu");
  await initEngine({ device: "wasm" });
  const w = await runTask({ task: "toy-sc", solver: "bome", steps: 3 });
  assert.ok(Math.abs(r.record.final.distanceToOptimum - w.record.final.distanceToOptimum) < 1e-4);
});

test("bilevel/node re-exports the core and adds the file loaders (ESM and CommonJS share one engine)", async () => {
  const esm = await import("../src/node/index.js");
  const core = await import("../src/index.js");
  assert.equal(esm.solve, core.solve);
  assert.equal(typeof esm.loadMnist, "function");
  assert.equal(typeof esm.writeFileAtomic, "function");
  assert.equal(typeof esm.runBench, "function");
  const { createRequire } = await import("node:module");
  const req = createRequire(path.join(root, "package.json"));
  const cjsNode = req(path.join(root, "dist/cjs/node.cjs"));
  const cjsRoot = req(path.join(root, "dist/cjs/index.cjs"));
  assert.equal(cjsNode.solve, cjsRoot.solve);
  assert.equal(typeof cjsNode.loadMnist, "function");
});
