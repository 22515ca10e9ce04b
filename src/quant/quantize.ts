/**
 * Round-to-nearest (RTN) weight quantization with per-group scales and integer zero points, packed
 * storage and dequantization.
 *
 * Layout. A weight matrix W is stored as GPT-2 Conv1D lays it out: `[in, out]` row-major, y = x W + b.
 * Quantization groups run along the INPUT dimension (the GPTQ convention: one scale and zero point per
 * output column and per block of `groupSize` consecutive input rows; the last block may be shorter when
 * `in` is not a multiple of `groupSize`). Group g covers rows [g*groupSize, min((g+1)*groupSize, in)).
 *
 * Quantizer (asymmetric, as in GPTQ's reference quantizer): for a group with values v,
 *     lo = min(min v, 0), hi = max(max v, 0),  maxq = 2^bits - 1,
 *     scale = (hi - lo) / maxq  (1 when hi == lo == 0),  zero = round(-lo / scale) in [0, maxq],
 *     q = clamp(round(v / scale) + zero, 0, maxq),  deq(q) = (q - zero) * scale.
 * Including 0 in [lo, hi] keeps `zero` inside [0, maxq], and every v in the group is then within
 * scale/2 of the grid {(k - zero) * scale}, so |v - deq(q(v))| <= scale / 2 (the tested bound).
 * Storage. Codes are packed into a little-endian bitstream: element e (row-major index i*out + j) holds
 * bits [e*bits, (e+1)*bits) of the byte array, least significant bit first; scales are float32 and zero
 * points one byte each, both indexed [group * out + j]. Bytes of a quantized matrix =
 * ceil(in*out*bits/8) + 5 * nGroups * out.
 */
import { BilevelInputError } from "../errors.js";

/** A packed quantized weight matrix. */
export interface QuantizedTensor {
  /** [in, out] of the original matrix. */
  shape: [number, number];
  bits: number;
  groupSize: number;
  /** Packed integer codes (bitstream, see the module comment). */
  codes: Uint8Array;
  /** One scale per (group, output column): index g * out + j. */
  scales: Float32Array;
  /** One zero point per (group, output column), in [0, 2^bits - 1]. */
  zeros: Uint8Array;
  /** Float zero points (HQQ), used instead of `zeros` when present; stored as float32. */
  zerosF32?: Float32Array;
}

export const MIN_BITS = 2;
export const MAX_BITS = 8;

export function checkBits(bits: number, name = "bits"): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new BilevelInputError(`${name}: expected an integer from ${MIN_BITS} to ${MAX_BITS}, got ${bits}`);
  }
}
export function checkGroupSize(groupSize: number, name = "group-size"): void {
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new BilevelInputError(`${name}: expected a positive integer, got ${groupSize}`);
}

export const numGroups = (rows: number, groupSize: number): number => Math.ceil(rows / groupSize);

/** Pack integer codes (each in [0, 2^bits)) into a little-endian bitstream of ceil(n*bits/8) bytes. */
export function packCodes(codes: ArrayLike<number>, bits: number): Uint8Array {
  checkBits(bits);
  const n = codes.length;
  const out = new Uint8Array(Math.ceil((n * bits) / 8));
  const maxq = (1 << bits) - 1;
  let bitPos = 0;
  for (let e = 0; e < n; e++) {
    const c = codes[e];
    if (!(c >= 0 && c <= maxq) || !Number.isInteger(c)) throw new RangeError(`packCodes: code ${c} at ${e} is not an integer in [0, ${maxq}]`);
    let byte = bitPos >>> 3;
    let off = bitPos & 7;
    let v = c;
    let left = bits;
    while (left > 0) {
      const take = Math.min(8 - off, left);
      out[byte] |= (v & ((1 << take) - 1)) << off;
      v >>>= take;
      left -= take;
      byte++;
      off = 0;
    }
    bitPos += bits;
  }
  return out;
}

/** Unpack `n` codes of `bits` bits from a bitstream written by `packCodes`. */
export function unpackCodes(packed: Uint8Array, bits: number, n: number): Uint8Array {
  checkBits(bits);
  if (packed.length < Math.ceil((n * bits) / 8)) throw new RangeError(`unpackCodes: ${packed.length} bytes hold fewer than ${n} codes of ${bits} bits`);
  const out = new Uint8Array(n);
  let bitPos = 0;
  for (let e = 0; e < n; e++) {
    let byte = bitPos >>> 3;
    let off = bitPos & 7;
    let v = 0;
    let got = 0;
    while (got < bits) {
      const take = Math.min(8 - off, bits - got);
      v |= ((packed[byte] >>> off) & ((1 << take) - 1)) << got;
      got += take;
      byte++;
      off = 0;
    }
    out[e] = v;
    bitPos += bits;
  }
  return out;
}

/** Scale and zero point of one group of values (see the module comment). */
export function groupParams(lo: number, hi: number, bits: number): { scale: number; zero: number } {
  const maxq = (1 << bits) - 1;
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  let scale = (hi - lo) / maxq;
  if (!(scale > 0)) scale = 1;
  // Stored as float32: quantize against the stored value so deq() reproduces exactly what we rounded to.
  scale = Math.fround(scale);
  const zero = Math.min(maxq, Math.max(0, Math.round(-lo / scale)));
  return { scale, zero };
}

/** q = clamp(round(v / scale) + zero, 0, maxq). */
export const quantizeValue = (v: number, scale: number, zero: number, maxq: number): number =>
  Math.min(maxq, Math.max(0, Math.round(v / scale) + zero));

