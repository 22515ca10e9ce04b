/**
 * The playground page: pick a task, a solver that fits it, its hyperparameters and the device; each
 * run happens in a Web Worker (`./worker.ts`) with progress and a stop button; live plots (the iterate
 * path over F(x, y(x)) for 1-D / 2-D toys, a metric against step and against seconds on log axes, all
 * runs overlaid); the settings live in the URL (shareable); each finished run's record downloads as
 * the JSON `bilevel run --json` writes. This file imports no library code: the worker sends the catalog.
 */
import type { DeviceName } from "../engine/index.js";
import type { RunRecord } from "../experiment.js";
import type { Options } from "../problem.js";
import { landscapeChart, lineChart, type Series } from "./plot.js";
import type { CatalogSolver, CatalogTask, Landscape, RunRequest, WorkerMessage } from "./protocol.js";

/** Tasks the page offers, in order (those the catalog has). */
const PAGE_TASKS = ["toy-sc", "toy-quadratic", "toy-ufo", "toy-lls", "toy-constrained", "hyperclean-mnist"];
/** The page starts these toys at 2-D x so the contour view applies (any value can be set). */
const PAGE_TASK_DEFAULTS: Record<string, Options> = { "toy-sc": { n: 2 }, "toy-quadratic": { nx: 2, ny: 3 }, "toy-lls": { n: 2 }, "toy-constrained": { n: 2 } };
const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324"];

interface Run {
  id: number;
  label: string;
  color: string;
  status: "running" | "done" | "stopped" | "error";
  request: RunRequest;
  history: Record<string, number>[];
  path: [number, number][];
  landscapeKey: string;
  record?: RunRecord;
  error?: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state = {
  solvers: [] as CatalogSolver[],
  tasks: [] as CatalogTask[],
  runs: [] as Run[],
  landscape: null as Landscape | null,
  landscapeKey: "",
  landscapeNote: "",
  ready: false,
  worker: null as Worker | null,
  active: null as Run | null,
};
(window as unknown as { __playground: typeof state }).__playground = state;

const fits = (t: CatalogTask, s: CatalogSolver) =>
  !s.capabilities.preference && (t.name !== "toy-constrained" || s.capabilities.constraints);

function spawn(): Worker {
  const w = new Worker(new URL("worker.js", location.href), { type: "module" });
  w.onerror = (e) => setStatus(`worker error: ${e.message}`);
  return w;
}

function setStatus(text: string) {
  $("status").textContent = text;
}

function task(): CatalogTask {
  return state.tasks.find((t) => t.name === $<HTMLSelectElement>("task").value)!;
}
function solver(): CatalogSolver {
  return state.solvers.find((s) => s.name === $<HTMLSelectElement>("solver").value)!;
}

/** Effective defaults: the solver's, with the task's tuned values over them; the task's options. */
function defaults(t: CatalogTask, s: CatalogSolver) {
  const tuned = { ...(t.solverDefaults[s.name] ?? {}) };
  const steps = (tuned.steps as number | undefined) ?? t.steps;
  delete tuned.steps;
  return { solver: { ...s.defaults, ...tuned }, task: { ...t.defaults }, steps };
}

function optionRows(side: "solver" | "task", opts: Options, help: Record<string, string>, given: Record<string, string>) {
  const body = $(`${side}-options`);
  body.innerHTML = "";
  for (const [k, v] of Object.entries(opts)) {
    const tr = document.createElement("tr");
    const id = `${side}.${k}`;
    const shown = given[id] ?? (side === "task" && PAGE_TASK_DEFAULTS[task().name]?.[k] !== undefined ? String(PAGE_TASK_DEFAULTS[task().name][k]) : String(v));
    tr.innerHTML = `<td><label for="opt-${id}">${k}</label></td><td><input id="opt-${id}" data-key="${id}" data-default="${String(v)}" size="9"></td><td class="def">${v === "" ? '""' : String(v)}</td><td class="help"></td>`;
    (tr.querySelector("input") as HTMLInputElement).value = shown;
    (tr.querySelector(".help") as HTMLElement).textContent = help[k] ?? "";
    tr.querySelector("input")!.addEventListener("change", saveUrl);
    body.appendChild(tr);
  }
}

function fillSolvers(keep?: string) {
  const t = task();
  const sel = $<HTMLSelectElement>("solver");
  const fitting = state.solvers.filter((s) => fits(t, s));
  sel.innerHTML = fitting.map((s) => `<option value="${s.name}">${s.name} — ${s.summary.replace(/</g, "&lt;")}</option>`).join("");
  sel.value = keep && fitting.some((s) => s.name === keep) ? keep : fitting.some((s) => s.name === "bome") ? "bome" : fitting[0].name;
}

function fillOptions(given: Record<string, string> = {}) {
  const t = task();
  const s = solver();
  const d = defaults(t, s);
  $("task-info").textContent = t.description;
  $("solver-info").textContent = `${s.summary} (${s.reference})`;
  optionRows("solver", d.solver, s.help, given);
  optionRows("task", d.task, t.help, given);
  if (!given.steps) $<HTMLInputElement>("steps").value = String(d.steps);
}

/** `--set` strings: options whose value differs from the default shown. */
function setStrings(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const inp of document.querySelectorAll<HTMLInputElement>("#options input[data-key]")) {
    if (inp.value !== inp.dataset.default) out[inp.dataset.key!] = inp.value;
  }
  return out;
}

