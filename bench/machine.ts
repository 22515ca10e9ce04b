/** Machine facts written next to every benchmark figure. */
import os from "node:os";
import { readFileSync } from "node:fs";

export function machineInfo(): Record<string, unknown> {
  let jaxVersion = "unknown";
  try {
    jaxVersion = JSON.parse(readFileSync(new URL("../../node_modules/@jax-js/jax/package.json", import.meta.url), "utf8")).version;
  } catch {
    /* not found */
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    jax: jaxVersion,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg(),
    platform: `${os.platform()} ${os.arch()}`,
  };
}

export const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
