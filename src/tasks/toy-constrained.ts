/** toy-constrained (LV-HBA's coupled-constraint toy): the problem and its task (notes: docs/tasks/toy-constrained.md). */
import { int } from "../options.js";
import { full, treeToFloat64, type Arr } from "../engine/index.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { checkMemory, distanceMetrics, half, type Pair } from "./toy-kit.js";
import { tuned } from "./tuned.js";

/**
 * toy-constrained: coupled constraint -(1'x + 1'y1 + 1'y2) <= 0; optimum x = -0.3, y1 = 0.7, y2 = -0.4.
 * Starts at x = y1 = y2 = 10, or with `officialStart` at LV-HBA's official start (Toy-example/LLC/LV-HBA.py
 * projects x = y = 10 with proj1 on x first, then on y: x = 10 - 30 = -20, y1 = y2 = 10, for n = 100).
 */
export function toyConstrained(n: number, officialStart = false): BilevelProblem<Arr, Pair> {
  checkMemory("toy-constrained", `n = ${n}`, 8 * 24 * n, "about 24 float64 vectors of length n");
  const fill = (v: number) => new Float64Array(n).fill(v);
  return {
    name: "toy-constrained",
    upper: (x, y) => half(x.sub(y.y2)).add(half(y.y1.sub(1))),
    lower: (x, y) => half(y.y1.ref).sub(x.mul(y.y1).sum()).add(y.y2.sum()),
    constraint: (x, y) => x.sum().add(y.y1.sum()).add(y.y2.sum()).neg().reshape([1]),
    init: () => ({ x: full([n], officialStart ? 10 - (10 * n + 20 * n) / n : 10), y: { y1: full([n], 10), y2: full([n], 10) } }),
    evaluate: async (x, y) => {
      const g = await treeToFloat64(x.ref.sum().add(y.y1.ref.sum()).add(y.y2.ref.sum()).neg());
      return { ...(await distanceMetrics(x, y, fill(-0.3), Float64Array.from([...fill(0.7), ...fill(-0.4)]))), constraintViolation: Math.max(0, g[0]) };
    },
    solution: { x: full([n], -0.3), y: { y1: full([n], 0.7), y2: full([n], -0.4) }, upperValue: 0.05 * n },
    info: { n },
  };
}

export const toyConstrainedTask: TaskSpec<{ n: number; officialStart: boolean }> = {
  name: "toy-constrained",
  description: "Coupled lower-level constraint (LV-HBA's toy); optimum x = -0.3, y1 = 0.7, y2 = -0.4.",
  defaults: { n: 100, officialStart: false },
  spec: { n: int(1) },
  help: { n: "dimension of x, y1, y2", officialStart: "start at LV-HBA's official x = -20, y1 = y2 = 10 (its projected start) instead of x = y1 = y2 = 10" },
  steps: 1000,
  solverDefaults: tuned["toy-constrained"],
  create: async (o) => toyConstrained(o.n, o.officialStart),
};