function request(): RunRequest {
  const evalEvery = Number($<HTMLInputElement>("eval-every").value);
  return {
    type: "run",
    task: task().name,
    solver: solver().name,
    steps: Number($<HTMLInputElement>("steps").value),
    seed: Number($<HTMLInputElement>("seed").value),
    device: $<HTMLSelectElement>("device").value as DeviceName,
    ...(evalEvery > 0 ? { evalEvery } : {}),
    set: setStrings(),
    mnistUrl: "data/mnist",
  };
}

function saveUrl() {
  const r = request();
  const q = new URLSearchParams({ task: r.task, solver: r.solver, device: r.device, steps: String(r.steps), seed: String(r.seed) });
  if (r.evalEvery) q.set("evalEvery", String(r.evalEvery));
  for (const [k, v] of Object.entries(r.set)) q.set(k, v);
  history.replaceState(null, "", `?${q}`);
}

const taskKey = (r: RunRequest) =>
  JSON.stringify([r.task, r.seed, Object.entries(r.set).filter(([k]) => k.startsWith("task.")).sort()]);

function redraw() {
  const metric = $<HTMLSelectElement>("metric").value || "upper";
  const series = (xKey: string): Series[] =>
    state.runs.map((r) => ({ label: r.label, color: r.color, points: r.history.map((h) => [h[xKey], h[metric]] as [number, number]) }));
  const logY = $<HTMLInputElement>("logy").checked;
  (window as unknown as { __drawn: Record<string, number> }).__drawn = {
    step: lineChart($("plot-step"), series("step"), { title: `${metric} vs step`, xLabel: "step", logX: true, logY }),
    seconds: lineChart($("plot-seconds"), series("seconds"), { title: `${metric} vs seconds`, xLabel: "solver seconds", logX: true, logY }),
    landscape: landscapeChart(
      $("plot-landscape"),
      state.landscape,
      state.runs.filter((r) => r.landscapeKey === state.landscapeKey).map((r) => ({ label: r.label, color: r.color, points: r.path })),
      state.landscapeNote,
    ),
  };
  // metric choices: every metric any run reported
  const sel = $<HTMLSelectElement>("metric");
  const keys = [...new Set(state.runs.flatMap((r) => r.history.flatMap((h) => Object.keys(h))))].filter((k) => k !== "step" && k !== "seconds");
  if (keys.join() !== [...sel.options].map((o) => o.value).join()) {
    const cur = sel.value;
    sel.innerHTML = keys.map((k) => `<option>${k}</option>`).join("");
    sel.value = keys.includes(cur) ? cur : keys.includes("distanceToOptimum") ? "distanceToOptimum" : keys.includes("testAccuracy") ? "testAccuracy" : keys[0] ?? "";
  }
  renderRuns();
}

function renderRuns() {
  const body = $("runs");
  body.innerHTML = "";
  for (const r of state.runs) {
    const tr = document.createElement("tr");
    const last = r.record?.final ?? r.history[r.history.length - 1] ?? {};
    const metric = $<HTMLSelectElement>("metric").value;
    const val = last[metric];
    tr.innerHTML = `<td><span class="swatch" style="background:${r.color}"></span></td><td>${r.label}</td><td class="st-${r.status}">${r.status}${r.error ? `: ${r.error.replace(/</g, "&lt;")}` : ""}</td><td>${val === undefined ? "" : Number(val).toPrecision(6)}</td><td></td>`;
    const cell = tr.lastElementChild!;
    if (r.record) {
      const a = document.createElement("a");
      a.textContent = "record.json";
      a.download = `${r.request.task}-${r.request.solver}-seed${r.request.seed}.json`;
      a.href = URL.createObjectURL(new Blob([JSON.stringify(r.record, null, 2) + "\n"], { type: "application/json" }));
      cell.appendChild(a);
    }
    const rm = document.createElement("button");
    rm.textContent = "remove";
    rm.disabled = r.status === "running";
    rm.onclick = () => {
      state.runs = state.runs.filter((x) => x !== r);
      redraw();
    };
    cell.appendChild(rm);
    body.appendChild(tr);
  }
}

