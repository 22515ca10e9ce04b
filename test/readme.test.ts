/** README stays true: the example blocks are examples/*.ts and run; tables match the registry; CI runs the README's test command. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readBlock, solverTable, taskTable } from "../scripts/readme.js";

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
