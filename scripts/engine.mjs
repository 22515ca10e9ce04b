#!/usr/bin/env node
// The engine that ships with bilevel: the pinned @jax-js/jax 0.1.25 files (checked by SHA-256) with every
// patch in patches/jax/*.patch applied in name order, written to vendor/jax/. Run at build time only
// (`npm run build`); the user's install runs nothing. Plain Node, no dependencies.
//
//   node scripts/engine.mjs build          vendor/jax from node_modules/@jax-js/jax + patches (refuses to
//                                          overwrite hand edits in vendor/jax that no patch holds)
//   node scripts/engine.mjs diff NAME      write the hand edits in vendor/jax as patches/jax/NNN-NAME.patch
//   node scripts/engine.mjs check          exit 1 unless vendor/jax is exactly pristine + patches
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const patchDir = path.join(root, "patches", "jax");
const outDir = path.join(root, "vendor", "jax");
const manifestName = "MANIFEST.json";

/** The files bilevel vendors from the package, with their SHA-256 in the published 0.1.25 tarball. */
const PRISTINE = {
  "dist/index.js": "ebe0cf7d20d4c64a490a15aee0083f950cd7abb38900b72566f0393e2b14eb52",
  "dist/backend-CnjgxpXq.js": "6f515399eb135f3d97c891494b3b34a67db1445fe75705bf1cc94b821e3a5386",
  "dist/rolldown-runtime-D7D4PA-g.js": "16a983b80655888fa521be8504570aef2fc3713d1a723ff439beddac3a2428c3",
  "dist/webgpu-D5edCWOx.js": "36aed0121433e0535cb23e63bf18f929d57ab10271e9ce606e5f336ccec3de09",
  "dist/webgl-d1MbwhuX.js": "0a442c097453939395cdb695bc30f9243c8f042a0e125c3989b0cf9c28d32347",
  "dist/index.d.ts": "b71061104e1f0abb7d36ed34bb30da41d4ab687929c1125094039e95a7351f10",
  LICENSE: "b9de91fdc4f72bb4e49ad8b57306163bea46f6da7293c08f3b28a922727a952c",
};
const VERSION = "0.1.25";

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
const fail = (msg) => {
  console.error(`engine: ${msg}`);
  process.exit(1);
};

function pristineDir() {
  const dir = path.join(root, "node_modules", "@jax-js", "jax");
  const pkgFile = path.join(dir, "package.json");
  if (!fs.existsSync(pkgFile)) fail(`node_modules/@jax-js/jax is missing (run npm ci)`);
  const version = JSON.parse(fs.readFileSync(pkgFile, "utf8")).version;
  if (version !== VERSION) fail(`node_modules/@jax-js/jax is ${version}, expected ${VERSION} (run npm ci)`);
  for (const [rel, want] of Object.entries(PRISTINE)) {
    const got = sha256(fs.readFileSync(path.join(dir, rel)));
    if (got !== want) fail(`node_modules/@jax-js/jax/${rel} is not the published ${VERSION} file (run npm ci; patches are applied to vendor/jax, never to node_modules)`);
  }
  return dir;
}

/** Parse a unified diff (git or patch-package style) into [{ file, hunks: [{ oldStart, lines }] }]. */
function parsePatch(text, name) {
  const files = [];
  let cur = null;
  let hunk = null;
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) {
    if (line.startsWith("diff --git ") || line.startsWith("index ") || line.startsWith("--- ")) {
      hunk = null;
      continue;
    }
    if (line.startsWith("+++ ")) {
      const p = line.slice(4).trim().replace(/^b\//, "").replace(/^node_modules\/@jax-js\/jax\//, "");
      if (!(p in PRISTINE)) fail(`${name}: patches ${p}, which is not a vendored file`);
      cur = { file: p, hunks: [] };
      files.push(cur);
      continue;
    }
    const m = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/.exec(line);
    if (m) {
      if (!cur) fail(`${name}: hunk before any file header`);
      hunk = { oldStart: Number(m[1]), lines: [] };
      cur.hunks.push(hunk);
      continue;
    }
    if (line.startsWith("\\")) continue; // "\ No newline at end of file"
    if (hunk && (line[0] === " " || line[0] === "+" || line[0] === "-")) hunk.lines.push(line);
    else if (hunk && line === "") hunk.lines.push(" ");
    else if (line.trim() !== "") fail(`${name}: cannot read line '${line.slice(0, 60)}'`);
  }
  return files;
}

/** Apply hunks to `src` (a string); every hunk's old text must match exactly, near its stated line. */
function applyHunks(src, hunks, where) {
  const lines = src.split("\n");
  let offset = 0;
  for (const h of hunks) {
    const oldL = h.lines.filter((l) => l[0] !== "+").map((l) => l.slice(1));
    const newL = h.lines.filter((l) => l[0] !== "-").map((l) => l.slice(1));
    const want = h.oldStart - 1 + offset;
    const matchesAt = (i) => i >= 0 && i + oldL.length <= lines.length && oldL.every((l, j) => lines[i + j] === l);
    let at = -1;
    for (let d = 0; d <= lines.length && at < 0; d++) {
      if (matchesAt(want - d)) at = want - d;
      else if (matchesAt(want + d)) at = want + d;
    }
    if (at < 0) fail(`${where}: hunk at line ${h.oldStart} does not apply (its context is not in the file)`);
    lines.splice(at, oldL.length, ...newL);
    offset = at - (h.oldStart - 1) + newL.length - oldL.length;
  }
  return lines.join("\n");
}

