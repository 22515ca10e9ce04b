/**
 * float64 math of the shipped engine (patch 040-float64-math): exp, log, log1p, expm1, pow, sqrt, tanh,
 * sigmoid, softplus, sin and cos within a few ulp of the host's Math on 10^5 points per function (tails,
 * subnormals, overflow, NaN), eagerly and under jit on the wasm backend; their float64 gradients against
 * closed forms; and their float32 results bit-identical to the unpatched @jax-js/jax 0.1.25 (run in a
 * child process, as test/engine-jit.test.ts does). The same accuracy run on the unpatched package shows
 * what the test catches (float32-accurate float64: millions of ulp).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { jax, mulberry32 } from "../src/engine/index.js";
import { setup } from "./helpers.js";

type Jax = typeof jax;
type Arr = jax.Array;

// ---------- ulp distance ----------
const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** Position of x on the line of doubles (monotone; +0 and -0 both 0). */
function ord(x: number): bigint {
  f64[0] = x;
  const b = i64[0];
  return b < 0n ? -(b & 0x7fffffffffffffffn) : b;
}
/** Doubles between a and b (0 when equal or both NaN; Infinity when only one is NaN or infinite). */
export function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const d = ord(a) - ord(b);
  return Number(d < 0n ? -d : d);
}

// ---------- functions, references, domains ----------
const sigmoidRef = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplusRef = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

interface Unary {
  name: string;
  f(jx: Jax, a: Arr): Arr;
  ref(x: number): number;
  /** The ulp bound the shipped engine meets (measured maxima are in docs/engine-float64.md). */
  maxUlp: number;
  domain(rnd: () => number): number;
  /** d/dx, for the gradient check. */
  deriv(x: number): number;
  gradAt: number[];
}

const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 1, -1, 2, -2, 0.5, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-310, -1e-310,
  709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412, 710, -746, 1e308, -1e308, 1.7976931348623157e308];
const sign = (rnd: () => number): number => (rnd() < 0.5 ? -1 : 1);
const logUniform = (rnd: () => number, lo: number, hi: number): number => Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo)));

export const UNARY: Unary[] = [
  {
    name: "exp", f: (jx, a) => jx.numpy.exp(a), ref: Math.exp, maxUlp: 1,
    domain: (r) => (r() < 0.5 ? (r() - 0.5) * 1500 : sign(r) * logUniform(r, 1e-300, 750)),
    deriv: Math.exp, gradAt: [-3, 0, 0.5, 20],
  },
  {
    name: "log", f: (jx, a) => jx.numpy.log(a), ref: Math.log, maxUlp: 1,
    domain: (r) => (r() < 0.3 ? 1 + (r() - 0.5) * 1e-3 : r() < 0.1 ? -logUniform(r, 1e-300, 1e300) : logUniform(r, 5e-324, 1.7e308)),
    deriv: (x) => 1 / x, gradAt: [1e-3, 0.7, 1, 3e5],
  },
  {
    name: "log1p", f: (jx, a) => jx.numpy.log1p(a), ref: Math.log1p, maxUlp: 1,
    domain: (r) => (r() < 0.5 ? sign(r) * logUniform(r, 1e-310, 1) : r() < 0.2 ? -1 + logUniform(r, 1e-16, 1) : logUniform(r, 1e-5, 1e300)),
    deriv: (x) => 1 / (1 + x), gradAt: [-0.5, 0, 1e-9, 40],
  },
  {
    name: "expm1", f: (jx, a) => jx.numpy.expm1(a), ref: Math.expm1, maxUlp: 2,
    domain: (r) => (r() < 0.5 ? (r() - 0.5) * 4 : sign(r) * logUniform(r, 1e-310, 750)),
    deriv: Math.exp, gradAt: [-30, 0, 1e-9, 2],
  },
  {
    name: "sqrt", f: (jx, a) => jx.numpy.sqrt(a), ref: Math.sqrt, maxUlp: 0,
    domain: (r) => (r() < 0.1 ? -r() : logUniform(r, 5e-324, 1.7e308)),
    deriv: (x) => 0.5 / Math.sqrt(x), gradAt: [1e-4, 1, 2, 1e6],
  },
  {
    name: "tanh", f: (jx, a) => jx.numpy.tanh(a), ref: Math.tanh, maxUlp: 2,
    domain: (r) => (r() < 0.5 ? (r() - 0.5) * 8 : sign(r) * logUniform(r, 1e-310, 1000)),
    deriv: (x) => 1 / Math.cosh(x) ** 2, gradAt: [-2, 0, 1e-9, 0.549, 0.551, 30],
  },
  {
    name: "sigmoid", f: (jx, a) => jx.nn.sigmoid(a), ref: sigmoidRef, maxUlp: 2,
    domain: (r) => (r() < 0.5 ? (r() - 0.5) * 80 : sign(r) * logUniform(r, 1e-310, 800)),
    deriv: (x) => sigmoidRef(x) * sigmoidRef(-x), gradAt: [-30, 0, 1e-9, 3],
  },
  {
    name: "softplus", f: (jx, a) => jx.nn.softplus(a), ref: softplusRef, maxUlp: 2,
    domain: (r) => (r() < 0.5 ? (r() - 0.5) * 80 : sign(r) * logUniform(r, 1e-310, 1e300)),
    deriv: sigmoidRef, gradAt: [-30, 0, 1e-9, 3],
  },
  {
    name: "sin", f: (jx, a) => jx.numpy.sin(a), ref: Math.sin, maxUlp: 1,
    domain: (r) => {
      const u = r();
      if (u < 0.4) return (r() - 0.5) * 20;
      if (u < 0.6) return Math.round(r() * 1e5) * (Math.PI / 2); // next to multiples of pi/2
      return sign(r) * logUniform(r, 1e-310, 1.7e308); // Payne-Hanek beyond 2^19 pi/2
    },
    deriv: Math.cos, gradAt: [-2, 0, 1, 1e6],
  },
  {
    name: "cos", f: (jx, a) => jx.numpy.cos(a), ref: Math.cos, maxUlp: 1,
    domain: (r) => {
      const u = r();
      if (u < 0.4) return (r() - 0.5) * 20;
      if (u < 0.6) return Math.round(r() * 1e5) * (Math.PI / 2);
      return sign(r) * logUniform(r, 1e-310, 1.7e308);
    },
    deriv: (x) => -Math.sin(x), gradAt: [-2, 0, 1, 1e6],
  },
];