function finish(run: Run, status: Run["status"], error?: string) {
  run.status = status;
  if (error) run.error = error;
  state.active = null;
  state.worker?.terminate();
  state.worker = spawn(); // a fresh engine for the next run
  state.worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    if (e.data.type === "catalog") setStatus(status === "error" ? `error: ${error}` : `${status}; ready`);
  };
  $<HTMLButtonElement>("run").disabled = false;
  $<HTMLButtonElement>("stop").disabled = true;
  redraw();
}

function startRun() {
  if (state.active || !state.worker) return;
  const req = request();
  saveUrl();
  const run: Run = {
    id: state.runs.length + 1,
    label: `#${state.runs.length + 1} ${req.solver} ${req.task} ${req.device}`,
    color: COLORS[state.runs.length % COLORS.length],
    status: "running",
    request: req,
    history: [],
    path: [],
    landscapeKey: taskKey(req),
  };
  state.runs.push(run);
  state.active = run;
  $<HTMLButtonElement>("run").disabled = true;
  $<HTMLButtonElement>("stop").disabled = false;
  const bar = $<HTMLProgressElement>("progress");
  bar.value = 0;
  state.worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const m = e.data;
    if (m.type === "status") setStatus(m.text);
    else if (m.type === "landscape") {
      if (run.landscapeKey !== state.landscapeKey || !state.landscape) {
        state.landscape = m.landscape;
        state.landscapeKey = run.landscapeKey;
        state.landscapeNote = m.note;
      }
      redraw();
    } else if (m.type === "step") {
      bar.max = m.steps;
      bar.value = m.step;
    } else if (m.type === "progress") {
      bar.max = m.steps;
      bar.value = m.step;
      run.history.push(m.metrics);
      if (m.x && m.x.length <= 2) run.path.push([m.x[0], m.x[1] ?? 0]);
      setStatus(`step ${m.step}/${m.steps}`);
      redraw();
    } else if (m.type === "done") {
      run.record = m.record;
      run.history = m.record.history;
      finish(run, "done");
      setStatus(`done: ${m.record.stepsTaken} steps, ${m.record.msPerStep.toFixed(2)} ms/step on ${m.record.engine.device} (${m.record.engine.threads} thread${m.record.engine.threads > 1 ? "s" : ""})`);
    } else if (m.type === "error") {
      finish(run, "error", m.message);
      setStatus(`error: ${m.message}`);
    }
  };
  state.worker.postMessage(req);
}

function init(q: URLSearchParams) {
  const tsel = $<HTMLSelectElement>("task");
  const offered = PAGE_TASKS.filter((n) => state.tasks.some((t) => t.name === n));
  tsel.innerHTML = offered.map((n) => `<option>${n}</option>`).join("");
  tsel.value = offered.includes(q.get("task") ?? "") ? q.get("task")! : offered[0];
  fillSolvers(q.get("solver") ?? undefined);
  if (q.get("device")) $<HTMLSelectElement>("device").value = q.get("device")!;
  for (const k of ["steps", "seed"]) if (q.get(k)) $<HTMLInputElement>(k).value = q.get(k)!;
  if (q.get("evalEvery")) $<HTMLInputElement>("eval-every").value = q.get("evalEvery")!;
  const given: Record<string, string> = {};
  for (const [k, v] of q) if (k.startsWith("solver.") || k.startsWith("task.")) given[k] = v;
  if (q.get("steps")) given.steps = q.get("steps")!;
  fillOptions(given);
  tsel.onchange = () => {
    fillSolvers(solver()?.name);
    fillOptions();
    saveUrl();
  };
  $<HTMLSelectElement>("solver").onchange = () => {
    fillOptions();
    saveUrl();
  };
  for (const id of ["device", "seed", "steps", "eval-every"]) $(id).addEventListener("change", saveUrl);
  $("metric").onchange = redraw;
  $("logy").onchange = redraw;
  $("run").onclick = startRun;
  $("stop").onclick = () => {
    if (state.active) finish(state.active, "stopped");
    setStatus("stopped");
  };
  $<HTMLButtonElement>("run").disabled = false;
  state.ready = true;
  redraw();
  if (q.get("autorun") === "1") startRun();
}

state.worker = spawn();
state.worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
  const m = e.data;
  if (m.type !== "catalog") return;
  state.solvers = m.solvers;
  state.tasks = m.tasks;
  $("engine").textContent = `jax-js ${m.engine.jax} (${m.engine.enginePatches.length} patches) · ${crossOriginIsolated ? `cross-origin isolated: ${m.engine.threads} wasm thread(s)` : "not cross-origin isolated: 1 wasm thread"}`;
  setStatus("ready");
  init(new URLSearchParams(location.search));
};
