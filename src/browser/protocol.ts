/**
 * Messages between the playground page and its run worker (`./worker.ts`). The page imports only
 * this file's types, never the library: the worker holds the engine and sends the catalog.
 */
import type { DeviceName, EngineInfo } from "../engine/index.js";
import type { RunRecord } from "../experiment.js";
import type { Capabilities, Options } from "../problem.js";

export interface CatalogSolver {
  name: string;
  summary: string;
  reference: string;
  defaults: Options;
  help: Record<string, string>;
  capabilities: Capabilities;
}
export interface CatalogTask {
  name: string;
  description: string;
  defaults: Options;
  help: Record<string, string>;
  steps: number;
  solverDefaults: Record<string, Options & { steps?: number }>;
}

export interface RunRequest {
  type: "run";
  task: string;
  solver: string;
  steps: number;
  seed: number;
  device: DeviceName;
  evalEvery?: number;
  /** `--set`-style strings: solver and task options that differ from their defaults. */
  set: Record<string, string>;
  /** Where the page serves the MNIST IDX files (hyperclean-mnist), e.g. "data/mnist". */
  mnistUrl?: string;
}

/** F(x, y(x)) on a grid over a 1-D or 2-D x, y(x) the lower level solved by gradient descent. */
export interface Landscape {
  dim: 1 | 2;
  /** Grid coordinates along each axis. */
  axis: number[];
  /** F values: [axis.length] for dim 1, row-major [axis.length (x2), axis.length (x1)] for dim 2. */
  values: number[];
  /** The task's optimum x*, when known. */
  optimum: number[] | null;
  /** How y(x) was computed. */
  note: string;
}

/** Run the closed-form oracle checks (`./checks.ts`) on a device. */
export interface CheckRequest {
  type: "check";
  device: DeviceName;
}

export type WorkerMessage =
  | { type: "catalog"; solvers: CatalogSolver[]; tasks: CatalogTask[]; engine: EngineInfo }
  | { type: "status"; text: string }
  | { type: "landscape"; landscape: Landscape | null; note: string }
  | { type: "progress"; step: number; steps: number; metrics: Record<string, number>; x: number[] | null }
  | { type: "step"; step: number; steps: number }
  | { type: "done"; record: RunRecord }
  | { type: "checked"; device: DeviceName; arrayDevice: string; errors: Record<string, number> }
  | { type: "error"; message: string };
