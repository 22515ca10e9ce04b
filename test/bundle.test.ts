/**
 * The main entry is runtime-neutral: esbuild bundles `bilevel` (and `bilevel/jax`) for the browser
 * with no stubs, shims or externals, and the bundle runs where there is no `process`, `require` or
 * `node:` module (a bare V8 context with only web globals): it starts the engine and solves toy-sc
 * to the same distance as under Node.
 */
import "../src/node/host.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { runTask } from "../src/experiment.js";
import { readBlock } from "../scripts/readme.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A folder where `import "bilevel"` resolves to this checkout, as it would for a user of the package. */
function consumer(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-bundle-"));
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(root, path.join(dir, "node_modules", "bilevel"), "dir");
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function bundle(dir: string, source: string, format: "iife" | "esm") {
  const r = await build({
    stdin: { contents: source, resolveDir: dir, loader: "js" },
    bundle: true,
    platform: "browser",
    format,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return { text: r.outputFiles[0].text, inputs: Object.keys((r.metafile as Metafile).inputs), errors: r.errors, warnings: r.warnings };
}

test("esbuild bundles bilevel and bilevel/jax for the browser: no errors, no warnings, no Node module", async () => {
  const dir = consumer();
  for (const format of ["esm", "iife"] as const) {
    const b = await bundle(dir, `import * as b from "bilevel"; import * as j from "bilevel/jax"; globalThis.__b = b; globalThis.__j = j;`, format);
    assert.equal(b.errors.length, 0);
    assert.deepEqual(b.warnings.map((w) => w.text), []);
    assert.ok(b.inputs.some((f) => f.endsWith("dist/src/index.js")), "the browser build must resolve the core entry");
    const nodeOnly = b.inputs.filter((f) => f.startsWith("node:") || f.includes("dist/src/node/"));
    assert.deepEqual(nodeOnly, [], "Node-only modules in the browser bundle");
    assert.doesNotMatch(b.text, /\b(require|import)\s*\(?\s*["']node:/, "a node: import survived");
  }
});

test("the browser bundle runs without process/require/Buffer and matches Node on toy-sc (bome)", async () => {
  const dir = consumer();
  const b = await bundle(dir, `import * as b from "bilevel"; globalThis.__b = b;`, "iife");
  // Only web-platform globals: no process, require, Buffer, module or node: builtins.
  const ctx = vm.createContext({ console, setTimeout, clearTimeout, queueMicrotask, performance, TextEncoder, TextDecoder, URL, Blob, WebAssembly });
  vm.runInContext(b.text, ctx, { filename: "bilevel-browser-bundle.js" });
  assert.equal(vm.runInContext("typeof process + typeof require + typeof Buffer", ctx), "undefinedundefinedundefined");
  const out = JSON.parse(
    await vm.runInContext(
      `(async () => {
        const b = __b;
        await b.initEngine();
        const t = await b.runTask({ task: "toy-sc", solver: "bome", steps: 40, seed: 1 });
        return JSON.stringify({ engine: b.engineInfo(), final: t.record.final, recordDevice: t.record.engine.device });
      })()`,
      ctx,
    ),
  );
  assert.equal(out.engine.device, "wasm");
  assert.equal(out.recordDevice, "wasm");
  assert.equal(out.engine.threads, 1, "no Worker in this context: kernels run on the calling thread");
  assert.equal(out.engine.host, "unknown");
  const node = await runTask({ task: "toy-sc", solver: "bome", steps: 40, seed: 1 });
  const d = node.record.final.distanceToOptimum;
  assert.ok(Number.isFinite(d) && d < 1, `Node run: distanceToOptimum ${d}`);
  assert.ok(Math.abs(out.final.distanceToOptimum - d) <= 1e-6, `bundle ${out.final.distanceToOptimum} vs Node ${d}`);

  // The README's "In the browser" example, in the same context (no WebGPU here: it falls back to wasm).
  const block = /^```js\n([\s\S]*)\n```$/.exec(readBlock(fs.readFileSync(path.join(root, "README.md"), "utf8"), "browser").trim());
  assert.ok(block, "the README browser example is one ```js fence");
  assert.ok(block[1].split("\n").length <= 12, "the browser example stays short");
  const body = block[1].replace(/^import \{([^}]*)\} from "bilevel";$/m, "const {$1} = __b;");
  assert.ok(!/^import /m.test(body), "the example imports only from bilevel");
  const logs: string[] = [];
  ctx.console = { log: (...a: unknown[]) => logs.push(a.join(" ")) };
  await vm.runInContext(`(async () => {\n${body}\n})()`, ctx);
  const m = /^wasm: distanceToOptimum (\S+)$/.exec(logs[logs.length - 1] ?? "");
  assert.ok(m, `unexpected output: ${logs.slice(-2).join(" | ")}`);
  assert.ok(Number(m[1]) < 1e-2, `the example converges: ${m[1]}`);
  assert.ok(logs.length > 5, "progress lines were printed");
});

test("Vite builds a page that imports bilevel and bilevel/jax: no Node module and nothing externalized", async () => {
  const { build: viteBuild } = await import("vite");
  const dir = consumer();
  fs.writeFileSync(path.join(dir, "index.html"), `<!doctype html><script type="module" src="./main.js"></script>\n`);
  fs.writeFileSync(
    path.join(dir, "main.js"),
    `import * as b from "bilevel"; import * as j from "bilevel/jax"; globalThis.__b = b; globalThis.__j = j;\n`,
  );
  const warnings: string[] = [];
  const out = (await viteBuild({
    root: dir,
    logLevel: "silent",
    configFile: false,
    build: { write: false, minify: false, rollupOptions: { onwarn: (w) => void warnings.push(String(w.message)) } },
    customLogger: { info() {}, warn: (m: string) => void warnings.push(m), warnOnce: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m), clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
  })) as { output: { type: string; fileName: string; code?: string; moduleIds?: string[] }[] } | { output: { type: string; fileName: string; code?: string; moduleIds?: string[] }[] }[];
  const outputs = (Array.isArray(out) ? out : [out]).flatMap((o) => o.output);
  const chunks = outputs.filter((o) => o.type === "chunk");
  assert.ok(chunks.length >= 1, "Vite wrote no JavaScript chunk");
  const ids = chunks.flatMap((c) => c.moduleIds ?? []);
  assert.ok(ids.some((id) => id.endsWith("dist/src/index.js")), "the browser build must resolve the core entry");
  assert.deepEqual(ids.filter((id) => id.startsWith("node:") || id.includes("dist/src/node/") || id.includes("__vite-browser-external")), [], "Node-only modules in the Vite build");
  assert.deepEqual(warnings.filter((w) => /externalized for browser compatibility|node:/.test(w)), [], "Vite externalized a Node module");
  for (const c of chunks) assert.doesNotMatch(c.code ?? "", /\b(require|import)\s*\(?\s*["']node:/, `a node: import survived in ${c.fileName}`);
});
