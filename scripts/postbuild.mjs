#!/usr/bin/env node
// After `tsc`: put the shipped engine beside the compiled library (dist/vendor/jax), make the CLI
// executable, and build the CommonJS entry points. The CommonJS build is one bundle (dist/cjs/bundle.cjs)
// holding the library, the engine, bilevel/quant and bilevel/node, so `require("bilevel")`,
// `require("bilevel/jax")`, `require("bilevel/quant")` and `require("bilevel/node")` share one engine
// instance; npm dependencies stay external.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");

// 1. The engine.
const vendorOut = path.join(dist, "vendor", "jax");
fs.rmSync(vendorOut, { recursive: true, force: true });
fs.cpSync(path.join(root, "vendor", "jax"), vendorOut, { recursive: true });

// 2. The CLI.
fs.chmodSync(path.join(dist, "src", "cli", "main.js"), 0o755);

// 3. CommonJS.
const cjs = path.join(dist, "cjs");
fs.rmSync(cjs, { recursive: true, force: true });
fs.mkdirSync(cjs, { recursive: true });
const entry = path.join(cjs, "entry.mjs");
fs.writeFileSync(
  entry,
  [
    // The CommonJS build is Node's: the Node set-up runs first, before the engine loads.
    `import "../src/node/host.js";`,
    `export * as root from "../src/index.js";`,
    `export * as jax from "../src/jax.js";`,
    `export * as kit from "../src/kit/index.js";`,
    `export * as quant from "../src/quant/index.js";`,
    `export * as rl from "../src/rl/index.js";`,
    `export * as node from "../src/node/index.js";`,
  ].join("\n") + "\n",
);
await build({
  entryPoints: [entry],
  outfile: path.join(cjs, "bundle.cjs"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  packages: "external",
  // import.meta.url (used to find optional data packages) becomes this file's URL.
  banner: { js: `const __bilevel_import_meta_url = require("node:url").pathToFileURL(__filename).href;` },
  define: { "import.meta.url": "__bilevel_import_meta_url" },
  logLevel: "warning",
  legalComments: "inline",
});
fs.rmSync(entry);
for (const [name, key] of [["index", "root"], ["jax", "jax"], ["kit", "kit"], ["quant", "quant"], ["rl", "rl"], ["node", "node"]]) {
  fs.writeFileSync(path.join(cjs, `${name}.cjs`), `"use strict";\nmodule.exports = require("./bundle.cjs").${key};\n`);
}

// 4. The playground: a static page and its run worker, bundled for the browser from the compiled core
// (the same runtime-neutral entry users bundle), served by `bilevel playground`.
const pg = path.join(dist, "playground");
fs.rmSync(pg, { recursive: true, force: true });
fs.mkdirSync(pg, { recursive: true });
for (const f of ["index.html", "style.css"]) fs.copyFileSync(path.join(root, "playground", f), path.join(pg, f));
await build({
  entryPoints: { main: path.join(dist, "src", "browser", "main.js"), worker: path.join(dist, "src", "browser", "worker.js") },
  outdir: pg,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  logLevel: "warning",
  legalComments: "inline",
});
