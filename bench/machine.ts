/** Machine facts written next to every benchmark figure. */
import os from "node:os";
import { jax } from "../src/engine/index.js";

export function machineInfo(): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    node: process.version,
    jax: jax.ENGINE.version,
    enginePatches: jax.ENGINE.patches,
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