const patchFiles = () =>
  fs.existsSync(patchDir) ? fs.readdirSync(patchDir).filter((f) => f.endsWith(".patch")).sort() : [];

/** pristine files + every patch, as { rel: Buffer }. */
function patchedFiles() {
  const dir = pristineDir();
  const files = {};
  for (const rel of Object.keys(PRISTINE)) files[rel] = fs.readFileSync(path.join(dir, rel), "utf8");
  for (const name of patchFiles()) {
    for (const f of parsePatch(fs.readFileSync(path.join(patchDir, name), "utf8"), name)) {
      files[f.file] = applyHunks(files[f.file], f.hunks, `${name} (${f.file})`);
    }
  }
  return files;
}

function writeTree(dir, files) {
  fs.rmSync(dir, { recursive: true, force: true });
  const manifest = { package: "@jax-js/jax", version: VERSION, patches: patchFiles(), files: {} };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
    manifest.files[rel] = sha256(Buffer.from(text));
  }
  fs.writeFileSync(path.join(dir, manifestName), JSON.stringify(manifest, null, 2) + "\n");
  writeInfo(dir, manifest);
  return manifest;
}

/** What engineInfo() reports: the package, its version and the patches it carries. */
function writeInfo(dir, manifest) {
  const info = { package: manifest.package, version: manifest.version, patches: manifest.patches.map((f) => f.replace(/\.patch$/, "")) };
  fs.writeFileSync(path.join(dir, "dist", "engine-info.js"), `export const ENGINE = ${JSON.stringify(info)};\n`);
  fs.writeFileSync(
    path.join(dir, "dist", "engine-info.d.ts"),
    "export declare const ENGINE: { package: string; version: string; patches: string[] };\n",
  );
}

/** Files in vendor/jax that differ from what the last build wrote there (hand edits). */
function handEdits() {
  const mf = path.join(outDir, manifestName);
  if (!fs.existsSync(mf)) return [];
  const manifest = JSON.parse(fs.readFileSync(mf, "utf8"));
  return Object.entries(manifest.files)
    .filter(([rel, h]) => !fs.existsSync(path.join(outDir, rel)) || sha256(fs.readFileSync(path.join(outDir, rel))) !== h)
    .map(([rel]) => rel);
}

const cmd = process.argv[2] ?? "build";
if (cmd === "build") {
  const edits = handEdits();
  if (edits.length && !process.argv.includes("--force")) {
    fail(`vendor/jax has edits no patch holds (${edits.join(", ")}): save them with 'node scripts/engine.mjs diff NAME' or rebuild with --force to drop them`);
  }
  const files = patchedFiles();
  const want = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha256(Buffer.from(v))]));
  const mf = path.join(outDir, manifestName);
  const old = fs.existsSync(mf) ? JSON.parse(fs.readFileSync(mf, "utf8")) : null;
  if (old && fs.existsSync(path.join(outDir, "dist", "engine-info.js")) && JSON.stringify(old.files) === JSON.stringify(want) && JSON.stringify(old.patches) === JSON.stringify(patchFiles())) {
    process.exit(0); // up to date
  }
  const m = writeTree(outDir, files);
  console.log(`engine: vendor/jax = @jax-js/jax ${VERSION} + ${m.patches.length} patch file(s)`);
} else if (cmd === "check") {
  const files = patchedFiles();
  const bad = Object.entries(files).filter(([rel, text]) => {
    const p = path.join(outDir, rel);
    return !fs.existsSync(p) || fs.readFileSync(p, "utf8") !== text;
  });
  if (bad.length) fail(`vendor/jax differs from pristine + patches in ${bad.map(([r]) => r).join(", ")}`);
  console.log("engine: vendor/jax is pristine + patches");
} else if (cmd === "diff") {
  const name = process.argv[3];
  if (!name || !/^[a-z0-9-]+$/.test(name)) fail("usage: node scripts/engine.mjs diff NAME (lowercase letters, digits, dashes)");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-engine-"));
  try {
    const base = path.join(tmp, "a");
    writeTree(base, patchedFiles());
    let out = "";
    for (const rel of Object.keys(PRISTINE)) {
      try {
        execFileSync("git", ["diff", "--no-index", "--no-color", "-U3", path.join(base, rel), path.join(outDir, rel)], { encoding: "utf8" });
      } catch (e) {
        if (e.status !== 1) throw e;
        out += e.stdout
          .replaceAll(`a${path.join(base, rel)}`, `a/${rel}`)
          .replaceAll(`b${path.join(outDir, rel)}`, `b/${rel}`);
      }
    }
    if (!out) fail("vendor/jax has no edits beyond the existing patches");
    const n = patchFiles().map((f) => Number(f.slice(0, 3))).filter(Number.isFinite);
    const next = String((Math.max(0, ...n) + 10) - ((Math.max(0, ...n) + 10) % 10)).padStart(3, "0");
    const file = path.join(patchDir, `${next}-${name}.patch`);
    fs.writeFileSync(file, out);
    const m = JSON.parse(fs.readFileSync(path.join(outDir, manifestName), "utf8"));
    for (const rel of Object.keys(m.files)) m.files[rel] = sha256(fs.readFileSync(path.join(outDir, rel)));
    m.patches = patchFiles();
    fs.writeFileSync(path.join(outDir, manifestName), JSON.stringify(m, null, 2) + "\n");
    writeInfo(outDir, m); // engineInfo() lists the new patch without another build
    console.log(`engine: wrote ${path.relative(root, file)}; describe it in patches/README.md`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
} else {
  fail(`unknown command '${cmd}' (build, check, diff NAME)`);
}
