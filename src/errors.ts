/** An error caused by user input (names, options, shapes, data): reported as one line, exit code 2. */
export class BilevelInputError extends Error {
  override name = "BilevelInputError";
}
