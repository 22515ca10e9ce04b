/**
 * Compiled outer steps and the pieces every solver shares (inner-loop start and settings, projections,
 * instances), in the kit's borrowing style: a step body reads its state, never consumes or disposes,
 * and returns the next state. Under `jit` the body is traced once; eagerly (BILEVEL_JIT=0) it runs in
 * a `scope` that frees whatever it made and did not return, and releases the old state.
 */
import { consumeInputs, countsOf, jax, jitEnabled, scalar, scope, tref, type Arr, type Tree } from "../engine/index.js";
import type { GDOptions } from "../oracles/index.js";
import { innerOptimizerFrom, type InnerOptimizerOptions, type OptimizerOptions } from "../optim/index.js";
import type { BilevelProblem, SolverInstance } from "../problem.js";

/** The state every solver carries at least. */
export type XY = { x: Tree; y: Tree };

/** A compiled outer step: (state, k, batch?) -> state, consuming state and batch. */
export interface CompiledStep<S extends Tree> {
  (state: S, k: number, batch?: Tree): S;
  dispose(): void;
}

/**
 * Compile `body(state, k, batch)` once (per argument shapes). `k` reaches the body as a scalar array so
 * step-size schedules do not retrace. The body may borrow or consume its arguments; either way the
 * compiled step consumes the state and batch it is given.
 */
export function compileStep<S extends Tree>(body: (state: S, k: Arr, batch?: Tree) => S): CompiledStep<S> {
  const useJit = jitEnabled(); // BILEVEL_JIT=0 under Node, or initEngine({ jit: false }): eager steps (debugging)
  const withBatch = useJit ? jax.jit((s: S, k: Arr, b: Tree) => body(s, k, b)) : null;
  const noBatch = useJit ? jax.jit((s: S, k: Arr) => body(s, k)) : null;
  const run = ((state: S, k: number, batch?: Tree): S => {
    const kArr = scalar(k);
    if (useJit) return (batch === undefined ? noBatch!(state as never, kArr) : withBatch!(state as never, kArr, batch as never)) as S;
    const inputs: Tree[] = batch === undefined ? [state, kArr] : [state, kArr, batch];
    const counts = countsOf(inputs);
    const out = scope(() => body(state, kArr, batch));
    consumeInputs(counts, out);
    return out;
  }) as CompiledStep<S>;
  run.dispose = () => {
    withBatch?.dispose();
    noBatch?.dispose();
  };
  return run;
}

/** Where the inner loop starts: `innerInit(x)` for meta-learning problems, else y (borrowed). */
export const innerStart = (p: BilevelProblem, x: Tree, y: Tree): Tree => (p.innerInit ? p.innerInit(tref(x)) : y);

/**
 * Inner gradient-descent settings: the problem's fixed procedure (plain steps) if it has one, else the
 * solver's, with the update rule of its `innerOptimizer` option when `o` is given (sgd without it).
 */
export function innerGD(p: BilevelProblem, steps: number, lr: number, o?: OptimizerOptions & Partial<InnerOptimizerOptions>): GDOptions {
  const fixed = p.innerSteps;
  const optimizer = !fixed && o ? innerOptimizerFrom(o) : undefined;
  return {
    steps: fixed ? fixed.steps : steps,
    lr: fixed ? fixed.lr : lr,
    project: p.projectY ? (y: Tree) => p.projectY!(y) : undefined,
    ...(optimizer && optimizer.name !== "sgd" ? { optimizer } : {}),
  };
}

/** x projected onto the problem's feasible set (borrowed; x itself when there is none). */
export const projectX = (p: BilevelProblem, x: Tree): Tree => (p.projectX ? p.projectX(tref(x)) : x);
/** y projected onto the problem's feasible set (borrowed; y itself when there is none). */
export const projectY = (p: BilevelProblem, y: Tree): Tree => (p.projectY ? p.projectY(tref(y)) : y);

/** The common `iterate`: fresh references to state.x and state.y. */
export const iterateXY = (s: Tree): XY => {
  const st = s as XY;
  return { x: jax.tree.ref(st.x) as Tree, y: jax.tree.ref(st.y) as Tree };
};

/** An instance whose outer step is one compiled function; `init` builds its state from (x, y). */
export function stepInstance<S extends Tree>(step: CompiledStep<S>, init: (x: Tree, y: Tree, seed: number) => S = (x, y) => ({ x, y }) as unknown as S): SolverInstance {
  return {
    init: (x, y, seed) => init(x, y, seed),
    step: (s, k, b) => step(s as S, k, b),
    iterate: iterateXY,
    dispose: () => step.dispose(),
  };
}

/** The instance of a solver whose whole state is {x, y}. */
export const xyInstance = (step: CompiledStep<XY>): SolverInstance => stepInstance(step);

/**
 * Add the `hypergrad` hook to an instance: `estimate(x, y)` (borrowing) returns the hypergradient
 * estimate of one outer step at (x, y), compiled like the step.
 */
export function withHypergrad(inst: SolverInstance, estimate: (x: Tree, y: Tree) => Tree): SolverInstance {
  const compiled = compileStep<XY>((s) => ({ x: estimate(s.x, s.y), y: [] }));
  return {
    ...inst,
    hypergrad: (s) => compiled(iterateXY(s), 0).x,
    dispose: () => {
      inst.dispose();
      compiled.dispose();
    },
  };
}
