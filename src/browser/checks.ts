/**
 * Closed-form checks of the derivative oracles on the engine's current device, for devices the Node
 * test suite cannot reach (webgpu in a browser). On toy-quadratic (nx = 5, ny = 10, seed 3, no noise)
 * every quantity has a float64 closed form (src/tasks/toys.ts): grad F, grad f, the Hessian-vector
 * product H v, the mixed products C v and C' u, and the hypergradient (implicit with CG, unrolled with
 * 200 steps, both compiled with jit). Returns the relative error of each against its closed form.
 */
import { array, jax, treeToFloat64, type Arr, type Tree } from "../engine/index.js";
import { grads, hvpYY, implicitHypergrad, jvpXY, jvpYX, unrolledHypergrad, type BilevelFns } from "../oracles/index.js";
import { matvec, transpose } from "../linalg.js";
import { quadraticExact, toyQuadratic } from "../tasks/toys.js";

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
};

export async function oracleChecks(): Promise<Record<string, number>> {
  const [nx, ny] = [5, 10];
  const p = toyQuadratic(nx, ny, 3, 0);
  const d = p.data;
  const fns: BilevelFns = { upper: (x, y) => p.upper(x as never, y as never), lower: (x, y) => p.lower(x as never, y as never) };
  const x0 = Float64Array.from({ length: nx }, (_, i) => 0.3 * (i + 1) - 0.7);
  const yAny = Float64Array.from({ length: ny }, (_, i) => Math.sin(i + 1));
  const v0 = Float64Array.from({ length: ny }, (_, i) => Math.cos(2 * i));
  const u0 = Float64Array.from({ length: nx }, (_, i) => 1 - 0.25 * i);
  const read = (t: Tree) => treeToFloat64(t);
  const X = () => array(x0);
  const Y = () => array(yAny);
  const out: Record<string, number> = {};
  const [Fx, Fy] = grads(fns.upper, X(), Y());
  out.gradUpperX = relErr(await read(Fx), Array.from(x0, (v) => d.mu * v));
  out.gradUpperY = relErr(await read(Fy), Array.from(yAny, (v, i) => v - d.yt[i]));
  const [fx, fy] = grads(fns.lower, X(), Y());
  out.gradLowerX = relErr(await read(fx), matvec(d.C, yAny));
  const Hy = matvec(d.H, yAny);
  const Ctx = matvec(transpose(d.C), x0);
  out.gradLowerY = relErr(await read(fy), Array.from(Hy, (v, i) => v + Ctx[i] + d.a[i]));
  out.hvpYY = relErr(await read(hvpYY(fns.lower, X(), Y(), array(v0))), matvec(d.H, v0));
  out.jvpXY = relErr(await read(jvpXY(fns.lower, X(), Y(), array(v0))), matvec(d.C, v0));
  out.jvpYX = relErr(await read(jvpYX(fns.lower, X(), Y(), array(u0))), matvec(transpose(d.C), u0));
  const exact = quadraticExact(d, x0);
  // The hypergradients compiled with jit, as the solvers run them.
  const cg = jax.jit((x: Arr, y: Arr) => implicitHypergrad(fns, x, y, { method: "cg", iters: 2 * ny }).h as Arr);
  out.implicitCG = relErr(await read(cg(X(), array(exact.yStar))), exact.hypergrad);
  cg.dispose();
  const un = jax.jit((x: Arr, y: Arr) => {
    const r = unrolledHypergrad(fns, x, y, { steps: 200, lr: 0.1 });
    r.yT && jax.tree.dispose(r.yT);
    r.value.dispose();
    return r.h as Arr;
  });
  out.unrolled = relErr(await read(un(X(), array(exact.yStar))), exact.hypergrad);
  un.dispose();
  for (const k of ["x", "y"] as const) await read(p.solution![k]);
  return out;
}
