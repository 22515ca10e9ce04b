/**
 * Tokenizers of model folders: a Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) through
 * @huggingface/tokenizers (pure JavaScript, no network), or the byte-level tokenizer of our own models
 * (id = UTF-8 byte), which `writeByteTokenizer` also stores as a tokenizer.json (a ByteLevel BPE with
 * the 256 byte symbols and no merges) so other tools read those folders unchanged.
 */
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { BilevelInputError, printable } from "../errors.js";
import { writeFileAtomic } from "../node/fsio.js";
import { encodeBytes } from "./text.js";

/** GPT-2's byte -> printable character map (the ByteLevel pre-tokenizer's alphabet). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out = new Array<string>(256);
  bs.forEach((b, k) => (out[b] = String.fromCodePoint(cs[k])));
  return out;
}

/** The tokenizer.json of the byte-level tokenizer: ids 0..255 are the UTF-8 bytes, no special tokens. */
export function byteTokenizerJson(): Record<string, unknown> {
  const u = bytesToUnicode();
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[u[b]] = b;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

/** Write tokenizer.json and tokenizer_config.json of the byte-level tokenizer into `dir`. */
export function writeByteTokenizer(dir: string): void {
  writeFileAtomic(path.join(dir, "tokenizer.json"), JSON.stringify(byteTokenizerJson()) + "\n");
  writeFileAtomic(path.join(dir, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "PreTrainedTokenizerFast", model_max_length: 1e30, clean_up_tokenization_spaces: false }, null, 2) + "\n");
}

/** A text -> token ids function and where it came from. */
export interface TextTokenizer {
  kind: "tokenizer.json" | "bytes";
  encode(text: string): number[];
}

function readJson(file: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new BilevelInputError(`${file}: cannot read as JSON (${printable((e as Error).message, 60)})`);
  }
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new BilevelInputError(`${file}: expected a JSON object`);
  return j as Record<string, unknown>;
}

/**
 * The tokenizer of a model folder: `tokenizer.json` when present (special tokens as its
 * post-processor adds them), else the byte-level tokenizer when the vocabulary has 256 entries, else
 * a one-line error.
 */
export function loadTokenizer(dir: string, vocabSize: number): TextTokenizer {
  const tj = path.join(dir, "tokenizer.json");
  if (fs.existsSync(tj)) {
    const json = readJson(tj);
    const cf = path.join(dir, "tokenizer_config.json");
    const config = fs.existsSync(cf) ? readJson(cf) : {};
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, config);
    } catch (e) {
      throw new BilevelInputError(`${tj}: not a tokenizer this library reads (${printable((e as Error).message, 80)})`);
    }
    return {
      kind: "tokenizer.json",
      encode: (text) => {
        const ids = tok.encode(text).ids.map(Number);
        const bad = ids.find((t: number) => !(t >= 0 && t < vocabSize));
        if (bad !== undefined) throw new BilevelInputError(`${tj}: token id ${bad} is outside the model's vocabulary (vocab_size ${vocabSize})`);
        return ids;
      },
    };
  }
  if (vocabSize === 256) return { kind: "bytes", encode: (text) => Array.from(encodeBytes(text)) };
  throw new BilevelInputError(`${dir}: no tokenizer.json (needed to read text with vocab_size ${vocabSize}; pass token ids with --ids)`);
}

/** Token ids from a JSON file holding an array of integers in [0, vocabSize) (one-line errors naming `flag`). */
export function readIdsFile(file: string, vocabSize: number, flag = "--ids"): number[] {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new BilevelInputError(`${flag} ${printable(file, 200)}: cannot read as JSON (${printable((e as NodeJS.ErrnoException).code ?? (e as Error).message, 60)})`);
  }
  if (!Array.isArray(j)) throw new BilevelInputError(`${flag} ${printable(file, 200)}: expected a JSON array of token ids`);
  j.forEach((t, k) => {
    if (!(typeof t === "number" && Number.isInteger(t) && t >= 0 && t < vocabSize)) {
      throw new BilevelInputError(`${flag} ${printable(file, 200)}: element ${k} (${printable(JSON.stringify(t) ?? "undefined", 30)}) is not a token id from 0 to ${vocabSize - 1}`);
    }
  });
  return j as number[];
}

/** UTF-8 text of a file (one-line errors naming `flag`; invalid UTF-8 is refused). */
export function readTextFile(file: string, flag = "--text"): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new BilevelInputError(`${flag} ${printable(file, 200)}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new BilevelInputError(`${flag} ${printable(file, 200)}: not valid UTF-8 text`);
  }
}

/** Token ids from exactly one of `--text FILE` (through the folder's tokenizer) or `--ids FILE.json`. */
export function tokensFromFlags(modelDir: string, vocabSize: number, f: { text?: string; ids?: string }, flags = { text: "--text", ids: "--ids" }): number[] {
  if ((f.text === undefined) === (f.ids === undefined)) throw new BilevelInputError(`${flags.text}: give exactly one of ${flags.text} FILE and ${flags.ids} FILE.json`);
  if (f.ids !== undefined) return readIdsFile(f.ids, vocabSize, flags.ids);
  return loadTokenizer(modelDir, vocabSize).encode(readTextFile(f.text!, flags.text));
}
