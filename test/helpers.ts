/** Shared test set-up: start the engine once per test file (float64 unless a test asks otherwise). */
import { initEngine, type FloatDtype } from "../src/engine/index.js";

export async function setup(dtype: FloatDtype = "float64"): Promise<void> {
  await initEngine({ dtype });
}

/** Relative error ||a - b|| / max(||b||, tiny). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
}
