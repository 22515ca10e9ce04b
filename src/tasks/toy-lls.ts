/** toy-lls (BDA's counter-example, a non-singleton lower level): the problem and its task (notes: docs/tasks/toy-lls.md). */
import { int } from "../options.js";
import { full, treeToFloat64, type Arr } from "../engine/index.js";
import type { BilevelProblem, TaskSpec } from "../problem.js";
import { checkMemory, distanceMetrics, half, type Pair } from "./toy-kit.js";
import { tuned } from "./tuned.js";

/** toy-lls: non-singleton lower level; optimistic optimum x = y1 = y2 = 1. Starts at x = y1 = y2 = `start` (sl-BAMM's official toy: 0.01). */
export function toyLLS(n: number, start = 0): BilevelProblem<Arr, Pair> {
  checkMemory("toy-lls", `n = ${n}`, 8 * 24 * n, "about 24 float64 vectors of length n");
  const ones = new Float64Array(n).fill(1);
  return {
    name: "toy-lls",
    upper: (x, y) => half(x.sub(y.y2)).add(half(y.y1.sub(1))),
    lower: (x, y) => {
      y.y2.dispose(); // f does not depend on y2
      return half(y.y1.ref).sub(x.mul(y.y1).sum());
    },
    init: () => ({ x: full([n], start), y: { y1: full([n], start), y2: full([n], start) } }),
    evaluate: async (x, y) => {
      const meanX = (await treeToFloat64(x.ref.mean())).at(0)!;
      return { ...(await distanceMetrics(x, y, ones, Float64Array.from([...ones, ...ones]))), meanX };
    },
    solution: { x: full([n], 1), y: { y1: full([n], 1), y2: full([n], 1) }, upperValue: 0 },
    info: { n },
  };
}

export const toyLLSTask: TaskSpec<{ n: number; start: number }> = {
  name: "toy-lls",
  description: "Non-singleton lower level (BDA's counter-example); optimum x = y1 = y2 = 1; ITD/AID stall at x = 0.5.",
  defaults: { n: 10, start: 0 },
  spec: { n: int(1) },
  help: { n: "dimension of x, y1, y2", start: "starting value of every entry of x, y1, y2 (sl-BAMM's official toy: 0.01)" },
  steps: 1000,
  solverDefaults: tuned["toy-lls"],
  create: async (o) => toyLLS(o.n, o.start),
};
