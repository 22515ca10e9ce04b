import { mulberry32 } from "../engine/index.js";

/** A deterministic 31-bit seed from integer parts (the RL tasks' streams: task seed, outer step, purpose). */
export function seedOf(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) h = Math.floor(mulberry32((h ^ Math.imul(p | 0, 0x9e3779b1)) >>> 0)() * 2 ** 31);
  return h;
}
