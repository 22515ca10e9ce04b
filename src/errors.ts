/** An error caused by user input (names, options, shapes, data): reported as one line, exit code 2. */
export class BilevelInputError extends Error {
  override name = "BilevelInputError";
}

/**
 * A run that failed for a reason other than its input (a diverging training run, a failed write after
 * the work was done): reported as one line without "internal error", exit code 1.
 */
export class BilevelRunError extends Error {
  override name = "BilevelRunError";
}

/**
 * Text from a file or the user made safe for a one-line terminal message: control characters, lone
 * surrogates, bidi overrides and replacement characters are shown as `\uXXXX` escapes (never as raw
 * bytes), and anything past `max` characters is cut with an ellipsis.
 */
export function printable(s: string, max = 80): string {
  const esc = String(s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]|[\ud800-\udfff]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return esc.length > max ? `${esc.slice(0, max)}...` : esc;
}
