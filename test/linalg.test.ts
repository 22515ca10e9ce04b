/** src/linalg.ts: the subspace-iteration eigensolver against a matrix with known spectrum. */
import assert from "node:assert/strict";
import test from "node:test";
import { orthonormalizeColumns, randomSPD, topEigen } from "../src/linalg.js";
import { gaussian, mulberry32 } from "../src/engine/index.js";

test("topEigen finds the leading eigenpairs of an SPD matrix with eigenvalues cond^(i/(n-1))", () => {
  const n = 12;
  const normal = (k: number) => gaussian(mulberry32(5), k);
  const A = randomSPD(n, 100, normal);
  const k = 3;
  const { values, vectors } = topEigen(A.data, n, k, 400, gaussian(mulberry32(9), n * k));
  const want = [100, Math.pow(100, 10 / 11), Math.pow(100, 9 / 11)];
  values.forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-8 * want[j], `value ${j}: ${v} vs ${want[j]}`));
  for (let j = 0; j < k; j++) {
    let res = 0;
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let l = 0; l < n; l++) av += A.data[i * n + l] * vectors[l * k + j];
      res += (av - values[j] * vectors[i * k + j]) ** 2;
    }
    assert.ok(Math.sqrt(res) < 1e-6 * values[j], `residual ${j}: ${Math.sqrt(res)}`);
  }
  const q = orthonormalizeColumns(Float64Array.from(vectors), n, k);
  vectors.forEach((v, i) => assert.ok(Math.abs(Math.abs(v) - Math.abs(q[i])) < 1e-10, "columns already orthonormal"));
});
