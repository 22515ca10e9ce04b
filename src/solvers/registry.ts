/** Every registered solver, by name. The CLI, benchmarks, README table and tests enumerate this. */
import { BilevelInputError } from "../errors.js";
import type { Options, SolverSpec } from "../problem.js";
import { aidCg, aidNeumann } from "./aid.js";
import { bamm } from "./bamm.js";
import { bda } from "./bda.js";
import { bome } from "./bome.js";
import { itd } from "./itd.js";
import { lvhba } from "./lvhba.js";
import { penalty } from "./penalty.js";
import { soba } from "./soba.js";
import { stocbio } from "./stocbio.js";
import { f2sa } from "./f2sa.js";
import { borep } from "./borep.js";
import { fo } from "./fo.js";
import { ufo } from "./ufo.js";
import { bvfsm } from "./bvfsm.js";
import { aparl } from "./aparl.js";
import { pebble } from "./pebble.js";

/** The registered solvers by name. */
const registered = {
  itd,
  "aid-cg": aidCg,
  "aid-neumann": aidNeumann,
  bome,
  penalty,
  bamm,
  bda,
  soba,
  stocbio,
  f2sa,
  borep,
  fo,
  ufo,
  lvhba,
  bvfsm,
  aparl,
  pebble,
  // (new solvers are added here)
};

/** A registered solver's name. */
export type SolverName = keyof typeof registered;
/** The options of the solver called `N` (its own and, for kit solvers, the `optimizer` group). */
export type SolverOptionsOf<N extends SolverName> = (typeof registered)[N]["defaults"];

export const solvers: SolverSpec<any>[] = Object.values(registered) as SolverSpec<any>[];

/** Look a solver up by name; a one-line error lists the known names. */
export function getSolver(name: string): SolverSpec<Options> {
  const s = solvers.find((v) => v.name === name);
  if (!s) throw new BilevelInputError(`solver: unknown solver '${name}' (known: ${solvers.map((v) => v.name).join(", ")})`);
  return s;
}
