/**
 * Minimal repros of the jax-js 0.1.25 bugs that bilevel's engine patches fix (patches/jax/, explained in
 * patches/README.md), written against any engine instance: the repository's (test/engine-jit.test.ts),
 * the one inside an installed bilevel tarball (test/package.test.ts) and the unpatched @jax-js/jax
 * (to show each repro fails there). Each `run` throws (node:assert) when the engine gets it wrong.
 * Imports are types only, so the compiled file runs wherever `jax` comes from.
 */
import assert from "node:assert/strict";
import type * as JaxModule from "../src/jax.js";

type Jax = Pick<typeof JaxModule, "numpy" | "grad" | "jit" | "random" | "tree"> & Partial<Pick<typeof JaxModule, "customVjp">>;
/** The two oracles the exponential-compile repro (bug 4) needs, from bilevel's `oracles`. */
export interface ReproOracles {
  hvpYY(fn: (x: never, y: never) => Arr, x: unknown, y: unknown, v: unknown): unknown;
  neumann(matvec: (v: never) => never, b: unknown, iters: number, alpha: number): unknown;
}
type Arr = JaxModule.Array;
export type FloatDt = "float32" | "float64";

export interface EngineRepro {
  /** Test name. */
  name: string;
  /** The patch that fixes it, or the one it guards. */
  patch: string;
  /** Whether the unpatched @jax-js/jax 0.1.25 gets it wrong (false: a guard that holds on every engine). */
  failsUnpatched: boolean;
  run(): Promise<void>;
}

/** The values of `a` (consumed), with -0 read as 0. */
export const read = async (a: Arr): Promise<number[]> => Array.from((await a.data()) as ArrayLike<number>, (v) => v + 0);

/** Small integers ((i a) mod b) - 1: every product and sum of them is exact in float32. */
const ints = (len: number, a: number, b: number): number[] => Array.from({ length: len }, (_, i) => ((i * a) % b) - 1);
/** X [m, k] times W [n, k]^T, in float64 on the host. */
function xwtExact(X: number[], W: number[], m: number, k: number, n: number): number[] {
  const want: number[] = new Array(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) want[i * n + j] += X[i * k + c] * W[j * k + c];
  return want;
}
/** G [K, r]^T times X [K, d], in float64 on the host. */
function gtxExact(G: number[], X: number[], K: number, r: number, d: number): number[] {
  const want: number[] = new Array(r * d).fill(0);
  for (let i = 0; i < K; i++) for (let a = 0; a < r; a++) for (let c = 0; c < d; c++) want[a * d + c] += G[i * r + a] * X[i * d + c];
  return want;
}

/** Patch 100's chain, jitted: `rounds` times x <- x + rowsum(a (r + 1)) - colmax(x + rowsum(a (r + 1))). */
export function reuseChain(jax: Pick<Jax, "jit">, rounds: number): ((x: Arr, a: Arr) => Arr) & { dispose(): void } {
  return jax.jit((x: Arr, a: Arr) => {
    for (let r = 0; r < rounds; r++) {
      x = x.add(a.ref.mul(r + 1).sum(1));
      const cmax = x.ref.max(0);
      x = x.sub(cmax);
    }
    a.dispose();
    return x;
  }) as never;
}

/**
 * Every repro, bound to one engine module (initialised, float64 available). With `oracles` the list
 * also has bug 4 (a jit compile that takes minutes on the unpatched package, so leave it out there).
 */
