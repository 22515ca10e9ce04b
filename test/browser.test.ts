/**
 * The playground in Debian's chromium (headless, driven by playwright-core), served by
 * `startPlayground` on 127.0.0.1: the page loads with no console error; bome on toy-sc (2-D x) in the
 * page's worker ends at the distanceToOptimum Node reaches, to 1e-6 (wasm); the same run on webgpu
 * (SwiftShader's software adapter here, exposed by --enable-unsafe-webgpu) matches wasm to 1e-4; the
 * plots are drawn; the downloaded record is the `bilevel run --json` record; the oracles' closed-form
 * checks pass on both devices at float32 tolerance (1e-4 relative); a stopped run stops.
 * Screenshot: out/playground.png. Skips with one reason only where chromium is not installed.
 */
import "../src/node/host.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runTask } from "../src/experiment.js";
import { startPlayground } from "../src/cli/playground.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--enable-unsafe-webgpu",
];

interface PageRun {
  status: string;
  error?: string;
  record?: { engine: { device: string; threads: number; host: string }; final: Record<string, number>; history: unknown[]; status: string };
}

test("playground in chromium: loads clean, wasm == Node to 1e-6, webgpu == wasm to 1e-4, plots, record download, stop", async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.skip(`chromium not installed (${CHROMIUM} missing; scripts/install-system-deps.sh installs the Debian package chromium)`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const server = await startPlayground({ port: 0 });
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-chromium-"));
  const ctx = await chromium.launchPersistentContext(userDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, acceptDownloads: true, viewport: { width: 1280, height: 1000 } });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const t0 = performance.now();
    const phases: string[] = [];
    const phase = (name: string) => phases.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));

    const steps = 300;
    const settings = `task=toy-sc&solver=bome&device=wasm&steps=${steps}&seed=0&evalEvery=5&task.n=2&task.random=true`;
    await page.goto(`${server.url}?${settings}&autorun=1`);
    const runAt = async (i: number): Promise<PageRun> => {
      await page.waitForFunction((k) => (window as any).__playground?.runs?.[k] && (window as any).__playground.runs[k].status !== "running", i, { timeout: 60_000 });
      return page.evaluate((k) => {
        const r = (window as any).__playground.runs[k];
        return { status: r.status, error: r.error, record: r.record };
      }, i);
    };
    const wasm = await runAt(0);
    phase("wasm run");
    assert.equal(wasm.status, "done", wasm.error);
    assert.equal(wasm.record!.engine.device, "wasm");
    assert.equal(wasm.record!.engine.host, "worker");
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the playground is served cross-origin isolated");

    // The same run under Node.
    const node = await runTask({ task: "toy-sc", solver: "bome", steps, seed: 0, evalEvery: 5, set: { "task.n": "2", "task.random": "true" } });
    const dWasm = wasm.record!.final.distanceToOptimum;
    const dNode = node.record.final.distanceToOptimum;
    assert.ok(dNode < 0.1, `Node run converges: ${dNode}`);
    assert.ok(Math.abs(dWasm - dNode) <= 1e-6, `page (wasm) ${dWasm} vs Node ${dNode}`);
    assert.deepEqual(Object.keys(wasm.record!).sort(), Object.keys(node.record).sort());

    // Plots: the landscape with the path, and both metric charts.
    const drawn = await page.evaluate(() => (window as any).__drawn as Record<string, number>);
    assert.ok(drawn.landscape > 5 && drawn.step > 5 && drawn.seconds > 5, JSON.stringify(drawn));
    const inked = await page.evaluate(() => {
      const c = document.getElementById("plot-landscape") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n / (d.length / 4);
    });
    assert.ok(inked > 0.2, `landscape canvas mostly blank (${inked})`);

    // The record downloads as the JSON `bilevel run --json` writes.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#runs a")]);
    const saved = JSON.parse(fs.readFileSync(await download.path(), "utf8"));
    assert.deepEqual(saved, wasm.record);

    // webgpu: the same run, overlaid.
    await page.selectOption("#device", "webgpu");
    await page.click("#run");
    const gpu = await runAt(1);
    phase("webgpu run");
    assert.equal(gpu.status, "done", gpu.error);
    assert.equal(gpu.record!.engine.device, "webgpu");
    const dGpu = gpu.record!.final.distanceToOptimum;
    assert.ok(Math.abs(dGpu - dWasm) <= 1e-4, `webgpu ${dGpu} vs wasm ${dWasm}`);
    const upperDiff = Math.abs(gpu.record!.final.upper - wasm.record!.final.upper);
    assert.ok(upperDiff <= 1e-4, `upper: webgpu vs wasm differ by ${upperDiff}`);
    t.diagnostic(`toy-sc n=2 random=true bome ${steps} steps: distanceToOptimum node ${dNode}, wasm ${dWasm}, webgpu ${dGpu} (|webgpu - wasm| = ${Math.abs(dGpu - dWasm).toExponential(2)})`);
    assert.match(page.url(), /device=webgpu/, "the settings are in the URL");

    // The oracles' closed-form checks (src/browser/checks.ts) on each device, in float32.
    const checks = await page.evaluate(async () => {
      const out: Record<string, Record<string, number>> = {};
      for (const device of ["wasm", "webgpu"]) {
        const w = new Worker("worker.js", { type: "module" });
        out[device] = await new Promise((resolve, reject) => {
          w.onmessage = (e) => {
            if (e.data.type === "checked") resolve({ ...e.data.errors, [`on ${e.data.arrayDevice}`]: 0 });
            else if (e.data.type === "error") reject(new Error(e.data.message));
          };
          w.postMessage({ type: "check", device });
        });
        w.terminate();
      }
      return out;
    });
    phase("oracle checks");
    for (const [device, errs] of Object.entries(checks)) {
      assert.ok(`on ${device}` in errs, `the engine's arrays are not on ${device}: ${JSON.stringify(errs)}`);
      assert.ok(Object.keys(errs).length >= 10, JSON.stringify(errs));
      for (const [k, e] of Object.entries(errs)) assert.ok(e < 1e-4, `${device} ${k}: relative error ${e} against the closed form`);
    }
    t.diagnostic(`oracle checks, relative error vs closed form: ${JSON.stringify(checks, (_k, v) => (typeof v === "number" ? Number(v.toExponential(2)) : v))}`);

    fs.mkdirSync(path.join(root, "out"), { recursive: true });
    await page.screenshot({ path: path.join(root, "out", "playground.png"), fullPage: true });

    // Stop: a long run stops, and the page can run again.
    await page.selectOption("#device", "wasm");
    await page.fill("#steps", "1000000");
    await page.click("#run");
    await page.waitForFunction(() => (window as any).__playground.runs[2]?.history.length > 0, null, { timeout: 30_000 });
    await page.click("#stop");
    const stopped = await runAt(2);
    assert.equal(stopped.status, "stopped");
    assert.equal(await page.isEnabled("#run"), true);

    phase("stop");
    t.diagnostic(`timeline: ${phases.join(", ")}`);
    assert.deepEqual(problems, [], "console errors in the page");
  } finally {
    await ctx.close();
    await server.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
});

test("`bilevel playground --port 0` prints its 127.0.0.1 URL, serves the page cross-origin isolated and MNIST same-origin, nothing outside, and stops on SIGINT", async () => {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [path.join(root, "dist/src/cli/main.js"), "playground", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /^bilevel playground: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", (c) => reject(new Error(`exited ${c} before printing the URL: ${out} ${err}`)));
  });
  try {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>bilevel playground<\/title>/);
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.match((await fetch(`${url}worker.js`)).headers.get("content-type") ?? "", /javascript/);
    const labels = await fetch(`${url}data/mnist/t10k-labels-idx1-ubyte`);
    assert.equal(labels.status, 200);
    assert.equal((await labels.arrayBuffer()).byteLength, 8 + 10000);
    for (const p of ["data/mnist/../../package.json", "%2e%2e/package.json", "data/mnist/README.md", "nope.js"]) {
      assert.equal((await fetch(url + p)).status, 404, p);
    }
    assert.equal((await fetch(url, { method: "POST" })).status, 405);
  } finally {
    const code = await new Promise<number | null>((resolve) => {
      child.on("exit", (c) => resolve(c));
      child.kill("SIGINT");
    });
    assert.equal(code, 0, err);
  }
});
