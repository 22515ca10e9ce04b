/**
 * `--log FILE.jsonl`: one JSON object per line, written with one `write` system call per line (no
 * buffering in the process), so `tail -f` and plotting tools follow a run while it goes. A fresh log
 * truncates the file; `append: true` (a resumed run) adds to it. Non-finite numbers are written as
 * null (JSON has no NaN). Node only.
 */
import fs from "node:fs";
import { BilevelInputError } from "../errors.js";
import { osReason, probeWritable } from "./fsio.js";

export class JsonlLog {
  private fd: number | null;
  constructor(
    readonly file: string,
    opts: { append?: boolean; field?: string } = {},
  ) {
    const field = opts.field ?? "--log";
    probeWritable(file, field);
    try {
      this.fd = fs.openSync(file, opts.append ? "a" : "w");
    } catch (e) {
      throw new BilevelInputError(`${field} ${file}: cannot write there (${osReason(e)})`);
    }
  }

  /** Write one object as one line. */
  write(obj: Record<string, unknown>): void {
    if (this.fd === null) return;
    const line = Buffer.from(JSON.stringify(obj) + "\n", "utf8");
    let off = 0;
    while (off < line.length) off += fs.writeSync(this.fd, line, off, line.length - off);
  }

  close(): void {
    if (this.fd === null) return;
    try {
      fs.fsyncSync(this.fd);
    } catch {
      /* pipes and /dev/stdout cannot be fsynced */
    }
    fs.closeSync(this.fd);
    this.fd = null;
  }
}
