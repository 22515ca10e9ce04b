import { test } from "node:test";
import assert from "node:assert/strict";
import { treeToFloat64 } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import { matvec, transpose } from "../src/linalg.js";
import { assertReaches, quadraticStepProblem, relErr, setup } from "./helpers.js";

await setup("float64");

test("borep: each step follows the BO-REP equations (refinement, periodic y, z, normalized momentum, StepLR; host float64 reference)", async () => {
  // F = 1/2 y'Gy + 1/2 (x - xh)'D(x - xh),  f = 1/2 y'Ay - x'By:
  // grad_y f = A y - B'x, grad^2_yy f = A, grad^2_xy f z = -B z, grad_y F = G y, grad_x F = D (x - xh)
  const { problem, n, A, G, D, B, xh, x0, y0, dispose } = quadraticStepProblem(11);
  const o = { interval: 3, T: 2, initSteps: 4, innerLr: 0.2, lrX: 0.3, beta: 0.8, nu: 0.3, lrDecay: 0.5, lrDecayEvery: 2 };
  const steps = 8;
  const r = await solve(problem, "borep", { steps, options: o });
  const [gotX, gotY] = [await treeToFloat64(r.x), await treeToFloat64(r.y)];

  const Bt = transpose(B);
  const sub = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v - b[i]);
  const axpy = (s: number, a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(b, (v, i) => v + s * a[i]);
  let [x, y, z, m] = [Float64Array.from(x0), Float64Array.from(y0), new Float64Array(n), new Float64Array(n)];
  let lowerUpdates = 0;
  for (let k = 0; k < steps; k++) {
    const t = k === 0 ? o.initSteps : k % o.interval === 0 ? o.T : 0;
    if (t > 0) lowerUpdates++;
    for (let i = 0; i < t; i++) y = axpy(-o.innerLr, sub(matvec(A, y), matvec(Bt, x)), y);
    z = axpy(-o.nu, sub(matvec(A, z), matvec(G, y)), z);
    const g = Float64Array.from(matvec(D, sub(x, xh)), (v, i) => v + matvec(B, z)[i]);
    m = Float64Array.from(m, (v, i) => o.beta * v + (1 - o.beta) * g[i]);
    const eta = o.lrX * Math.pow(o.lrDecay, Math.floor(k / o.lrDecayEvery));
    const nm = Math.sqrt(m.reduce((s, v) => s + v * v, 0));
    x = axpy(-eta / (nm + 1e-10), m, x);
  }
  assert.equal(lowerUpdates, 3); // k = 0 (refinement), 3, 6
  // 1e-7: jax-js 0.1.25 rounds JS number constants to float32 under jit even in float64 mode
  assert.ok(relErr(gotX, x) < 1e-7, `x ${Array.from(gotX)} vs ${Array.from(x)}`);
  assert.ok(relErr(gotY, y) < 1e-7, `y ${Array.from(gotY)} vs ${Array.from(y)}`);
});

test("borep on toy-sc (default and random=true): distanceToOptimum < 1e-3", async () => {
  await assertReaches("toy-sc", "borep", 1e-3, [{ random: false }, { random: true }]);
});

test("borep: bad input is a one-line BilevelInputError", async () => {
  const ufo = await getTask("toy-ufo").create({}, 0);
  await assert.rejects(solve(ufo, "borep", { steps: 1 }), (e: Error) => e instanceof BilevelInputError && /innerInit/.test(e.message) && !e.message.includes("\n"));
  const sc = await getTask("toy-sc").create({ n: 2, random: false }, 0);
  await assert.rejects(solve(sc, "borep", { steps: 1, options: { interval: 0 } }), (e: Error) => e instanceof BilevelInputError && /borep\.interval/.test(e.message));
  await assert.rejects(solve(sc, "borep", { steps: 1, options: { lrDecay: 0 } }), (e: Error) => e instanceof BilevelInputError && /borep\.lrDecay/.test(e.message));
});
