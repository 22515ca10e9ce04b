import { initEngine } from "../src/engine/index.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
await initEngine({ dtype: (process.env.DT as any) ?? "float32" });
const [task, solver, steps] = process.argv.slice(2);
const t = getTask(task);
const p = await t.create({ ...t.defaults }, 0);
const r = await solve(p, solver, { steps: Number(steps ?? t.steps), options: JSON.parse(process.env.OPTS ?? "{}") });
console.log(solver, r.status, r.error ?? "", "steps", r.steps, "ms/step", r.msPerStep.toFixed(2), JSON.stringify(r.final));
