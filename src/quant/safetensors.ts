/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors), host side
 * (no engine arrays). @jax-js/jax 0.1.25 ships no safetensors helpers, so this is a small own
 * implementation of the format:
 *
 *     [8 bytes: N, little-endian u64] [N bytes: UTF-8 JSON header] [data bytes]
 *
 * The header maps each tensor name to `{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}`
 * (offsets relative to the start of the data section), plus an optional `"__metadata__"` object of
 * string -> string. All tensor data is little-endian, row-major.
 *
 * Round trip: `readSafetensors` keeps every tensor's raw bytes, the header's key order and the
 * metadata; `writeSafetensors` writes the header as compact JSON in that order, padded with spaces to a
 * multiple of 8 bytes (as the reference Rust writer does), and the data in header order. A file written
 * this way (and any file of the reference writer, whose header order is its data order) is reproduced
 * byte for byte by read-then-write.
 */
import fs from "node:fs";
import { BilevelInputError, printable } from "../errors.js";
import { writeFileAtomic } from "../node/fsio.js";

/** Tensor element types this module knows. F16/BF16/F64 and the integer types are read as float64 values. */
export type SafeDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const BYTES: Record<SafeDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** One tensor of a safetensors file: its dtype, shape and raw little-endian bytes. */
export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** The raw bytes (length = prod(shape) * bytes per element). */
  bytes: Uint8Array;
}

/** The content of a safetensors file: metadata (or null when absent) and tensors in header order. */
export interface SafetensorsFile {
  metadata: Record<string, string> | null;
  /** Tensors by name; insertion order = header order (= data order on write). */
  tensors: Map<string, SafeTensor>;
  /** Where `__metadata__` sat among the header keys (0 = first); kept so a rewrite is byte-exact. */
  metadataIndex?: number;
}

const fail = (where: string, msg: string): never => {
  throw new BilevelInputError(`${where}: ${msg}`);
};

/**
 * The top-level keys of a JSON object text in order, duplicates included (JSON.parse keeps only the
 * last of a repeated key, which would hide a repeated tensor). Assumes `text` parsed as an object.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = depth === 1;
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

/** A tensor name for a message: quoted, control characters escaped, long names cut. */
const q = (name: string) => `'${printable(name, 100)}'`;

/**
 * Parse a safetensors buffer. Throws a one-line BilevelInputError naming the file (`where`) and the
 * offending tensor or field on a truncated file, a header that is not a JSON object, a repeated key, an
 * unknown dtype, inconsistent offsets, tensors that overlap, and data bytes that no tensor covers (gaps
 * or trailing bytes): as the reference implementation, the tensors must tile the data section exactly.
 */
