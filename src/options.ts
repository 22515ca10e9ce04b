/**
 * Resolving hyperparameters: user overrides over defaults, checked against the option specs of a solver
 * or task (type, integer, range, choices), with one-line errors naming the field. The one place where
 * option values, seeds and step counts are validated, for the library and the CLI alike.
 */
import { BilevelInputError } from "./errors.js";
import type { OptionCheck, OptionSpecs, OptionValue, Options } from "./problem.js";

/** Seeds are unsigned 32-bit integers (the PRNGs use 32-bit state; larger values would wrap). */
export const SEED_MAX = 2 ** 32 - 1;

/**
 * Cap of an inner loop that a solver unrolls into its compiled step (T, Neumann terms, ...): every
 * iteration adds its operations to one jit program, so thousands of them take gigabytes and minutes to
 * compile, and a compile cannot be interrupted by a time limit.
 */
export const UNROLL_MAX = 5000;
/** An inner-loop count unrolled into the compiled step: an integer in [min, UNROLL_MAX]. */
export const unrolled = (min = 1, max: number = UNROLL_MAX): OptionCheck => ({ kind: "int", min, max, why: "unrolled into the compiled step" });

/** An integer option in [min, max]; `max` may name another option of the same owner (`int(0, "T")`). */
export const int = (min: number | string = -Infinity, max: number | string = Infinity, why?: string): OptionCheck => ({ kind: "int", min, max, why });
/** A finite number in [min, max]. */
export const num = (min: number | string = -Infinity, max: number | string = Infinity, open: { minOpen?: boolean; maxOpen?: boolean } = {}): OptionCheck => ({ kind: "num", min, max, ...open });
/** A finite number > 0. */
export const positive = (): OptionCheck => ({ kind: "num", min: 0, minOpen: true });
/** A number in [0, 1) (momenta, averaging weights) or with other openness via `num`. */
export const fraction = (maxOpen = true): OptionCheck => ({ kind: "num", min: 0, max: 1, maxOpen });
/** One of the given strings. */
export const choice = (...choices: string[]): OptionCheck => ({ kind: "choice", choices });

/** A value as the user wrote it: strings quoted, so `"10"` and `10` are told apart in messages. */
export const shown = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? typeof v : s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
};

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Throw a one-line `BilevelInputError` unless `v` is a safe integer in [min, max]. `field` names it
 * (e.g. `steps`, `--seed`, `solver bome.T`).
 */
export function expectInt(field: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new BilevelInputError(`${field}: expected ${intRange(min, max)}, got ${shown(v)}`);
  }
  return v;
}

/** A seed: an integer in [0, 2^32). */
export const expectSeed = (field: string, v: unknown): number => expectInt(field, v, 0, SEED_MAX);

/** Throw unless `v` is a finite number > 0 (a time limit, a step size). */
export function expectPositive(field: string, v: unknown, unit = ""): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new BilevelInputError(`${field}: expected a positive number${unit}, got ${shown(v)}`);
  return v;
}

function intRange(min: number, max: number): string {
  if (max !== Infinity && min !== -Infinity) return `an integer from ${min} to ${max}`;
  if (min === 0) return "a non-negative integer";
  if (min === 1) return "a positive integer";
  if (min !== -Infinity) return `an integer >= ${min}`;
  if (max !== Infinity) return `an integer <= ${max}`;
  return "an integer";
}

