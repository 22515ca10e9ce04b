/**
 * dm_control's reward shaping (Tassa et al. 2018, "DeepMind Control Suite", Sec. 3; dm_control/utils/
 * rewards.py): tolerance(x, bounds = [lo, hi], margin, sigmoid, valueAtMargin) is 1 inside the bounds and
 * falls off outside them with the distance d = (lo - x or x - hi) / margin through a sigmoid that equals
 * `valueAtMargin` at d = 1:
 *   gaussian   exp(-(d s)^2 / 2),  s = sqrt(-2 ln v)
 *   linear     max(1 - d s, 0),    s = 1 - v
 *   quadratic  max(1 - (d s)^2, 0) (0 once d s >= 1),  s = sqrt(1 - v)
 * With margin 0 it is the indicator of the bounds.
 */
export type Sigmoid = "gaussian" | "linear" | "quadratic";

export interface ToleranceOptions {
  bounds?: [number, number];
  margin?: number;
  sigmoid?: Sigmoid;
  valueAtMargin?: number;
}

export function tolerance(x: number, o: ToleranceOptions = {}): number {
  const [lo, hi] = o.bounds ?? [0, 0];
  const margin = o.margin ?? 0;
  const v = o.valueAtMargin ?? 0.1;
  if (x >= lo && x <= hi) return 1;
  if (margin === 0) return 0;
  const d = (x < lo ? lo - x : x - hi) / margin;
  switch (o.sigmoid ?? "gaussian") {
    case "gaussian": {
      const s = Math.sqrt(-2 * Math.log(v));
      return Math.exp(-0.5 * (d * s) ** 2);
    }
    case "linear": {
      const z = d * (1 - v);
      return Math.abs(z) < 1 ? 1 - z : 0;
    }
    case "quadratic": {
      const z = d * Math.sqrt(1 - v);
      return Math.abs(z) < 1 ? 1 - z * z : 0;
    }
  }
}