export function parseSafetensors(buf: Uint8Array, where = "safetensors"): SafetensorsFile {
  where = printable(where, 200);
  if (buf.length < 8) fail(where, `truncated: ${buf.length} bytes, expected at least 8 (the header length)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > buf.length - 8) fail(where, `truncated or not a safetensors file: header length ${n} exceeds the file (${buf.length} bytes)`);
  let header: unknown;
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (e) {
    fail(where, `bad header: not valid UTF-8 JSON (${printable((e as Error).message, 60)})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail(where, `bad header: expected a JSON object, got ${Array.isArray(header) ? "an array" : header === null ? "null" : typeof header}`);
  // The header's own key order (Object.keys would move integer-like names such as "0" first).
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) fail(where, `bad header: tensor ${q(k)} appears twice`);
    seen.add(k);
  }
  const data = buf.subarray(8 + n);
  const out: SafetensorsFile = { metadata: null, tensors: new Map() };
  const spans: { name: string; b: number; e: number }[] = [];
  keys.forEach((name, idx) => {
    const v = (header as Record<string, unknown>)[name];
    if (name === "__metadata__") {
      if (v === null || typeof v !== "object" || Array.isArray(v)) fail(where, "bad header: __metadata__ must be an object of strings");
      for (const [k, s] of Object.entries(v as object)) {
        if (typeof s !== "string") fail(where, `bad header: __metadata__.${printable(k, 60)} must be a string`);
      }
      out.metadata = { ...(v as Record<string, string>) };
      out.metadataIndex = idx;
      return;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t === null || typeof t !== "object" || Array.isArray(t)) fail(where, `tensor ${q(name)}: header entry is not an object`);
    if (typeof t.dtype !== "string" || !Object.prototype.hasOwnProperty.call(BYTES, t.dtype)) fail(where, `tensor ${q(name)}: unknown dtype ${printable(JSON.stringify(t.dtype) ?? "undefined", 30)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      fail(where, `tensor ${q(name)}: shape must be an array of non-negative integers`);
    }
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((s) => Number.isSafeInteger(s) && s >= 0) || off[1] < off[0]) {
      fail(where, `tensor ${q(name)}: data_offsets must be [begin, end] with 0 <= begin <= end`);
    }
    const dtype = t.dtype as SafeDtype;
    const shape = t.shape as number[];
    const [b, e] = off as number[];
    const want = shape.reduce((a, s) => a * s, 1) * BYTES[dtype];
    if (e - b !== want) fail(where, `tensor ${q(name)}: data_offsets span ${e - b} bytes, shape [${shape}] ${dtype} needs ${want}`);
    if (e > data.length) fail(where, `truncated: tensor ${q(name)} ends at byte ${e} of the data section, which has ${data.length}`);
    spans.push({ name, b, e });
  });
  // The tensors must tile the data section: sorted by offset, each starts where the previous ended.
  spans.sort((s, t) => s.b - t.b || s.e - t.e);
  let end = 0;
  let prev: string | null = null;
  for (const s of spans) {
    if (s.b < end) fail(where, `bad header: tensor ${q(s.name)} (bytes ${s.b}..${s.e}) overlaps tensor ${q(prev!)} (ends at ${end})`);
    if (s.b > end) fail(where, `bad header: data bytes ${end}..${s.b} are not covered by any tensor (before tensor ${q(s.name)})`);
    end = s.e;
    prev = s.name;
  }
  if (end !== data.length) fail(where, `${data.length - end} trailing bytes after the last tensor${prev ? ` ${q(prev)}` : ""} (data section ${data.length} bytes, tensors cover ${end})`);
  for (const s of keys) {
    if (s === "__metadata__") continue;
    const t = (header as Record<string, { dtype: SafeDtype; shape: number[]; data_offsets: number[] }>)[s];
    out.tensors.set(s, { dtype: t.dtype, shape: [...t.shape], bytes: data.slice(t.data_offsets[0], t.data_offsets[1]) });
  }
  return out;
}

/** Read a safetensors file (see `parseSafetensors`). */
export function readSafetensors(file: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new BilevelInputError(`${printable(file, 200)}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
}

/** Serialize to the safetensors byte layout (header in the map's order, padded to 8 bytes). */
export function serializeSafetensors(f: SafetensorsFile): Uint8Array {
  const entries: [string, unknown][] = [];
  let off = 0;
  for (const [name, t] of f.tensors) {
    const want = t.shape.reduce((a, s) => a * s, 1) * BYTES[t.dtype];
    if (t.bytes.length !== want) throw new BilevelInputError(`tensor '${name}': ${t.bytes.length} bytes, shape [${t.shape}] ${t.dtype} needs ${want}`);
    entries.push([name, { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + want] }]);
    off += want;
  }
  if (f.metadata) entries.splice(Math.min(f.metadataIndex ?? 0, entries.length), 0, ["__metadata__", f.metadata]);
  // Written key by key: an object literal would reorder integer-like tensor names.
  let json = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
  const enc = new TextEncoder();
  let head = enc.encode(json);
  const pad = (8 - (head.length % 8)) % 8;
  if (pad) {
    json += " ".repeat(pad);
    head = enc.encode(json);
  }
  const out = new Uint8Array(8 + head.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const t of f.tensors.values()) {
    out.set(t.bytes, p);
    p += t.bytes.length;
  }
  return out;
}

/** Write a safetensors file atomically (a failed write leaves an earlier file intact). */
export function writeSafetensors(file: string, f: SafetensorsFile): void {
  writeFileAtomic(file, serializeSafetensors(f));
}

/** Half-precision bits -> number. */
function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * A tensor's values as float64 (exact for F32/F16/BF16/F64 and integers up to 2^53). `where` names
 * the tensor in errors.
 */
export function tensorToFloat64(t: SafeTensor): Float64Array {
  const n = t.shape.reduce((a, s) => a * s, 1);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float64Array(n);
  switch (t.dtype) {
    case "F64":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case "F32":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = f16(dv.getUint16(2 * i, true));
      break;
    case "BF16": {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        tmp.setUint32(0, dv.getUint16(2 * i, true) << 16, false);
        out[i] = tmp.getFloat32(0, false);
      }
      break;
    }
    case "I64":
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      break;
    case "I32":
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    case "I16":
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      break;
    case "I8":
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case "U8":
    case "BOOL":
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i);
      break;
  }
  return out;
}