const POW_MAX_ULP = 1;
/** (base, exponent) pairs: the x^3, x^7, x^-0.3 on [0.01, 10], wide ranges, negative bases, specials. */
export function powPairs(n: number, seed = 7): [number[], number[]] {
  const r = mulberry32(seed);
  const xs: number[] = [];
  const ys: number[] = [];
  const sp = [0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 0.3, Infinity, -Infinity, NaN, 1e-310, 1e308, 2 ** 53, 2 ** 53 + 2];
  for (const a of sp) for (const b of sp) xs.push(a), ys.push(b);
  while (xs.length < n) {
    const u = r();
    if (u < 0.3) {
      xs.push(logUniform(r, 0.01, 10));
      ys.push([3, 7, -0.3][Math.floor(r() * 3)]);
    } else if (u < 0.55) {
      xs.push(logUniform(r, 1e-300, 1e300));
      ys.push((r() - 0.5) * 4);
    } else if (u < 0.7) {
      xs.push(-logUniform(r, 1e-3, 1e3)); // negative base: integer exponents are signed, the rest NaN
      ys.push(r() < 0.7 ? Math.round((r() - 0.5) * 40) : (r() - 0.5) * 10);
    } else if (u < 0.85) {
      const a = 1 + (r() - 0.5) * 0.2; // near 1 with a large exponent: results up to overflow
      xs.push(a);
      ys.push((r() * 1.1 * 709) / Math.log(a));
    } else {
      xs.push(logUniform(r, 1e-5, 1e5));
      ys.push((r() - 0.5) * 60);
    }
  }
  return [xs, ys];
}

export function unaryPoints(fn: Unary, n: number, seed = 1): number[] {
  const r = mulberry32(seed);
  const xs = [...SPECIALS];
  while (xs.length < n) xs.push(fn.domain(r));
  return xs;
}

const N = 100_000;

/** Max ulp distance of `got` from `ref` over the points, and the worst point. */
function worst(got: ArrayLike<number>, want: (i: number) => number, at: (i: number) => unknown): { ulp: number; finite: number; at: unknown; got: number; want: number } {
  let best = { ulp: -1, finite: 0, at: null as unknown, got: 0, want: 0 };
  for (let i = 0; i < got.length; i++) {
    const u = ulpDistance(got[i], want(i));
    if (u > best.ulp) best = { ...best, ulp: u, at: at(i), got: got[i], want: want(i) };
    if (Number.isFinite(u) && u > best.finite) best.finite = u;
  }
  return best;
}

