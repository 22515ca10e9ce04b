/** Resolving hyperparameters: user overrides over defaults, with one-line errors for bad keys/values. */
import { BilevelInputError } from "./errors.js";
import type { OptionValue, Options } from "./problem.js";

/** Parse a string (from `--set key=value`) to the type of the default value. */
export function parseOptionValue(key: string, raw: string, def: OptionValue): OptionValue {
  if (typeof def === "number") {
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v)) throw new BilevelInputError(`--set ${key}: expected a number, got '${raw}'`);
    return v;
  }
  if (typeof def === "boolean") {
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new BilevelInputError(`--set ${key}: expected true or false, got '${raw}'`);
  }
  return raw;
}

/** Check one override value against its default's type. */
function checkValue(where: string, key: string, v: unknown, def: OptionValue): OptionValue {
  if (typeof v !== typeof def) throw new BilevelInputError(`${where}.${key}: expected a ${typeof def}, got ${JSON.stringify(v)}`);
  if (typeof v === "number" && !Number.isFinite(v)) throw new BilevelInputError(`${where}.${key}: expected a finite number, got ${v}`);
  return v as OptionValue;
}

/** defaults <- overrides, rejecting unknown keys and ill-typed values. `where` names the owner in errors. */
export function resolveOptions<O extends Options>(where: string, defaults: O, overrides: Partial<Options> = {}): O {
  const out: Options = { ...defaults };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in defaults)) {
      throw new BilevelInputError(`${where}: unknown option '${k}' (known: ${Object.keys(defaults).join(", ") || "none"})`);
    }
    out[k] = checkValue(where, k, v, defaults[k]);
  }
  return out as O;
}