/**
 * Per-(group, column) scales and zero points of W [rows, cols] (row-major) from the values of each group.
 * Used by RTN (all groups at once) and by GPTQ (one group at a time, on the error-updated rows).
 */
export function groupParamsOf(w: ArrayLike<number>, cols: number, rowStart: number, rowEnd: number, bits: number): { scales: Float64Array; zeros: Uint8Array } {
  const scales = new Float64Array(cols);
  const zeros = new Uint8Array(cols);
  for (let j = 0; j < cols; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = rowStart; i < rowEnd; i++) {
      const v = w[i * cols + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const p = groupParams(lo, hi, bits);
    scales[j] = p.scale;
    zeros[j] = p.zero;
  }
  return { scales, zeros };
}

function checkMatrix(w: ArrayLike<number>, shape: [number, number]): void {
  const [rows, cols] = shape;
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) || w.length !== rows * cols) {
    throw new BilevelInputError(`quantize: weights of length ${w.length} do not match shape [${shape.join(", ")}]`);
  }
  for (let e = 0; e < w.length; e++) if (!Number.isFinite(w[e])) throw new BilevelInputError(`quantize: weight ${e} is not finite (${w[e]})`);
}

/** Round-to-nearest quantization of W [in, out] (row-major) with groups of `groupSize` input rows. */
export function quantizeRTN(w: ArrayLike<number>, shape: [number, number], bits: number, groupSize: number): QuantizedTensor {
  checkBits(bits);
  checkGroupSize(groupSize);
  checkMatrix(w, shape);
  const [rows, cols] = shape;
  const ng = numGroups(rows, groupSize);
  const maxq = (1 << bits) - 1;
  const scales = new Float32Array(ng * cols);
  const zeros = new Uint8Array(ng * cols);
  const codes = new Uint8Array(rows * cols);
  for (let g = 0; g < ng; g++) {
    const r0 = g * groupSize;
    const r1 = Math.min(rows, r0 + groupSize);
    const p = groupParamsOf(w, cols, r0, r1, bits);
    scales.set(p.scales, g * cols);
    zeros.set(p.zeros, g * cols);
    for (let i = r0; i < r1; i++) {
      for (let j = 0; j < cols; j++) codes[i * cols + j] = quantizeValue(w[i * cols + j], p.scales[j], p.zeros[j], maxq);
    }
  }
  return { shape: [rows, cols], bits, groupSize, codes: packCodes(codes, bits), scales, zeros };
}

/** Dequantize a packed matrix into W_q [in, out] (row-major, float64). */
export function dequantize(q: QuantizedTensor): Float64Array {
  const [rows, cols] = q.shape;
  const codes = unpackCodes(q.codes, q.bits, rows * cols);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const g = Math.floor(i / q.groupSize);
    for (let j = 0; j < cols; j++) {
      const k = g * cols + j;
      out[i * cols + j] = (codes[i * cols + j] - (q.zerosF32 ? q.zerosF32[k] : q.zeros[k])) * q.scales[k];
    }
  }
  return out;
}

/** Bytes of a packed matrix: codes + float32 scales + zero points (one byte each, or float32 for HQQ). */
export function quantizedBytes(q: QuantizedTensor): number {
  return q.codes.length + 4 * q.scales.length + (q.zerosF32 ? 4 * q.zerosF32.length : q.zeros.length);
}

/** Bytes a quantized [in, out] matrix would take at `bits` (without quantizing it); `floatZeros` for HQQ. */
export function packedBytes(shape: [number, number], bits: number, groupSize: number, floatZeros = false): number {
  const [rows, cols] = shape;
  return Math.ceil((rows * cols * bits) / 8) + (floatZeros ? 8 : 5) * numGroups(rows, groupSize) * cols;
}

/** Serialize a packed matrix to one byte buffer: a 20-byte header (magic, bits, groupSize, in, out) then codes, scales, zeros. */
export function serializeQuantized(q: QuantizedTensor): Uint8Array {
  const head = 20;
  const buf = new Uint8Array(head + q.codes.length + 4 * q.scales.length + q.zeros.length);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, 0x51544c42, true); // "BLTQ"
  dv.setUint32(4, q.bits, true);
  dv.setUint32(8, q.groupSize, true);
  dv.setUint32(12, q.shape[0], true);
  dv.setUint32(16, q.shape[1], true);
  let o = head;
  buf.set(q.codes, o);
  o += q.codes.length;
  for (let k = 0; k < q.scales.length; k++, o += 4) dv.setFloat32(o, q.scales[k], true);
  buf.set(q.zeros, o);
  return buf;
}

/** Inverse of `serializeQuantized`. */
export function deserializeQuantized(buf: Uint8Array): QuantizedTensor {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 20 || dv.getUint32(0, true) !== 0x51544c42) throw new BilevelInputError("quantized tensor: bad header");
  const bits = dv.getUint32(4, true);
  const groupSize = dv.getUint32(8, true);
  const rows = dv.getUint32(12, true);
  const cols = dv.getUint32(16, true);
  checkBits(bits);
  const nCodes = Math.ceil((rows * cols * bits) / 8);
  const ns = numGroups(rows, groupSize) * cols;
  if (buf.length !== 20 + nCodes + 5 * ns) throw new BilevelInputError(`quantized tensor: ${buf.length} bytes, expected ${20 + nCodes + 5 * ns}`);
  let o = 20;
  const codes = buf.slice(o, o + nCodes);
  o += nCodes;
  const scales = new Float32Array(ns);
  for (let k = 0; k < ns; k++, o += 4) scales[k] = dv.getFloat32(o, true);
  const zeros = buf.slice(o, o + ns);
  return { shape: [rows, cols], bits, groupSize, codes, scales, zeros };
}
