/** README stays true: the example blocks are examples/*.ts and run; tables match the registry; CI runs the README's test command. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchBlocks, readBlock, scalingBlock, solverTable, taskTable, vsTorchBlock } from "../scripts/readme.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

/** Each README example block and the file it must equal (the block is one ```ts fence). */
const examples = [
  { block: "example", file: "examples/custom-problem.ts", maxLines: 20 },
  { block: "implicit-example", file: "examples/implicit-ridge.ts", maxLines: 25 },
];

for (const ex of examples) {
  test(`the README block '${ex.block}' is ${ex.file}, verbatim`, () => {
    const block = readBlock(readme, ex.block);
    const m = /^```ts\n([\s\S]*)\n```$/.exec(block.trim());
    assert.ok(m, `${ex.block} block is one \`\`\`ts fence`);
    const file = fs.readFileSync(path.join(root, ex.file), "utf8");
    assert.equal(m[1] + "\n", file);
    assert.ok(file.split("\n").length <= ex.maxLines, "the example stays short");
  });
}

/** Run a compiled example and return its stdout. */
const runExample = (file: string): Promise<string> =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [path.join(root, "dist", file.replace(/\.ts$/, ".js"))], { cwd: root, timeout: 60_000 }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
    ),
  );

test("the example reaches its known optimum x = y = 1, F = 1", async () => {
  const stdout = await runExample("examples/custom-problem.ts");
  const m = /^completed: x = (\S+), y = (\S+), F = (\S+)$/m.exec(stdout);
  assert.ok(m, `unexpected output: ${stdout}`);
  const [x, y, F] = [Number(m[1]), Number(m[2]), Number(m[3])];
  assert.ok(Math.abs(x - 1) < 1e-3, `x = ${x}`);
  assert.ok(Math.abs(y - 1) < 1e-3, `y = ${y}`);
  assert.ok(Math.abs(F - 1) < 1e-3, `F = ${F}`);
});

test("the implicit-differentiation example's gradient equals the ridge closed form", async () => {
  const stdout = await runExample("examples/implicit-ridge.ts");
  const m = /implicit (\S+), closed form (\S+)$/m.exec(stdout);
  assert.ok(m, `unexpected output: ${stdout}`);
  const [implicit, exact] = [Number(m[1]), Number(m[2])];
  assert.ok(Number.isFinite(exact) && Math.abs(exact) > 1e-3, `closed form ${exact}`);
  assert.ok(Math.abs(implicit - exact) <= 1e-8 * Math.abs(exact), `implicit ${implicit} vs closed form ${exact}`);
});

test("the README solver and task tables equal the registry's (run `npm run readme`)", () => {
  assert.equal(readBlock(readme, "solvers"), solverTable(), "solver table is stale: run `npm run readme`");
  assert.equal(readBlock(readme, "tasks"), taskTable(), "task table is stale: run `npm run readme`");
});

test("the README's speed blocks are generated from bench/results (run `npm run readme`)", () => {
  for (const [name, body] of Object.entries(benchBlocks(root))) assert.equal(readBlock(readme, name), body, `${name} block is stale: run \`npm run readme\``);
});

test("the vs-torch block carries the date, machine, spread and ratio of the result file", () => {
  const r = JSON.parse(fs.readFileSync(path.join(root, "bench/results/vs-torch.json"), "utf8"));
  const b = vsTorchBlock(r);
  assert.ok(b.includes(r.date.slice(0, 10)) && b.includes(String(r.machine.cpuModel)), b);
  for (const [k, v] of Object.entries(r.solvers as Record<string, { bilevelMsPerStep: { median: number; min: number; max: number }; ratio: { median: number } }>)) {
    const m = v.bilevelMsPerStep;
    const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
    assert.ok(b.includes(`${f(m.median)} (${f(m.min)}-${f(m.max)})`), `${k}: bilevel median and spread`);
    assert.ok(b.includes(v.ratio.median.toFixed(2)), `${k}: ratio`);
  }
});

test("the scaling block lists every variant and implementation, flags load and names points not measured", () => {
  const pt = (impl: string, variant: string, n: number, T: number, extra: Record<string, unknown> = {}) => ({ impl, variant, n, T, status: "ok", msPerStep: { median: 10, min: 9, max: 12 }, peakRssMiB: 300, ...extra });
  const b = scalingBlock({
    date: "2026-12-02T05:00:00.000Z",
    machine: { cpuModel: "CPU", cpus: 2, memoryGiB: 24, node: "v20", jax: "0.1.25", enginePatches: [], loadAverage: [3, 2, 1] },
    torch: "1.13",
    loaded: true,
    settings: { warmup: 3, timed: 5, n0: 5000, T0: 10, ns: [5000], Ts: [10, 50], budgetGiB: 24, variants: ["itd"], impls: ["bilevel", "torch"] },
    points: [pt("bilevel", "itd", 5000, 10, { loaded: true }), pt("torch", "itd", 5000, 10), { impl: "torch", variant: "itd", n: 5000, T: 50, status: "failed", reason: "exited 1: out of memory" }],
    slopes: { "itd (bilevel)": { rssMiBPerInnerStep: { slope: 1.234, r2: 1, shape: "linear" }, largestMeasured: { T: 50, n: 5000 }, largestExtrapolated: { T: 19000, n: null } } },
  });
  assert.match(b, /\| itd \(bilevel\) \| 10\.0 \(9\.0-12\.0\) \| — \| 1\.23 \(linear\) \|/);
  assert.match(b, /\| itd \(torch\) \|/);
  assert.match(b, /19,000 \/ not memory-bound/);
  assert.match(b, /1 of 3 points were measured with the load average above the core count/);
  assert.match(b, /Not measured: itd \(torch\) n = 5000, T = 50: failed, exited 1: out of memory\./);
});

test(".ci/run runs npm ci and then exactly the README's test command", () => {
  const fences = [...readme.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1].trim());
  const testCmd = "bash scripts/install-system-deps.sh && npm test";
  assert.equal(fences[0], "npm ci && npx bilevel run toy-sc --solver bome");
  assert.equal(fences[1], testCmd);
  const ci = fs.readFileSync(path.join(root, ".ci/run"), "utf8");
  const cmds = ci.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#") && !l.startsWith("set ") && !l.startsWith("cd "));
  assert.deepEqual(cmds, ["npm ci", testCmd]);
  assert.match(ci, /set -euo pipefail/);
});