/** Describe and test a check against the owner's other resolved values (for bounds naming an option). */
function violates(c: OptionCheck, v: OptionValue, all: Options): string | null {
  if (c.kind === "choice") {
    const ch = c.choices ?? [];
    return typeof v === "string" && ch.includes(v) ? null : `one of ${ch.map((s) => `'${s}'`).join(", ")}`;
  }
  const bound = (b: number | string | undefined, dflt: number): [number, string] => {
    if (typeof b === "string") {
      const bv = all[b];
      return [typeof bv === "number" ? bv : dflt, `${b} = ${String(bv)}`];
    }
    return [b ?? dflt, String(b ?? dflt)];
  };
  const [lo, loS] = bound(c.min, -Infinity);
  const [hi, hiS] = bound(c.max, Infinity);
  const isInt = c.kind === "int";
  const ok =
    typeof v === "number" &&
    Number.isFinite(v) &&
    (!isInt || Number.isSafeInteger(v)) &&
    (c.minOpen ? v > lo : v >= lo) &&
    (c.maxOpen ? v < hi : v <= hi);
  if (ok) return null;
  const what = isInt ? "an integer" : "a number";
  const hasLo = lo !== -Infinity;
  const hasHi = hi !== Infinity;
  if (hasLo && hasHi && isInt && !c.minOpen && !c.maxOpen) {
    if ((lo === 0 || lo === 1) && typeof c.min !== "string") return `a ${lo === 0 ? "non-negative" : "positive"} integer <= ${hiS}`;
    return `an integer from ${loS} to ${hiS}`;
  }
  if (hasLo && hasHi) return `${what} in ${c.minOpen ? "(" : "["}${loS}, ${hiS}${c.maxOpen ? ")" : "]"}`;
  if (hasLo && lo === 0 && typeof c.min !== "string") return `a ${c.minOpen ? "positive" : "non-negative"} ${isInt ? "integer" : "number"}`;
  if (hasLo && lo === 1 && isInt && !c.minOpen && typeof c.min !== "string") return "a positive integer";
  if (hasLo) return `${what} ${c.minOpen ? ">" : ">="} ${loS}`;
  if (hasHi) return `${what} ${c.maxOpen ? "<" : "<="} ${hiS}`;
  return isInt ? "an integer" : "a finite number";
}

/** Parse a string (from `--set key=value`) to the type of the default value. */
export function parseOptionValue(key: string, raw: unknown, def: OptionValue): OptionValue {
  if (typeof raw !== "string") throw new BilevelInputError(`--set ${key}: expected a string value (it is parsed to the option's type), got ${shown(raw)}`);
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
  if (typeof v !== typeof def) throw new BilevelInputError(`${where}.${key}: expected a ${typeof def}, got ${shown(v)}`);
  if (typeof v === "number" && !Number.isFinite(v)) throw new BilevelInputError(`${where}.${key}: expected a finite number, got ${v}`);
  return v as OptionValue;
}

/**
 * defaults <- overrides, rejecting unknown keys (own keys of `defaults` only: `__proto__`,
 * `constructor` are unknown) and ill-typed values, then checking every resolved value against `spec`.
 * `where` names the owner in errors (`solver bome`, `task toy-sc`).
 */
export function resolveOptions<O extends Options>(
  where: string,
  defaults: O,
  overrides: Partial<Options> = {},
  spec?: OptionSpecs<O>,
  aliases: Record<string, string> = {},
): O {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    throw new BilevelInputError(`${where}: expected options as an object of name: value, got ${shown(overrides)}`);
  }
  const out: Options = Object.create(null) as Options;
  const given: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const k of Object.keys(defaults)) out[k] = defaults[k];
  for (const key of Object.keys(overrides)) {
    const v = overrides[key];
    if (v === undefined) continue;
    const k = hasOwn(aliases, key) && !hasOwn(defaults, key) ? aliases[key] : key;
    if (k !== key) {
      noteAlias(where, key, k);
      given[k] = `${key} (now ${k})`;
    }
    if (!hasOwn(defaults, k)) {
      throw new BilevelInputError(`${where}: unknown option '${k}' (known: ${Object.keys(defaults).join(", ") || "none"})`);
    }
    out[k] = checkValue(where, given[k] ?? k, v, defaults[k]);
  }
  if (spec) checkSpec(where, out, spec, given);
  return { ...out } as O;
}

const noted = new Set<string>();
/** Where notes on renamed options go (default: one `console.warn` line per old name and owner). */
export let optionNote: (message: string) => void = (m) => console.warn(m);
/** Redirect (or silence, with `() => {}`) the notes on renamed options. */
export function setOptionNote(fn: (message: string) => void): void {
  optionNote = fn;
}
export function noteAlias(where: string, old: string, now: string): void {
  const key = `${where}.${old}`;
  if (noted.has(key)) return;
  noted.add(key);
  optionNote(`note: ${where}.${old} is now called ${now}; the old name is accepted until the next release`);
}

/** Throw a one-line error for the first value of `opts` that violates its check in `spec`. */
export function checkSpec(where: string, opts: Options, spec: OptionSpecs, names: Record<string, string> = {}): void {
  for (const k of Object.keys(spec)) {
    const c = spec[k];
    if (!c || !hasOwn(opts, k)) continue;
    const bad = violates(c, opts[k], opts);
    if (bad) throw new BilevelInputError(`${where}.${names[k] ?? k}: expected ${bad}${c.why ? ` (${c.why})` : ""}, got ${shown(opts[k])}`);
  }
}
