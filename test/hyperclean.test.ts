/**
 * hyperclean-mnist: the corruption fingerprint of shared/TASKS.md, the objectives against hand-written
 * gradients, and a short BOME run against the PyTorch reference (float32, seed 0).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { array, jax, toFloat64, type Arr } from "../src/engine/index.js";
import { BilevelInputError } from "../src/errors.js";
import { loadMnist } from "../src/node/data.js";
import { solve } from "../src/run.js";
import { getTask } from "../src/tasks/index.js";
import { corruptLabels, corruptionFingerprint, type HCY } from "../src/tasks/hyperclean.js";
import { mulberry32 } from "../src/engine/index.js";
import { setup } from "./helpers.js";

await setup("float32");

test("corruption reproduces the TASKS.md fingerprint (seed 0, rate 0.5 on MNIST)", async () => {
  const clean = loadMnist().trainLabels.subarray(0, 5000);
  const c = corruptLabels(clean, 0.5, 0);
  assert.deepEqual(corruptionFingerprint(c), {
    corrupted: 2500,
    firstCorrupted: [1, 2, 3, 4, 8, 9, 10, 13],
    corruptedIndexSum: 6303698,
    corruptedLabelChecksum: 28531769,
  });
  // every corrupted label differs from the clean one; the others are untouched
  for (let i = 0; i < 5000; i++) assert.equal(c.noisy[i] !== clean[i], c.mask[i] === 1);
  // rounding: k = floor(rate n + 0.5)
  assert.equal(corruptLabels(clean, 0.3, 1).chosen.length, 1500);
  assert.equal(corruptLabels(clean.subarray(0, 7), 0.5, 1).chosen.length, 4);
  // and the task exposes the same numbers in its info
  const p = await getTask("hyperclean-mnist").create({ rate: 0.5, dataDir: "" }, 0);
  assert.equal(p.info?.corrupted, 2500);
  assert.deepEqual(p.info?.firstCorrupted, [1, 2, 3, 4, 8, 9, 10, 13]);
  assert.equal(p.info?.corruptedIndexSum, 6303698);
  assert.equal(p.info?.corruptedLabelChecksum, 28531769);
});

test("hyperclean-fashion fails with one line naming the folder when its files are absent", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-fm-"));
  try {
    await assert.rejects(getTask("hyperclean-fashion").create({ rate: 0.5, dataDir: dir }, 0), (e: unknown) => {
      assert.ok(e instanceof BilevelInputError);
      assert.ok(e.message.includes(dir) && !e.message.includes("\n"), e.message);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
  await assert.rejects(getTask("hyperclean-mnist").create({ rate: 1.5, dataDir: "" }, 0), /rate: expected a number in \[0, 1\]/);
});

test("option n sets the training-set size (images 0..n-1, validation n..n+4999) and rejects sizes MNIST cannot hold", async () => {
  const p = await getTask("hyperclean-mnist").create({ rate: 0.5, dataDir: "", n: 12000 }, 0);
  assert.equal(p.info?.nTrain, 12000);
  assert.equal(p.info?.corrupted, 6000);
  const clean = loadMnist().trainLabels.subarray(0, 12000);
  assert.equal(p.info?.corruptedIndexSum, corruptionFingerprint(corruptLabels(clean, 0.5, 0)).corruptedIndexSum);
  const s = p.init(0);
  assert.deepEqual((s.x as Arr).shape, [12000]);
  jax.tree.dispose(s);
  await assert.rejects(getTask("hyperclean-mnist").create({ rate: 0.5, dataDir: "", n: 55001 }, 0), /n: expected an integer in \[1, 55000\], got 55001/);
  await assert.rejects(getTask("hyperclean-mnist").create({ rate: 0.5, dataDir: "", n: 2.5 }, 0), /n: expected an integer/);
});

test("f and F and their autodiff gradients match hand-written formulas at a random point", async () => {
  const p = await getTask("hyperclean-mnist").create({ rate: 0.5, dataDir: "" }, 0);
  const m = loadMnist();
  const c = corruptLabels(m.trainLabels.subarray(0, 5000), 0.5, 0);
  const rand = mulberry32(7);
  const d = 784;
  const W = Float64Array.from({ length: 10 * d }, () => (rand() - 0.5) * 0.02);
  const b = Float64Array.from({ length: 10 }, () => rand() - 0.5);
  const x = Float64Array.from({ length: 5000 }, () => (rand() - 0.5) * 4);
  // host float64: f, grad_x f, grad_W f, grad_b f
  const n = 5000;
  let f = 0;
  const gx = new Float64Array(n);
  const gW = new Float64Array(10 * d);
  const gb = new Float64Array(10);
  for (let i = 0; i < n; i++) {
    const a = m.trainImages.subarray(i * d, (i + 1) * d);
    const z = new Float64Array(10);
    for (let k = 0; k < 10; k++) {
      let s = b[k];
      for (let j = 0; j < d; j++) s += W[k * d + j] * (a[j] / 255);
      z[k] = s;
    }
    const mx = Math.max(...z);
    const se = z.reduce((s, v) => s + Math.exp(v - mx), 0);
    const ce = mx + Math.log(se) - z[c.noisy[i]];
    const w = 1 / (1 + Math.exp(-x[i]));
    f += (w * ce) / n;
    gx[i] = (w * (1 - w) * ce) / n;
    for (let k = 0; k < 10; k++) {
      const g = (w * (Math.exp(z[k] - mx) / se - (k === c.noisy[i] ? 1 : 0))) / n;
      gb[k] += g;
      for (let j = 0; j < d; j++) gW[k * d + j] += g * (a[j] / 255);
    }
  }
  let reg = 0;
  for (let q = 0; q < W.length; q++) {
    reg += 0.001 * W[q] * W[q];
    gW[q] += 0.002 * W[q];
  }
  f += reg;
  const y = (): HCY => ({ W: array(W, [10, d]), b: array(b) });
  const [val, [ax, ay]] = jax.valueAndGrad((xx: Arr, yy: HCY) => p.lower(xx, yy), { argnums: [0, 1] })(array(x), y()) as unknown as [Arr, [Arr, HCY]];
  const rel = (u: Float64Array, v: Float64Array) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < v.length; i++) {
      num += (u[i] - v[i]) ** 2;
      den += v[i] ** 2;
    }
    return Math.sqrt(num / den);
  };
  const fv = (await toFloat64(val))[0];
  assert.ok(Math.abs(fv - f) / f < 1e-4, `f ${fv} vs ${f}`);
  assert.ok(rel(await toFloat64(ax), gx) < 1e-4, "grad_x f");
  assert.ok(rel(await toFloat64(ay.W), gW) < 1e-4, "grad_W f");
  assert.ok(rel(await toFloat64(ay.b), gb) < 1e-4, "grad_b f");
  // F at W = 0, b = 0 is the uniform cross-entropy log 10
  const F0 = (await toFloat64(p.upper(array(x), { W: array(new Float64Array(10 * d), [10, d]), b: array(new Float64Array(10)) })))[0];
  assert.ok(Math.abs(F0 - Math.log(10)) < 2e-4, `F(0) = ${F0}`);
});

test("BOME reproduces the PyTorch reference at steps 30 and 50 (val loss 0.4152 / 0.3730, test accuracy 0.8819 / 0.8912)", async () => {
  const task = getTask("hyperclean-mnist");
  const p = await task.create(task.defaults, 0);
  const { steps: _s, ...opts } = task.solverDefaults!.bome;
  const r = await solve(p, "bome", { steps: 50, seed: 0, options: opts, evalEvery: 10 });
  jax.tree.dispose([r.x, r.y]);
  assert.equal(r.status, "completed");
  const at = (k: number) => r.history.find((h) => h.step === k)!;
  const s30 = at(30);
  assert.ok(Math.abs(s30.valLoss - 0.4152) < 0.002, `valLoss ${s30.valLoss}`);
  assert.ok(Math.abs(s30.testAccuracy - 0.8819) < 0.005, `testAccuracy ${s30.testAccuracy}`);
  const last = r.final;
  assert.equal(last.step, 50);
  assert.ok(Math.abs(last.valLoss - 0.373) < 0.002, `valLoss ${last.valLoss}`);
  assert.ok(Math.abs(last.testAccuracy - 0.8912) < 0.005, `testAccuracy ${last.testAccuracy}`);
  assert.equal(last.upper, last.valLoss);
  // by step 30 BOME has started to flag corrupted samples (0.88 here; 0.93 after 500 steps)
  assert.ok(s30.f1 > 0.8 && s30.f1 <= 1, `f1 ${s30.f1}`);
  // the fingerprint every engine change must keep (float32, seed 0): test accuracy and cleaning F1 at
  // steps 30 and 50, as computed before the speed patches 050+ (engine patches change no number)
  assert.deepEqual([s30.testAccuracy, last.testAccuracy], [0.8819, 0.8912]);
  assert.ok(Math.abs(s30.f1 - 0.8804185351270553) < 1e-12 && Math.abs(last.f1 - 0.9168556311413454) < 1e-12, `f1 ${s30.f1} / ${last.f1}`);
  // the starting point: uniform predictions, nothing flagged
  assert.ok(Math.abs(r.history[0].valLoss - Math.log(10)) < 2e-4);
  assert.equal(r.history[0].f1, 0);
});

test(
  "unrolled (ITD) hypergradient under jit equals the eager one (the eager one matches float64 finite differences)",
  // jax-js 0.1.25 got this wrong (relative error 0.36, a wasm SIMD tiling bug); fixed by patches/@jax-js+jax+0.1.25.patch
  async () => {
    const { unrolledHypergrad } = await import("../src/oracles/index.js");
    const p = await getTask("hyperclean-mnist").create({ rate: 0.5, dataDir: "" }, 0);
    const fns = { upper: (x: any, y: any) => p.upper(x, y), lower: (x: any, y: any) => p.lower(x, y) };
    const rand = mulberry32(3);
    const x = array(Float64Array.from({ length: 5000 }, () => rand() * 4 - 2));
    const W = array(Float64Array.from({ length: 7840 }, () => (rand() - 0.5) * 0.02), [10, 784]);
    const b = array(new Float64Array(10));
    const body = (xx: Arr, yy: HCY): Arr => {
      const r = unrolledHypergrad(fns, xx, yy, { steps: 1, lr: 0.1 });
      r.value.dispose();
      jax.tree.dispose(r.yT);
      return r.h as Arr;
    };
    const eager = await toFloat64(body(x.ref, { W: W.ref, b: b.ref }));
    const jitted = jax.jit(body);
    const viaJit = await toFloat64(jitted(x, { W, b }) as Arr);
    jitted.dispose();
    let num = 0;
    let den = 0;
    for (let i = 0; i < eager.length; i++) {
      num += (viaJit[i] - eager[i]) ** 2;
      den += eager[i] ** 2;
    }
    assert.ok(Math.sqrt(num / den) < 1e-3, `jit vs eager relative difference ${Math.sqrt(num / den)}`);
  },
);
