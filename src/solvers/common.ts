/**
 * Pieces every solver shares: binding the problem's objectives, the inner-loop start and settings,
 * projections, and compiling one outer step with `jit`.
 */
import { jax, jitEnabled, scalar, tdispose, type Arr, type Tree } from "../engine/index.js";
import type { BilevelFns, GDOptions } from "../oracles/index.js";
import type { BilevelProblem, SolverInstance } from "../problem.js";

/** The state every solver carries at least. */
export type XY = { x: Tree; y: Tree };

/** The problem's two objectives as oracle inputs. */
export const fnsOf = (p: BilevelProblem): BilevelFns => ({
  upper: (x, y, b) => p.upper(x, y, b),
  lower: (x, y, b) => p.lower(x, y, b),
});

/** Where the inner loop starts: innerInit(x) for meta-learning problems (y is dropped), else y. Consumes x, y. */
export function innerStart(p: BilevelProblem, x: Tree, y: Tree): Tree {
  if (p.innerInit) {
    tdispose(y);
    return p.innerInit(x);
  }
  tdispose(x);
  return y;
}

/** Inner gradient-descent settings: the problem's fixed procedure if it has one, else the solver's. */
export function innerGD(p: BilevelProblem, steps: number, lr: number): GDOptions {
  const fixed = p.innerSteps;
  return {
    steps: fixed ? fixed.steps : steps,
    lr: fixed ? fixed.lr : lr,
    project: p.projectY ? (y: Tree) => p.projectY!(y) : undefined,
  };
}

export const projX = (p: BilevelProblem, x: Tree): Tree => (p.projectX ? p.projectX(x) : x);
export const projY = (p: BilevelProblem, y: Tree): Tree => (p.projectY ? p.projectY(y) : y);


/** A compiled outer step: (state, k, batch?) -> state, consuming state and batch. */
export interface CompiledStep<S extends Tree> {
  (state: S, k: number, batch?: Tree): S;
  dispose(): void;
}

/**
 * Compile `body(state, k, batch)` once (per argument shapes) with `jit`. `k` reaches the body as a
 * scalar array so step-size schedules do not trigger recompilation.
 */
export function compileStep<S extends Tree>(body: (state: S, k: Arr, batch?: Tree) => S): CompiledStep<S> {
  const useJit = jitEnabled(); // BILEVEL_JIT=0 under Node, or initEngine({ jit: false }): eager steps (debugging)
  const withBatch = useJit ? jax.jit((s: S, k: Arr, b: Tree) => body(s, k, b)) : null;
  const noBatch = useJit ? jax.jit((s: S, k: Arr) => body(s, k)) : null;
  const run = ((state: S, k: number, batch?: Tree): S => {
    const kArr = scalar(k);
    if (!useJit) return body(state, kArr, batch);
    return (batch === undefined ? noBatch!(state as never, kArr) : withBatch!(state as never, kArr, batch as never)) as S;
  }) as CompiledStep<S>;
  run.dispose = () => {
    withBatch?.dispose();
    noBatch?.dispose();
  };
  return run;
}

/** The common `iterate`: fresh references to state.x and state.y. */
export const iterateXY = (s: Tree): XY => {
  const st = s as XY;
  return { x: jax.tree.ref(st.x) as Tree, y: jax.tree.ref(st.y) as Tree };
};

/** The instance of a solver whose whole state is {x, y} and whose outer step is one compiled function. */
export function xyInstance(step: CompiledStep<XY>): SolverInstance {
  return {
    init: (x, y) => ({ x, y }),
    step: (s, k, b) => step(s as XY, k, b),
    iterate: iterateXY,
    dispose: () => step.dispose(),
  };
}

/**
 * Add the `hypergrad` hook to an {x, y} instance: `estimate(x, y)` (consumes x, y) returns the
 * hypergradient estimate of one outer step at (x, y), compiled like the step.
 */
export function withHypergrad(inst: SolverInstance, estimate: (x: Tree, y: Tree) => Tree): SolverInstance {
  const compiled = jitEnabled() ? jax.jit((x: Tree, y: Tree) => estimate(x, y)) : null;
  return {
    ...inst,
    hypergrad: (s) => {
      const { x, y } = iterateXY(s);
      return compiled ? (compiled(x as never, y as never) as Tree) : estimate(x, y);
    },
    dispose: () => {
      inst.dispose();
      compiled?.dispose();
    },
  };
}
