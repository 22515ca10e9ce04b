/**
 * Property tests (fast-check) of the file readers on random and mutated bytes: IDX (plain and gzip),
 * sklearn CSV, IMDb JSON and safetensors. Valid files round-trip; anything else is a one-line
 * BilevelInputError whose text has no raw control bytes. Inputs are small and every case is timed, so a
 * reader that loops or allocates without bound fails the test instead of hanging it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import fc from "fast-check";
import { BilevelInputError } from "../src/errors.js";
import { parseIdx, parseImdbJson, parseSklearnCsv } from "../src/data/index.js";
import { readMaybeGzip } from "../src/node/data.js";
import { f32Tensor, parseSafetensors, serializeSafetensors, type SafeTensor, type SafeDtype } from "../src/quant/safetensors.js";

const SEED = 0x16;
const CASE_MS = 2000;

/** Run `fn` in bounded time; return its value, or null after checking for a one-line, printable input error. */
function inputErrorOr<T>(fn: () => T, what: string): T | null {
  const t0 = performance.now();
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof BilevelInputError, `${what}: expected a BilevelInputError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.ok(e.message.length > 0 && e.message.length < 2000, `${what}: message length ${e.message.length}`);
    // one line, and no raw control bytes (file contents are escaped, never echoed)
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(e.message), `${what}: unprintable message ${JSON.stringify(e.message)}`);
    return null;
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < CASE_MS, `${what}: ${ms.toFixed(0)} ms`);
  }
}

/** Random mutations of a valid file: flip, overwrite, insert, delete, truncate, append. */
const mutate = (base: Uint8Array) =>
  fc
    .array(
      fc.tuple(fc.constantFrom("flip", "set", "insert", "delete", "truncate", "append"), fc.nat(), fc.integer({ min: 0, max: 255 })),
      { minLength: 1, maxLength: 4 },
    )
    .map((ops) => {
      let b = Array.from(base);
      for (const [op, at, v] of ops) {
        const i = b.length ? at % b.length : 0;
        if (op === "flip" && b.length) b[i] ^= 1 << (v % 8);
        else if (op === "set" && b.length) b[i] = v;
        else if (op === "insert") b.splice(i, 0, v);
        else if (op === "delete") b.splice(i, 1);
        else if (op === "truncate") b = b.slice(0, i);
        else b.push(v);
      }
      return Uint8Array.from(b);
    });

function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Uint8Array.from(Buffer.concat([head, Buffer.from(data)]));
}

const idxArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }).chain((dims) =>
  fc.uint8Array({ minLength: dims.reduce((a, b) => a * b, 1), maxLength: dims.reduce((a, b) => a * b, 1) }).map((data) => ({ dims, data })),
);

test("fuzz IDX: valid files round-trip; random and mutated bytes parse consistently or give one-line errors", () => {
  fc.assert(
    fc.property(idxArb, ({ dims, data }) => {
      const a = parseIdx(idxBytes(dims, data), "x.idx");
      assert.deepEqual(a.dims, dims);
      assert.deepEqual(Array.from(a.data), Array.from(data));
    }),
    { seed: SEED, numRuns: 200 },
  );
  const check = (bytes: Uint8Array) => {
    const a = inputErrorOr(() => parseIdx(bytes, "x.idx"), "idx");
    // whatever parses is self-consistent: the header's sizes account for every byte
    if (a) assert.equal(4 + 4 * a.dims.length + a.dims.reduce((p, d) => p * d, 1), bytes.length);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { seed: SEED, numRuns: 300 });
  fc.assert(fc.property(idxArb.chain(({ dims, data }) => mutate(idxBytes(dims, data))), check), { seed: SEED, numRuns: 300 });
});

test("fuzz gzip'd IDX files: corrupt gzip streams are one-line errors naming the file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-fuzz-"));
  try {
    const file = path.join(dir, "x.idx.gz");
    const good = Uint8Array.from(zlib.gzipSync(Buffer.from(idxBytes([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6])))));
    fc.assert(
      fc.property(mutate(good), (bytes) => {
        fs.writeFileSync(file, bytes);
        const raw = inputErrorOr(() => readMaybeGzip(file), "gzip");
        if (raw) inputErrorOr(() => parseIdx(raw, file), "gunzipped idx");
      }),
      { seed: SEED, numRuns: 100 },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const csvText = (rows: number[][], targets: number[]) =>
  [`${rows.length},${rows[0]?.length ?? 0},malignant,benign`, ...rows.map((r, i) => [...r, targets[i]].join(","))].join("\n") + "\n";
const csvArb = fc.integer({ min: 1, max: 4 }).chain((d) =>
  fc.array(fc.tuple(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: d, maxLength: d }), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 5 }),
);

test("fuzz sklearn CSV: valid tables round-trip; random and mutated text gives one-line errors without raw bytes", () => {
  fc.assert(
    fc.property(csvArb, (rows) => {
      const ds = parseSklearnCsv(csvText(rows.map((r) => r[0]), rows.map((r) => r[1])), "b.csv", "b");
      assert.equal(ds.n, rows.length);
      assert.deepEqual(Array.from(ds.X), rows.flatMap((r) => r[0]).map((v) => (Object.is(v, -0) ? 0 : v)).map(Number));
      assert.deepEqual(Array.from(ds.y), rows.map((r) => r[1]));
    }),
    { seed: SEED, numRuns: 200 },
  );
  const dec = new TextDecoder();
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (t) => void inputErrorOr(() => parseSklearnCsv(t, "b.csv", "b"), "csv")), { seed: SEED, numRuns: 300 });
  fc.assert(
    fc.property(csvArb.chain((rows) => mutate(new TextEncoder().encode(csvText(rows.map((r) => r[0]), rows.map((r) => r[1]))))), (b) => void inputErrorOr(() => parseSklearnCsv(dec.decode(b), "b.csv", "b"), "csv")),
    { seed: SEED, numRuns: 300 },
  );
  // a header may claim any number of features: refused before n x d is allocated
  assert.throws(() => parseSklearnCsv("1,1000000000000,a,b\n1,0\n", "b.csv", "b"), /row 1 has 2 fields, expected 1000000000001/);
});

test("fuzz IMDb JSON: random and mutated text gives one-line errors; control bytes are escaped", () => {
  const good = JSON.stringify([{ t: "a fine film", s: 1 }, { t: "dull", s: 0 }]);
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (t) => void inputErrorOr(() => parseImdbJson(t, "r.json"), "imdb")), { seed: SEED, numRuns: 300 });
  fc.assert(
    fc.property(mutate(new TextEncoder().encode(good)), (b) => {
      const ds = inputErrorOr(() => parseImdbJson(new TextDecoder().decode(b), "r.json"), "imdb");
      if (ds) assert.equal(ds.texts.length, ds.labels.length);
    }),
    { seed: SEED, numRuns: 300 },
  );
  assert.throws(() => parseImdbJson("\u0000\u001b[31mgarbage", "r.json"), (e: Error) => e instanceof BilevelInputError && !e.message.includes("\u001b") && e.message.includes("\\u001b"));
});

const DTYPES: SafeDtype[] = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"];
const SIZE: Record<SafeDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const tensorArb: fc.Arbitrary<SafeTensor> = fc
  .tuple(fc.constantFrom(...DTYPES), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }))
  .chain(([dtype, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1) * SIZE[dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((bytes) => ({ dtype, shape, bytes }));
  });
const fileArb = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== "__metadata__"), tensorArb), { selector: (t) => t[0], minLength: 1, maxLength: 4 });

/** A safetensors file with a hand-written header (for invalid layouts the writer cannot produce). */
function rawFile(header: string, dataBytes: number): Uint8Array {
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + head.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  return out;
}

test("fuzz safetensors: written files round-trip byte-exact; random and mutated bytes give one-line errors", () => {
  fc.assert(
    fc.property(fileArb, fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })), { nil: null }), (entries, metadata) => {
      const bytes = serializeSafetensors({ metadata, tensors: new Map(entries) });
      const parsed = parseSafetensors(bytes, "m.safetensors");
      assert.deepEqual([...parsed.tensors.keys()], entries.map((e) => e[0]));
      assert.equal(Buffer.compare(Buffer.from(serializeSafetensors(parsed)), Buffer.from(bytes)), 0);
    }),
    { seed: SEED, numRuns: 200 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void inputErrorOr(() => parseSafetensors(b, "m.safetensors"), "safetensors")), { seed: SEED, numRuns: 300 });
  fc.assert(
    fc.property(fileArb.chain((entries) => mutate(serializeSafetensors({ metadata: { format: "pt" }, tensors: new Map(entries) }))), (b) => {
      const parsed = inputErrorOr(() => parseSafetensors(b, "m.safetensors"), "safetensors");
      if (!parsed) return;
      // whatever parses tiles its data section exactly
      const covered = [...parsed.tensors.values()].reduce((a, t) => a + t.bytes.length, 0);
      assert.equal(8 + Number(Buffer.from(b).readBigUInt64LE(0)) + covered, b.length);
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test("safetensors: overlapping tensors, repeated keys, gaps, trailing bytes and non-object headers name the tensor in one line", () => {
  const t = (off: [number, number]) => ({ dtype: "F32", shape: [1], data_offsets: off });
  const cases: [string, Uint8Array, RegExp][] = [
    ["overlap", rawFile(JSON.stringify({ a: t([0, 4]), b: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }), 8), /tensor 'a' \(bytes 0\.\.4\) overlaps tensor 'b'|tensor 'b' .* overlaps tensor 'a'/],
    ["same bytes twice", rawFile(JSON.stringify({ a: t([0, 4]), b: t([0, 4]) }), 4), /overlaps tensor 'a'/],
    ["repeated key", rawFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /tensor 'w' appears twice/],
    ["gap", rawFile(JSON.stringify({ a: t([0, 4]), b: t([8, 12]) }), 12), /data bytes 4\.\.8 are not covered by any tensor \(before tensor 'b'\)/],
    ["trailing", rawFile(JSON.stringify({ a: t([0, 4]) }), 9), /5 trailing bytes after the last tensor 'a'/],
    ["array header", rawFile("[1, 2]", 0), /bad header: expected a JSON object, got an array/],
    ["number header", rawFile("7", 0), /bad header: expected a JSON object, got number/],
    ["control chars in a name", rawFile(JSON.stringify({ "a\u001b[2J": t([0, 4]) }), 8), /trailing bytes after the last tensor 'a\\u001b\[2J'/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(
      () => parseSafetensors(bytes, "m.safetensors"),
      (e: unknown) => e instanceof BilevelInputError && re.test(e.message) && e.message.startsWith("m.safetensors: ") && !/[\u0000-\u001f]/.test(e.message),
      what,
    );
  }
  // a valid file written by this writer passes (the checks do not reject the canonical layout)
  const ok = serializeSafetensors({ metadata: null, tensors: new Map([["a", f32Tensor([1], [1])], ["e", f32Tensor([], [0])], ["b", f32Tensor([2, 3], [2])]]) });
  assert.deepEqual([...parseSafetensors(ok).tensors.keys()], ["a", "e", "b"]);
});
