/**
 * `bilevel verify <task> --solver S [--steps K] [--seed S] [--set key=value ...] [--directions N]
 * [--dtype float32|float64] [--start-at-solution] [--eps E] [--json FILE]`: run K outer steps (default 0),
 * then compare the solver's hypergradient estimate with a float64 reference (the task's closed form, else
 * central finite differences with the lower level solved to high accuracy; src/verify.ts). Prints the relative error, the cosine and the cost of each side; exit 0
 * when it ran (the numbers are the verdict), 2 on bad input (including a solver without a hypergradient).
 */
import { Option, type Command } from "commander";
import type { FloatDtype } from "../engine/index.js";
import { probeWritable, writeFileAtomic } from "../node/fsio.js";
import { verifyHypergradient } from "../verify.js";
import { BilevelInputError } from "../errors.js";
import { intArg } from "./args.js";

interface VerifyFlags {
  solver: string;
  steps?: number;
  seed?: number;
  set?: string[];
  directions?: number;
  dtype?: FloatDtype;
  startAtSolution?: boolean;
  eps?: string;
  json?: string;
  quiet?: boolean;
}

export function addVerifyCommand(program: Command, done: (code: number) => void, parseSets: (items: string[]) => Record<string, string>): void {
  program
    .command("verify")
    .description("compare a solver's hypergradient estimate with a float64 reference (closed form or finite differences)")
    .argument("<task>", "task name (see `bilevel list`)")
    .requiredOption("--solver <name>", "solver name (one that estimates a hypergradient: itd, aid-cg, aid-neumann)")
    .option("--steps <K>", "outer steps before the check (default 0)", intArg("steps", 0))
    .option("--seed <S>", "seed (default 0)", intArg("seed", 0))
    .option("--set <key=value...>", "solver or task option (as in `bilevel run`)")
    .option("--directions <N>", "random directions for finite differences when x has more than 16 entries (default 3)", intArg("directions", 0))
    .addOption(new Option("--dtype <dtype>", "dtype the solver runs in (default float64; the reference is float64)").choices(["float32", "float64"]))
    .option("--start-at-solution", "start the solver at (x0, y*(x0)), the lower level solved to high accuracy")
    .option("--eps <E>", "finite-difference step (default 1e-3 max(1, max |x_i|))")
    .option("--json <FILE>", "write { task, solver, step, relError, cosine, reference, seconds } to FILE")
    .option("--quiet", "no output on stdout")
    .action(async (task: string, f: VerifyFlags) => {
      if (f.json) probeWritable(f.json, "--json");
      const eps = f.eps === undefined ? undefined : Number(f.eps);
      if (eps !== undefined && !(eps > 0 && Number.isFinite(eps))) throw new BilevelInputError(`--eps: expected a positive number, got '${f.eps}'`);
      const r = await verifyHypergradient({
        task,
        solver: f.solver,
        steps: f.steps,
        seed: f.seed,
        set: parseSets(f.set ?? []),
        directions: f.directions,
        dtype: f.dtype,
        startAtSolution: f.startAtSolution,
        eps,
      });
      if (!f.quiet) {
        const what = r.reference === "closed-form" ? "closed form" : `central finite differences along ${r.directions === r.size ? "every coordinate" : `${r.directions} directions`}`;
        process.stdout.write(
          `${r.solver} on ${r.task} at step ${r.step}${r.dtype === "float32" ? " (solver in float32)" : ""} (x: ${r.size} entries), reference: ${what}\n` +
            `  relative error ${r.relError.toExponential(3)}   cosine ${r.cosine.toFixed(6)}\n` +
            `  estimate ${r.estimateSeconds.toFixed(2)} s, reference ${r.referenceSeconds.toFixed(2)} s, total ${r.seconds.toFixed(2)} s\n`,
        );
      }
      if (f.json) {
        const rec = { task: r.task, solver: r.solver, step: r.step, relError: r.relError, cosine: r.cosine, reference: r.reference, seconds: r.seconds, estimateSeconds: r.estimateSeconds, referenceSeconds: r.referenceSeconds, size: r.size, directions: r.directions, dtype: r.dtype, lowerResidual: r.lowerResidual };
        writeFileAtomic(f.json, JSON.stringify(rec, null, 2) + "\n");
      }
      done(0);
    });
}
