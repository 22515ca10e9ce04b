/**
 * Commander parsers for numeric flags, shared by every `bilevel` command. Each throws commander's
 * InvalidArgumentError, which the CLI turns into one line on stderr and exit code 2.
 */
import { InvalidArgumentError } from "commander";
import { BilevelInputError } from "../errors.js";

/** An integer in [min, max]; `label` names the flag in the message. */
export const intArg =
  (label: string, min: number, max = Infinity) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) {
      const what = max !== Infinity ? `an integer from ${min} to ${max}` : min === 0 ? "a non-negative integer" : min === 1 ? "a positive integer" : `an integer >= ${min}`;
      throw new InvalidArgumentError(`${label}: expected ${what}.`);
    }
    return n;
  };

/** A finite number > 0. */
export const positiveNumber =
  (label: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${label}: expected a positive number.`);
    return n;
  };

/** Any finite number. */
export const numberArg =
  (label: string) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${label}: expected a number.`);
    return n;
  };

/**
 * Parse `--set key=value` strings; later keys win. The map has no prototype, so `__proto__` and
 * `constructor` are plain keys (and then unknown options), never dropped or inherited.
 */
export function parseSets(items: string[]): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const it of items) {
    const i = it.indexOf("=");
    const key = i > 0 ? it.slice(0, i).trim() : "";
    if (key === "") throw new BilevelInputError(`--set ${it}: expected key=value`);
    out[key] = it.slice(i + 1);
  }
  return out;
}
