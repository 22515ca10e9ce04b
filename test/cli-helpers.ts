/** Running the built `bilevel` binary from tests, and the one-line exit-2 contract for bad input. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "dist/src/cli/main.js");

/** Run `node dist/src/cli/main.js ...args` and collect its exit code and output. */
export function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, BILEVEL_DEBUG: "" }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Bad input: exit code 2, exactly one stderr line matching `names`, no stack frame, nothing on stdout. */
export async function assertOneLineInputError(args: string[], names: RegExp): Promise<void> {
  const r = await cli(args);
  assert.equal(r.code, 2, `exit code for ${args.join(" ")}: ${r.code}\n${r.stderr}`);
  const lines = r.stderr.split("\n").filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0], names);
  assert.ok(!r.stderr.includes("    at "), "stack frame in stderr");
  assert.equal(r.stdout, "");
}