/** Max ulp eager and under jit, the max over points where engine and Math are both finite (`finite`), the worst point. */
interface Accuracy {
  eager: number;
  jit: number;
  finite: number;
  worst: unknown;
}

/** Eager and jit max-ulp of every function on `jx` (an initialised engine) in float64. */
export async function f64Accuracy(jx: Jax, n = N): Promise<Record<string, Accuracy>> {
  const np = jx.numpy;
  const out: Record<string, Accuracy> = {};
  for (const fn of UNARY) {
    const xs = unaryPoints(fn, n);
    const arr = () => np.array(xs, { dtype: np.float64 });
    const eager = (await fn.f(jx, arr()).data()) as Float64Array;
    const jf = jx.jit((a: Arr) => fn.f(jx, a));
    const jitted = (await (jf(arr()) as Arr).data()) as Float64Array;
    jf.dispose();
    const we = worst(eager, (i) => fn.ref(xs[i]), (i) => xs[i]);
    const wj = worst(jitted, (i) => fn.ref(xs[i]), (i) => xs[i]);
    out[fn.name] = { eager: we.ulp, jit: wj.ulp, finite: Math.max(we.finite, wj.finite), worst: we.ulp >= wj.ulp ? we : wj };
  }
  const [bx, by] = powPairs(n);
  const pa = () => [np.array(bx, { dtype: np.float64 }), np.array(by, { dtype: np.float64 })] as const;
  const [a1, b1] = pa();
  const eager = (await np.power(a1, b1).data()) as Float64Array;
  const jp = jx.jit((a: Arr, b: Arr) => np.power(a, b));
  const [a2, b2] = pa();
  const jitted = (await (jp(a2, b2) as Arr).data()) as Float64Array;
  jp.dispose();
  const ref = (i: number) => Math.pow(bx[i], by[i]);
  const we = worst(eager, ref, (i) => [bx[i], by[i]]);
  const wj = worst(jitted, ref, (i) => [bx[i], by[i]]);
  out.pow = { eager: we.ulp, jit: wj.ulp, finite: Math.max(we.finite, wj.finite), worst: we.ulp >= wj.ulp ? we : wj };
  return out;
}

/** float32 outputs (as bit patterns) of every function on a fixed grid, eager and jit. */
export async function f32Bits(jx: Jax): Promise<Record<string, number[]>> {
  const np = jx.numpy;
  const out: Record<string, number[]> = {};
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  const grid: number[] = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40];
  for (let i = 0; i < 1500; i++) grid.push(Math.fround((i - 750) / 25)); // [-30, 30]
  for (let i = 0; i < 500; i++) grid.push(Math.fround(Math.exp(-80 + i * 0.32)) * (i % 2 ? -1 : 1)); // 1e-35 .. 1e34, both signs
  const cases: [string, (a: Arr) => Arr][] = [
    ...UNARY.map((fn) => [fn.name, (a: Arr) => fn.f(jx, a)] as [string, (a: Arr) => Arr]),
    ["pow3", (a) => np.power(a, 3)],
    ["pow-0.3", (a) => np.power(a, -0.3)],
    ["powxx", (a) => np.power(np.abs(a.ref), a)],
  ];
  for (const [name, f] of cases) {
    out[name] = bits((await f(np.array(grid, { dtype: np.float32 })).data()) as Float32Array);
    const jf = jx.jit(f);
    out[`${name} (jit)`] = bits((await (jf(np.array(grid, { dtype: np.float32 })) as Arr).data()) as Float32Array);
    jf.dispose();
  }
  return out;
}

// Child mode: the same measurements on the unpatched @jax-js/jax 0.1.25 from node_modules.
if (process.env.BILEVEL_F64_MATH_CHILD === "unpatched") {
  const pristine = (await import("@jax-js/jax" as string)) as Jax;
  await pristine.init("wasm");
  pristine.defaultDevice("wasm");
  const f32 = await f32Bits(pristine);
  const acc = await f64Accuracy(pristine, 20_000); // enough to show the float32 kernels
  // large output: exit only once the pipe has taken it
  const inf = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v);
  process.stdout.write(JSON.stringify({ f32, acc }, inf) + "\n", () => process.exit(0));
  await new Promise(() => {});
}

await setup("float64");

