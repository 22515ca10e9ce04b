/**
 * `npm run readme`: regenerate the solver and task tables in README.md from the registries (the blocks
 * between `<!-- solvers:start -->` / `<!-- solvers:end -->` and `<!-- tasks:start -->` / `<!-- tasks:end -->`).
 * test/readme.test.ts checks that the README matches what this would write.
 */
import { optimizerOptions } from "../src/optim/index.js";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Options } from "../src/problem.js";
import { solvers } from "../src/solvers/registry.js";
import { tasks } from "../src/tasks/index.js";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
const opts = (o: Options) =>
  Object.entries(o)
    .map(([k, v]) => `\`${k}=${v === "" ? '""' : v}\``)
    .join(" ") || "—";

/** The markdown table of every registered solver. */
export function solverTable(): string {
  const rows = [
    "| solver | reference | what it does | 2nd order | non-singleton LL | LL constraints | stochastic | preference RL | defaults |",
    "|---|---|---|:-:|:-:|:-:|:-:|:-:|---|",
  ];
  const yes = (b: boolean) => (b ? "yes" : "—");
  for (const s of solvers) {
    const c = s.capabilities;
    rows.push(
      `| \`${s.name}\` | ${cell(s.reference)} | ${cell(s.summary)} | ${yes(c.secondOrder)} | ${yes(c.nonSingleton)} | ${yes(c.constraints)} | ${yes(c.stochastic)} | ${yes(c.preference === true)} | ${opts(ownOptions(s.defaults))} |`,
    );
  }
  return rows.join("\n");
}

/** A solver's own defaults, without the optimizer group every kit solver shares (described under the table). */
function ownOptions(d: Options): Options {
  const shared = optimizerOptions.defaults as Options;
  const own = Object.fromEntries(Object.entries(d).filter(([k, v]) => !(k in shared && shared[k] === v)));
  return own;
}

/** The markdown table of every registered task. */
export function taskTable(): string {
  const rows = ["| task | description | options | default steps |", "|---|---|---|--:|"];
  for (const t of tasks) rows.push(`| \`${t.name}\` | ${cell(t.description)} | ${opts(t.defaults)} | ${t.steps} |`);
  return rows.join("\n");
}

/** Replace the block between `<!-- name:start -->` and `<!-- name:end -->` in `text`. */
export function replaceBlock(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md: markers ${start} ... ${end} not found`);
  return text.slice(0, i + start.length) + "\n" + body + "\n" + text.slice(j);
}

/** The block between the markers (without the surrounding newlines). */
export function readBlock(text: string, name: string): string {
  const start = `<!-- ${name}:start -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(`<!-- ${name}:end -->`);
  if (i < 0 || j < i) throw new Error(`README.md: markers for '${name}' not found`);
  return text.slice(i + start.length, j).replace(/^\n/, "").replace(/\n$/, "");
}

/** README text with both tables regenerated. */
export function renderReadme(text: string): string {
  return replaceBlock(replaceBlock(text, "solvers", solverTable()), "tasks", taskTable());
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const file = path.join(root, "README.md");
  const before = fs.readFileSync(file, "utf8");
  const after = renderReadme(before);
  if (after !== before) fs.writeFileSync(file, after);
  console.log(`README.md: ${after === before ? "tables already up to date" : "tables regenerated"} (${solvers.length} solvers, ${tasks.length} tasks)`);
}
