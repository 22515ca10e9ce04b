/**
 * IDX arrays (the MNIST format: http://yann.lecun.com/exdb/mnist/), from bytes. Reading files (gzipped
 * or not) is Node's part: `src/node/data.ts`.
 *
 * Layout: 2 zero bytes, a type code (0x08 = unsigned byte, the only type the image datasets use), the
 * number of dimensions d, then d big-endian uint32 sizes, then the data in row-major order. The reader
 * checks all of it, and that the file holds exactly prod(sizes) elements: a truncated, padded or
 * foreign file is a one-line `BilevelInputError` naming the file, never garbage.
 */
import { BilevelInputError } from "../errors.js";

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  /** Sizes of the dimensions, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The elements, row-major. */
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = { 0x08: "ubyte", 0x09: "sbyte", 0x0b: "int16", 0x0c: "int32", 0x0d: "float32", 0x0e: "float64" };

/** Decode IDX bytes (already gunzipped). `name` is used in error messages. */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  if (bytes.length < 4) throw new BilevelInputError(`${name}: not an IDX file (${bytes.length} bytes, shorter than the 4-byte magic number)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const type = bytes[2];
  const nd = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(type in TYPE_NAMES) || nd < 1 || nd > 4) {
    throw new BilevelInputError(`${name}: not an IDX file (magic number 0x${magic.toString(16).padStart(8, "0")}; expected 0x000008NN with 1 <= NN <= 4)`);
  }
  if (type !== 0x08) throw new BilevelInputError(`${name}: IDX element type ${TYPE_NAMES[type]} is not supported (expected unsigned bytes, type 0x08)`);
  const header = 4 + 4 * nd;
  if (bytes.length < header) throw new BilevelInputError(`${name}: truncated IDX header (${bytes.length} bytes, expected at least ${header})`);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = header + count;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "has trailing bytes";
    throw new BilevelInputError(`${name}: ${what}: ${bytes.length} bytes for dims [${dims.join(", ")}], expected ${expected}`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** Check `a`'s dimensions against `expectDims` (`null` = any size); `name` is used in the error. */
export function checkIdxDims(a: IdxArray, name: string, expectDims: (number | null)[]): IdxArray {
  const ok = a.dims.length === expectDims.length && expectDims.every((d, i) => d === null || d === a.dims[i]);
  if (!ok) {
    const want = expectDims.map((d) => (d === null ? "N" : String(d))).join(", ");
    throw new BilevelInputError(`${name}: IDX dims [${a.dims.join(", ")}], expected [${want}]`);
  }
  return a;
}
