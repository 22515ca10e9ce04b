/** The baselines' training loop (src/tasks/adam-fit.ts): host Adam on engine gradients reaches a known least-squares optimum; host <-> engine copies round-trip. */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../src/node/index.js";
import { array, jax, np, type Arr } from "../src/engine/index.js";
import { adamFit, fromHost, toHost } from "../src/tasks/adam-fit.js";

test("adamFit: host Adam on engine gradients of ||A w - b||^2 + (c - 3)^2 reaches the closed-form minimizer", async () => {
  // A = [[2, 0], [1, 1], [0, 1]], b = [2, 3, 1]: normal equations [[5, 1], [1, 2]] w = [7, 4] -> w = (10/9, 13/9)
  const A = [2, 0, 1, 1, 0, 1];
  const b = [2, 3, 1];
  const h = await toHost({ w: array(new Float32Array([0, 0]), [2]), c: array(new Float32Array([0]), [1]) });
  assert.deepEqual(h.keys, ["w", "c"]);
  assert.deepEqual(h.shapes, [[2], [1]]);
  const grad = jax.jit((p: Record<string, Arr>, Am: Arr, bv: Arr) =>
    jax.grad((q: Record<string, Arr>) => {
      const r = np.matmul(Am, q.w.reshape([2, 1])).reshape([3]).sub(bv);
      const d = q.c.sub(3);
      return r.ref.mul(r).sum().add(d.ref.mul(d).sum());
    })(p),
  );
  const gInf = await adamFit(h, (p) => grad(p, array(new Float32Array(A), [3, 2]), array(new Float32Array(b), [3])), 3000, 0.01);
  grad.dispose();
  assert.ok(Math.abs(h.theta[0] - 10 / 9) < 1e-3, `w0 ${h.theta[0]}`);
  assert.ok(Math.abs(h.theta[1] - 13 / 9) < 1e-3, `w1 ${h.theta[1]}`);
  assert.ok(Math.abs(h.theta[2] - 3) < 1e-3, `c ${h.theta[2]}`);
  assert.ok(gInf < 1e-2, `final |grad| ${gInf}`);
  const back = fromHost(h);
  assert.deepEqual(Array.from(await back.c.data()), [Math.fround(h.theta[2])]);
  back.w.dispose();
});