/** A float32 tensor (little-endian) from values. */
export function f32Tensor(values: ArrayLike<number>, shape: number[]): SafeTensor {
  const n = shape.reduce((a, s) => a * s, 1);
  if (values.length !== n) throw new Error(`f32Tensor: ${values.length} values for shape [${shape}]`);
  const bytes = new Uint8Array(4 * n);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) dv.setFloat32(4 * i, values[i], true);
  return { dtype: "F32", shape: [...shape], bytes };
}

/** float64 -> bfloat16 bits (via float32, round to nearest even). */
export function toBf16Bits(v: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, v, true);
  const u = dv.getUint32(0, true);
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return 0x7fc0; // NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float64 -> IEEE half bits (round to nearest even; overflow -> infinity, subnormals kept). */
export function toF16Bits(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const s = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return s | 0x7c00;
  if (a < 2 ** -14) return s | Math.round(a / 2 ** -24); // subnormal (Math.round: ties away; exact ties are rare)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  let m = a / 2 ** e - 1; // [0, 1)
  let mi = m * 1024;
  const fl = Math.floor(mi);
  const r = mi - fl;
  mi = r > 0.5 || (r === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  if (mi === 1024) {
    mi = 0;
    e++;
  }
  m = mi;
  if (e + 15 >= 31) return s | 0x7c00;
  return s | ((e + 15) << 10) | m;
}

/** A tensor of `values` stored as F32, F16 or BF16 (little-endian). */
export function floatTensor(values: ArrayLike<number>, shape: number[], dtype: "F32" | "F16" | "BF16" = "F32"): SafeTensor {
  if (dtype === "F32") return f32Tensor(values, shape);
  const n = shape.reduce((a, s) => a * s, 1);
  if (values.length !== n) throw new Error(`floatTensor: ${values.length} values for shape [${shape}]`);
  const bytes = new Uint8Array(2 * n);
  const dv = new DataView(bytes.buffer);
  const enc = dtype === "BF16" ? toBf16Bits : toF16Bits;
  for (let i = 0; i < n; i++) dv.setUint16(2 * i, enc(values[i]), true);
  return { dtype, shape: [...shape], bytes };
}

/**
 * Index and value of the first non-finite element of a float tensor, read from its raw bytes without
 * decoding the rest (exponent bits all ones), or null when every element is finite.
 */
export function firstNonFinite(t: SafeTensor): { index: number; value: number } | null {
  const n = t.shape.reduce((a, s) => a * s, 1);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const hit = (i: number) => ({ index: i, value: tensorToFloat64({ dtype: t.dtype, shape: [1], bytes: t.bytes.subarray(i * BYTES[t.dtype], (i + 1) * BYTES[t.dtype]) })[0] });
  switch (t.dtype) {
    case "F32":
      for (let i = 0; i < n; i++) if ((dv.getUint32(4 * i, true) & 0x7f800000) === 0x7f800000) return hit(i);
      return null;
    case "BF16":
      for (let i = 0; i < n; i++) if ((dv.getUint16(2 * i, true) & 0x7f80) === 0x7f80) return hit(i);
      return null;
    case "F16":
      for (let i = 0; i < n; i++) if ((dv.getUint16(2 * i, true) & 0x7c00) === 0x7c00) return hit(i);
      return null;
    case "F64":
      for (let i = 0; i < n; i++) if (!Number.isFinite(dv.getFloat64(8 * i, true))) return hit(i);
      return null;
    default:
      return null;
  }
}
