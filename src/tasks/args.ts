/** Argument checks of the meta-learning task constructors: a one-line BilevelInputError naming the field. */
import { BilevelInputError } from "../errors.js";

/** `v` as an integer >= lo, or a BilevelInputError naming `name`. */
export function checkInt(name: string, v: unknown, lo: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo) throw new BilevelInputError(`${name}: expected an integer >= ${lo}, got ${v}`);
  return v;
}
/** `v` as a finite positive number, or a BilevelInputError naming `name`. */
export function checkPos(name: string, v: unknown): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new BilevelInputError(`${name}: expected a positive number, got ${v}`);
  return v;
}