export function engineRepros(jax: Jax, oracles?: ReproOracles): EngineRepro[] {
  const np = jax.numpy;
  const dtypeOf = (dt: FloatDt) => (dt === "float64" ? np.float64 : np.float32);
  const arr = (data: number[], shape: number[], dt: FloatDt): Arr => np.array(data, { dtype: dtypeOf(dt) }).reshape(shape);
  const out: EngineRepro[] = [];
  for (const dt of ["float64", "float32"] as const) {
    out.push({
      name: `${dt}: jit of grad(1/2 v'Dv) with a number literal scale equals D v (bug 1: literal of the wrong width)`,
      patch: "010 (1)",
      failsUnpatched: dt === "float64",
      async run() {
        // D symmetric with small integers: D v is exact in both precisions.
        const D = arr([2, 1, 0, 1, 3, 1, 0, 1, 4], [3, 3], dt);
        const g = (v: Arr): Arr => jax.grad((w: Arr) => np.matmul(D.ref, w.ref).mul(w).sum().mul(0.5))(v);
        const v = () => arr([1, 2, 3], [3], dt);
        const exact = [4, 10, 14];
        assert.deepEqual(await read(g(v())), exact);
        const jg = jax.jit(g);
        try {
          assert.deepEqual(await read(jg(v()) as Arr), exact);
        } finally {
          jg.dispose();
          D.dispose();
        }
      },
    });
    out.push({
      name: `${dt}: number literals keep their value under jit (bug 2: rounded to float32)`,
      patch: "010 (2)",
      failsUnpatched: dt === "float64",
      async run() {
        const f = (x: Arr): Arr => x.mul(0.1).add(1 / 3);
        const x = [1, 2, 4, -8];
        // float64: exactly x*0.1 + 1/3 in double; float32: the same in float32 arithmetic
        const r = dt === "float64" ? (a: number) => a : Math.fround;
        const exact = x.map((a) => r(r(a * r(0.1)) + r(1 / 3)));
        assert.deepEqual(await read(f(arr(x, [4], dt))), exact);
        const jf = jax.jit(f);
        try {
          assert.deepEqual(await read(jf(arr(x, [4], dt)) as Arr), exact);
        } finally {
          jf.dispose();
        }
      },
    });
  }
  out.push({
    name: "float32: a product with a size-1 contraction (out[i,j,k] = a[i,j] b[j,k]) is exact, eager and jit (bug 3: wasm SIMD tile)",
    patch: "010 (3)",
    failsUnpatched: true,
    async run() {
      const n = 4;
      const a = Array.from({ length: n * n }, (_, i) => ((i * 7) % 9) - 4);
      const b = Array.from({ length: n * n }, (_, i) => ((i * 5) % 11) - 5);
      const exact: number[] = [];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) exact.push(a[i * n + j] * b[j * n + k] + 0);
      const f = (A: Arr, B: Arr): Arr => np.matmul(A.reshape([n, n, 1, 1]), B.reshape([1, n, 1, n])).reshape([n * n * n]);
      for (const dt of ["float32", "float64"] as const) {
        assert.deepEqual(await read(f(arr(a, [n, n], dt), arr(b, [n, n], dt))), exact, `${dt} eager`);
        const jf = jax.jit(f);
        try {
          assert.deepEqual(await read(jf(arr(a, [n, n], dt), arr(b, [n, n], dt)) as Arr), exact, `${dt} jit`);
        } finally {
          jf.dispose();
        }
      }
    },
  });
  out.push({
    name: "float32: reverse-over-reverse hypergradient under jit equals eager and float64 (bug 3, as hit by ITD on hyperclean)",
    patch: "010 (3)",
    failsUnpatched: true,
    async run() {
      // h(x) = d/dx F(g(x)), g(x) = grad_W sum_i x_i <(X W^T)_i, Y_i>, F(G) = ||Xv G^T||^2: integer data.
      const m = 4, d = 4, k = 4;
      const ints = (len: number, s: number) => Array.from({ length: len }, (_, i) => ((i * s) % 7) - 3);
      const run = async (dt: FloatDt, jit: boolean): Promise<number[]> => {
        const X = arr(ints(m * d, 3), [m, d], dt);
        const Xv = arr(ints(m * d, 5), [m, d], dt);
        const Y = arr(ints(m * k, 2), [m, k], dt);
        const h = (x: Arr, W0: Arr): Arr =>
          jax.grad((xx: Arr) => {
            const G = jax.grad((W: Arr) => np.matmul(X.ref, W.transpose()).mul(Y.ref).sum(-1).mul(xx.ref).sum())(W0);
            xx.dispose();
            const L = np.matmul(Xv.ref, G.transpose());
            return L.ref.mul(L).sum();
          })(x);
        const x = arr(ints(m, 4), [m], dt);
        const W = arr(ints(k * d, 6), [k, d], dt);
        let res: number[];
        if (jit) {
          const jh = jax.jit(h);
          res = await read(jh(x, W) as Arr);
          jh.dispose();
        } else res = await read(h(x, W));
        X.dispose();
        Xv.dispose();
        Y.dispose();
        return res;
      };
      const exact = await run("float64", false); // integers, exact in float64
      assert.ok(exact.some((v) => v !== 0));
      assert.deepEqual(await run("float64", true), exact, "float64 jit");
      assert.deepEqual(await run("float32", false), exact, "float32 eager");
      assert.deepEqual(await run("float32", true), exact, "float32 jit");
    },
  });
  out.push({
    name: "jit common-subexpression elimination (patch 010 (9)) keeps equations that differ in params, literals or inputs apart",
    patch: "010 (9)",
    failsUnpatched: false,
    async run() {
      const body = (a: Arr, b: Arr): Arr[] => [
        a.ref.sum(0), // same input, different axis
        a.ref.sum(1),
        a.ref.mul(2), // same input, different literal
        a.ref.mul(3),
        a.ref.mul(2).add(a.ref.mul(2)), // true duplicates: 4a
        np.matmul(a.ref, b.ref), // same op, different operand order
        np.matmul(b.ref, a.ref),
        a.ref.transpose([1, 0]).add(a.transpose([1, 0])), // duplicate views: 2 a^T
        b.mul(1),
      ];
      const a = () => arr([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3], "float64");
      const b = () => arr([0, 1, 0, 2, 0, 1, 1, 1, 3], [3, 3], "float64");
      const eager = await Promise.all(body(a(), b()).map(read));
      const f = jax.jit(body);
      const jitted = await Promise.all((f(a(), b()) as Arr[]).map(read));
      f.dispose();
      assert.deepEqual(jitted, eager);
      assert.notDeepEqual(eager[0], eager[1]);
      assert.notDeepEqual(eager[5], eager[6]);
      // random bits from different keys in one jit equal those of one-key jits (jit's bits differ from
      // eager's in jax-js 0.1.25, so compare jit with jit)
      const u = (seed: number) => jax.random.uniform(jax.random.key(seed), [3]);
      const both = jax.jit(() => [u(1), u(2)]);
      const [r1, r2] = await Promise.all((both() as Arr[]).map(read));
      both.dispose();
      const one = async (seed: number) => {
        const g = jax.jit(() => u(seed));
        const r = await read(g() as Arr);
        g.dispose();
        return r;
      };
      assert.deepEqual(r1, await one(1));
      assert.deepEqual(r2, await one(2));
      assert.notDeepEqual(r1, r2);
    },
  });
  out.push({
    name: "float64: exp, log, log1p, expm1, power, tanh and sin are float64-accurate, eager and jit (patch 040: they were float32 kernels)",
    patch: "040",
    failsUnpatched: true,
    async run() {
      const x = [0.3, 2.5, 7];
      const cases: [string, (a: Arr) => Arr, (v: number) => number][] = [
        ["exp", (a) => np.exp(a), Math.exp],
        ["log", (a) => np.log(a), Math.log],
        ["log1p", (a) => np.log1p(a), Math.log1p],
        ["expm1", (a) => np.expm1(a), Math.expm1],
        ["power(x, 7)", (a) => np.power(a, 7), (v) => v ** 7],
        ["power(x, -0.3)", (a) => np.power(a, -0.3), (v) => v ** -0.3],
        ["tanh", (a) => np.tanh(a), Math.tanh],
        ["sin", (a) => np.sin(a), Math.sin],
      ];
      for (const [name, f, ref] of cases) {
        const jf = jax.jit(f);
        try {
          for (const got of [await read(f(arr(x, [3], "float64"))), await read(jf(arr(x, [3], "float64")) as Arr)]) {
            got.forEach((g, i) => assert.ok(Math.abs(g - ref(x[i])) <= 4.5e-16 * Math.abs(ref(x[i])), `${name}(${x[i]}) = ${g}, Math gives ${ref(x[i])}`));
          }
        } finally {
          jf.dispose();
        }
      }
    },
  });
  if (oracles) {
    out.push({
      name: "a 12-term Neumann series (toy-lls AID) compiles under jit in seconds and matches the closed form (bug 4: exponential fusion)",
      patch: "010 (4)",
      failsUnpatched: true,
      async run() {
        const n = 4, K = 12;
        const half = (v: Arr): Arr => v.ref.mul(v).sum().mul(0.5);
        // toy-lls' lower level: y = {y1, y2}, f does not depend on y2
        const lower = (x: Arr, y: { y1: Arr; y2: Arr }): Arr => {
          y.y2.dispose();
          return half(y.y1.ref).sub(x.mul(y.y1).sum());
        };
        const ones = () => np.ones([n], { dtype: np.float64 });
        const body = (x: Arr, y: { y1: Arr; y2: Arr }) =>
          oracles.neumann(((v: unknown) => oracles.hvpYY(lower as never, jax.tree.ref(x), jax.tree.ref(y), v)) as never, { y1: ones(), y2: ones() }, K, 0.1) as { y1: Arr; y2: Arr };
        const z = () => np.zeros([n], { dtype: np.float64 });
        const t0 = Date.now();
        const f = jax.jit(body);
        const res = f(z(), { y1: z(), y2: z() }) as unknown as { y1: Arr; y2: Arr };
        const [y1, y2] = [await read(res.y1), await read(res.y2)];
        f.dispose();
        // H = diag(1 on y1, 0 on y2): v = alpha sum_{j<=K} (I - alpha H)^j 1
        const want1 = 0.1 * Array.from({ length: K + 1 }, (_, j) => 0.9 ** j).reduce((s, t) => s + t, 0);
        for (const v of y1) assert.ok(Math.abs(v - want1) < 1e-12, `y1 ${v} vs ${want1}`);
        for (const v of y2) assert.ok(Math.abs(v - 0.1 * (K + 1)) < 1e-12, `y2 ${v}`);
        assert.ok(Date.now() - t0 < 15_000, `compile + run took ${Date.now() - t0} ms`);
      },
    });
  }
  out.push({
    name: "customVjp: grad and jit(grad) follow the custom rule (x^3 with a bwd of 6 x^2 ct), nested grad differentiates bwd",
    patch: "030",
    failsUnpatched: true,
    async run() {
      assert.equal(typeof jax.customVjp, "function", "the engine has no customVjp");
      const cube = (x: Arr): Arr => x.ref.mul(x.ref).mul(x);
      const c = jax.customVjp!(
        (x: Arr) => cube(x),
        (x: Arr) => [cube(x.ref), x] as [Arr, Arr],
        (x: Arr, ct: Arr) => [x.ref.mul(x).mul(6).mul(ct)],
      );
      const g = (x: Arr): Arr => jax.grad((z: Arr) => c(z).sum())(x);
      const x = () => arr([1, -2, 3], [3], "float64");
      assert.deepEqual(await read(g(x())), [6, 24, 54]);
      const jg = jax.jit(g);
      assert.deepEqual(await read(jg(x()) as Arr), [6, 24, 54]);
      jg.dispose();
      assert.deepEqual(await read(jax.grad((z: Arr) => g(z).sum())(x())), [12, -24, 36]);
    },
  });
  out.push({
    name: "float32 G^T X products split over the worker pool (patch 050: balanced chunks of tile rows) compute every output row exactly",
    patch: "050",
    failsUnpatched: false,
    async run() {
      // small integers: every product and sum is exact in float32, so any row computed by the wrong
      // worker range (or skipped) shows; rows 10, 7 and 3 give different chunk boundaries
      const K = 600;
      const D = 784;
      const X = Array.from({ length: K * D }, (_, i) => (i * 7) % 4);
      for (const rows of [10, 7, 3]) {
        const G = Array.from({ length: K * rows }, (_, i) => (i * 5) % 3);
        const want = gtxExact(G, X, K, rows, D);
        const f = jax.jit((g: Arr, x: Arr) => np.matmul(g.transpose(), x));
        const got = await read(f(arr(G, [K, rows], "float32"), arr(X, [K, D], "float32")) as Arr);
        f.dispose();
        assert.deepEqual(got, want, `${rows} rows`);
      }
    },
  });
  out.push({
    name: "float32 skinny products X W^T and G^T X (patch 060: narrow K-SIMD tiles, loads at unrolled offsets, splat loads) are exact for narrow and odd shapes",
    patch: "060",
    failsUnpatched: false,
    async run() {
      // small integers: every product and sum is exact in float32, so a wrong tile, offset or tail shows.
      // X W^T: [m, k] x [n, k]^T with n = 10 (hyperclean), narrow and odd n, k a multiple of 4 (SIMD over k) or not
      for (const [m, k, n] of [[600, 784, 10], [37, 12, 10], [64, 784, 6], [10, 100, 12], [33, 8, 3], [41, 44, 16], [20, 30, 10], [9, 784, 17]]) {
        const X = ints(m * k, 7, 4);
        const W = ints(n * k, 5, 3);
        const want = xwtExact(X, W, m, k, n);
        const f = jax.jit((x: Arr, w: Arr) => np.matmul(x, w.transpose()));
        const got = await read(f(arr(X, [m, k], "float32"), arr(W, [n, k], "float32")) as Arr);
        f.dispose();
        assert.deepEqual(got, want, `X W^T ${m}x${k}x${n}`);
        const eager = await read(np.matmul(arr(X, [m, k], "float32"), arr(W, [n, k], "float32").transpose()));
        assert.deepEqual(eager, want, `X W^T ${m}x${k}x${n} eager`);
      }
      // G^T X: [K, r]^T x [K, d] (broadcast loads of G as load32_splat) with r = 10 (hyperclean), other even and odd r, K not a multiple of 4
      for (const [K, r, d] of [[600, 10, 784], [50, 10, 20], [37, 6, 8], [41, 14, 12], [64, 2, 784], [33, 10, 4], [5, 12, 36]]) {
        const G = ints(K * r, 5, 3);
        const X = ints(K * d, 7, 4);
        const want = gtxExact(G, X, K, r, d);
        const f = jax.jit((g: Arr, x: Arr) => np.matmul(g.transpose(), x));
        const got = await read(f(arr(G, [K, r], "float32"), arr(X, [K, d], "float32")) as Arr);
        f.dispose();
        assert.deepEqual(got, want, `G^T X ${K}x${r}x${d}`);
      }
    },
  });
  out.push({
    name: "float32 products with K-SIMD output tiles (patch 070: X W^T rows of any width share X's loads across the row) are exact, jitted and batched",
    patch: "070",
    failsUnpatched: false,
    async run() {
      // before patch 070 a row width that is not a multiple of 4 (the 10 classes of hyperclean) fell back to
      // a 1 x 1 tile; now the tile spans the row, so a wrong share of X's or W's pointer, or a wrong row tail
      // (m odd, m < micro rows), shows in these exact small-integer sums
      for (const [m, k, n] of [[601, 784, 10], [7, 16, 5], [3, 64, 7], [1, 8, 10], [50, 20, 1], [19, 12, 13], [12, 24, 15], [33, 784, 9]]) {
        const X = ints(m * k, 7, 4);
        const W = ints(n * k, 5, 3);
        const want = xwtExact(X, W, m, k, n);
        const f = jax.jit((x: Arr, w: Arr) => np.matmul(x, w.transpose()).mul(2).add(1));
        const got = await read(f(arr(X, [m, k], "float32"), arr(W, [n, k], "float32")) as Arr);
        f.dispose();
        assert.deepEqual(got, want.map((v) => 2 * v + 1), `X W^T ${m}x${k}x${n}`);
      }
      // batched: [b, m, k] x [b, n, k]^T, each batch its own W
      const [b, m, k, n] = [3, 5, 12, 10];
      const X = ints(b * m * k, 7, 4);
      const W = ints(b * n * k, 5, 3);
      const want: number[] = new Array(b * m * n).fill(0);
      for (let q = 0; q < b; q++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) want[(q * m + i) * n + j] += X[(q * m + i) * k + c] * W[(q * n + j) * k + c];
      const f = jax.jit((x: Arr, w: Arr) => np.matmul(x, w.transpose([0, 2, 1])));
      const got = await read(f(arr(X, [b, m, k], "float32"), arr(W, [b, n, k], "float32")) as Arr);
      f.dispose();
      assert.deepEqual(got, want, `batched X W^T ${b}x${m}x${k}x${n}`);
    },
  });
  out.push({
    name: "float32 G^T X with few output rows (patch 080: half the rows per tile, micro tiles up to 5 rows x 3 vectors) is exact",
    patch: "080",
    failsUnpatched: false,
    async run() {
      // every even row count up to 16 takes the new plan (tile = half the rows); a column count that is not a
      // multiple of 12 exercises the vector tail, K not a multiple of the k tile the partial sums
      for (const [K, r, d] of [[600, 10, 784], [37, 4, 20], [70, 8, 28], [65, 16, 44], [129, 6, 12], [5, 10, 8], [300, 12, 100]]) {
        const G = ints(K * r, 5, 3);
        const X = ints(K * d, 7, 4);
        const want = gtxExact(G, X, K, r, d);
        const f = jax.jit((g: Arr, x: Arr) => np.matmul(g.transpose(), x).mul(3));
        const got = await read(f(arr(G, [K, r], "float32"), arr(X, [K, d], "float32")) as Arr);
        f.dispose();
        assert.deepEqual(got, want.map((v) => 3 * v), `G^T X ${K}x${r}x${d}`);
      }
    },
  });
  out.push({
    name: "a long chain of dependent kernels in flight at once (patch 090: the pool posts without waiting) keeps its order",
    patch: "090",
    failsUnpatched: false,
    async run() {
      // 40 rounds of kernels that each read the other worker's rows of the previous result (the rows are
      // flipped, and a column max runs over all rows): with every kernel posted before the first finishes,
      // a chunk that ran before the chunks it reads would show. Small integers keep every value exact:
      // x <- flip_rows(x) - colmax(x) + (rowsum(x) mod 3), which keeps each column's spread bounded.
      const [n, d] = [3000, 10];
      const x0 = Array.from({ length: n * d }, (_, i) => (i * 7) % 5);
      let want = [...x0];
      for (let r = 0; r < 40; r++) {
        const cmax = Array.from({ length: d }, (_, j) => Math.max(...Array.from({ length: n }, (_, i) => want[i * d + j])));
        const next: number[] = new Array(n * d);
        for (let i = 0; i < n; i++) {
          const src = n - 1 - i;
          const sm = want.slice(src * d, (src + 1) * d).reduce((a, b) => a + b, 0);
          for (let j = 0; j < d; j++) next[i * d + j] = want[src * d + j] - cmax[j] + (((sm % 3) + 3) % 3);
        }
        want = next;
      }
      const f = jax.jit((x: Arr) => {
        for (let r = 0; r < 40; r++) {
          const cmax = x.ref.max(0, { keepdims: true });
          const fl = np.flip(x, 0);
          const sm = fl.ref.sum(1, { keepdims: true });
          const m3 = sm.ref.sub(np.floor(sm.div(3)).mul(3));
          x = fl.sub(cmax).add(m3);
        }
        return x;
      });
      for (let rep = 0; rep < 3; rep++) {
        const got = await read(f(arr(x0, [n, d], "float32")) as Arr);
        assert.deepEqual(got, want, `chain, repetition ${rep}`);
      }
      f.dispose();
    },
  });
  out.push({
    name: "a jitted chain that reuses its freed buffers (patch 100) keeps every value, when the next writer of a buffer runs inline while a pool kernel still reads it",
    patch: "100",
    failsUnpatched: false,
    async run() {
      // Each round: s = rowsum(A (r + 1)), a 10-element kernel small enough to run on the calling thread,
      // then x <- x + s - colmax(x + s), 30000-element kernels on the worker pool that read s. s is freed
      // after its last read, so round r + 2's s gets round r's buffer back; its inline kernel must not
      // overwrite it before the pool has read it (patch 100 tracks pending reads for that). Small
      // integers keep every value exact.
      const [n, d, rounds] = [3000, 10, 30];
      const A = Array.from({ length: d * d }, (_, i) => (i % 7) - 3);
      const x0 = Array.from({ length: n * d }, (_, i) => (i * 7) % 11);
      let want = [...x0];
      for (let r = 0; r < rounds; r++) {
        const sv = Array.from({ length: d }, (_, j) => (r + 1) * A.slice(j * d, (j + 1) * d).reduce((u, v) => u + v, 0));
        want = want.map((v, i) => v + sv[i % d]);
        const cmax = Array.from({ length: d }, (_, j) => Math.max(...Array.from({ length: n }, (_, i) => want[i * d + j])));
        want = want.map((v, i) => v - cmax[i % d]);
      }
      const f = reuseChain(jax, rounds);
      for (let rep = 0; rep < 3; rep++) {
        const got = await read(f(arr(x0, [n, d], "float32"), arr(A, [d, d], "float32")) as Arr);
        assert.deepEqual(got, want, `reuse chain, repetition ${rep}`);
      }
      f.dispose();
    },
  });
  out.push({
    name: "float32 and float64 sums of zeros under jit (patch 061: a reduction of the constant 0 runs as its epilogue) keep the epilogue's value",
    patch: "061",
    failsUnpatched: false,
    async run() {
      for (const dt of ["float32", "float64"] as const) {
        const b = Array.from({ length: 10 * 7 }, (_, i) => (i % 5) - 2);
        // zeros [10, 600] x a [600, 7] + b: a product with a literal zero operand, then an epilogue
        const f = jax.jit((a: Arr, bb: Arr) => np.matmul(np.zeros([10, 600], { dtype: dtypeOf(dt) }), a).add(bb).mul(3));
        const got = await read(f(arr(Array.from({ length: 600 * 7 }, (_, i) => i % 3), [600, 7], dt), arr(b, [10, 7], dt)) as Arr);
        f.dispose();
        assert.deepEqual(got, b.map((v) => 3 * v), `${dt} zeros x a + b`);
        // the gradient of a loss that does not depend on v through a product: d/dv sum(0 * (X v)) = 0
        const X = arr(Array.from({ length: 40 * 8 }, (_, i) => (i % 7) - 3), [40, 8], dt);
        const g = jax.jit((v: Arr) => jax.grad((w: Arr) => np.matmul(X.ref, w.ref).mul(0).sum().add(w.ref.mul(w).sum()))(v));
        const v = Array.from({ length: 8 }, (_, i) => i - 4);
        assert.deepEqual(await read(g(arr(v, [8], dt)) as Arr), v.map((x) => 2 * x), `${dt} grad`);
        g.dispose();
        X.dispose();
      }
    },
  });
  return out;
}