let unpatched: { f32: Record<string, number[]>; acc: Record<string, Accuracy> } | null = null;
function runUnpatched() {
  if (unpatched) return unpatched;
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, BILEVEL_F64_MATH_CHILD: "unpatched", BILEVEL_THREADS: "1" },
    timeout: 60_000,
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  assert.equal(r.status, 0, r.stderr);
  const num = (_k: string, v: unknown) => (v === "Infinity" || v === "-Infinity" || v === "NaN" ? Number(v) : v);
  unpatched = JSON.parse(r.stdout.trim().split("\n").pop()!, num);
  return unpatched!;
}

test("float64 exp, log, log1p, expm1, pow, sqrt, tanh, sigmoid, softplus, sin, cos: within their ulp bound of Math on 10^5 points each, eager and jit", async () => {
  const acc = await f64Accuracy(jax);
  if (process.env.BILEVEL_F64_MATH_REPORT) console.log(JSON.stringify(acc, null, 1));
  for (const fn of UNARY) {
    const a = acc[fn.name];
    assert.ok(a.eager <= fn.maxUlp && a.jit <= fn.maxUlp, `${fn.name}: ${a.eager} ulp eager, ${a.jit} jit (bound ${fn.maxUlp}); worst ${JSON.stringify(a.worst)}`);
  }
  assert.ok(acc.pow.eager <= POW_MAX_ULP && acc.pow.jit <= POW_MAX_ULP, `pow: ${acc.pow.eager} / ${acc.pow.jit} ulp; worst ${JSON.stringify(acc.pow.worst)}`);
});

test("the same accuracy check fails on the unpatched engine (its float64 transcendentals are float32 kernels)", () => {
  const { acc } = runUnpatched();
  if (process.env.BILEVEL_F64_MATH_REPORT) console.log(JSON.stringify(acc, null, 1));
  for (const name of ["exp", "log", "log1p", "expm1", "pow", "tanh", "sigmoid", "softplus", "sin", "cos"]) {
    assert.ok(acc[name].eager > 1e6 && acc[name].finite > 1e3, `${name}: unpatched ${acc[name].eager} ulp (${acc[name].finite} where finite)`);
  }
});

test("float32 results of every function are bit-identical to the unpatched engine, eager and jit", async () => {
  const mine = await f32Bits(jax);
  const { f32 } = runUnpatched();
  assert.deepEqual(Object.keys(mine).sort(), Object.keys(f32).sort());
  for (const k of Object.keys(mine)) assert.deepEqual(mine[k], f32[k], `${k}: float32 bits differ from the unpatched engine`);
});

test("float64 gradients of each function equal the closed-form derivative (jvp rules of log1p, expm1, pow; compositions)", async () => {
  const np = jax.numpy;
  for (const fn of UNARY) {
    const g = jax.grad((a: Arr) => fn.f(jax, a).sum());
    const got = (await g(np.array(fn.gradAt, { dtype: np.float64 })).data()) as Float64Array;
    fn.gradAt.forEach((x, i) => {
      const want = fn.deriv(x);
      assert.ok(Math.abs(got[i] - want) <= 1e-14 * Math.abs(want) + 1e-300, `${fn.name}'(${x}) = ${got[i]}, expected ${want}`);
    });
  }
  // d/dx x^y = y x^(y-1), d/dy x^y = x^y log|x|; x^0 has derivative 0 at x = 0; negative base, integer y
  const xs = [0.3, 2, -1.5, 0, 4];
  const ys = [-0.3, 7, 3, 0, 0.5];
  const [gx, gy] = jax.grad((a: Arr, b: Arr) => np.power(a, b).sum(), { argnums: [0, 1] })(
    np.array(xs, { dtype: np.float64 }),
    np.array(ys, { dtype: np.float64 }),
  ) as [Arr, Arr];
  const dx = (await gx.data()) as Float64Array;
  const dy = (await gy.data()) as Float64Array;
  xs.forEach((x, i) => {
    const y = ys[i];
    const wx = y === 0 ? 0 : y * Math.pow(x, y - 1);
    const wy = x === 0 ? 0 : Math.pow(x, y) * Math.log(Math.abs(x));
    assert.ok(Math.abs(dx[i] - wx) <= 1e-14 * Math.abs(wx), `d/dx ${x}^${y}: ${dx[i]} vs ${wx}`);
    assert.ok(Math.abs(dy[i] - wy) <= 1e-14 * Math.abs(wy), `d/dy ${x}^${y}: ${dy[i]} vs ${wy}`);
  });
});
