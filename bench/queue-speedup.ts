/**
 * Speed-up of a distributed bench with 2 workers over 1 on this machine: a local redis-server on a
 * free loopback port, `bilevel worker` processes (1 wasm thread each), and `bilevel bench --queue`
 * as the coordinator; the figure is the bench's own wall time (enqueue to last record collected),
 * median of REPEATS per worker count. Writes bench/results/queue-speedup.json.
 *
 *   npm run build && node dist/bench/queue-speedup.js
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { machineInfo, median } from "./machine.js";

const REPEATS = 3;
const BENCH = ["toy-quadratic", "--solvers", "soba,bamm", "--seeds", "4", "--steps", "800"];
const root = fileURLToPath(new URL("../..", import.meta.url));
const main = path.join(root, "dist/src/cli/main.js");
const env = { ...process.env, BILEVEL_THREADS: "1" };

const freePort = () =>
  new Promise<number>((res) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main_(): Promise<void> {
  if (spawnSync("redis-server", ["--version"]).error) throw new Error("redis-server is not installed (scripts/install-system-deps.sh)");
  const port = await freePort();
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await sleep(500);
  const url = `redis://127.0.0.1:${port}/0`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bilevel-speedup-"));
  const load0 = os.loadavg();
  const rows: { workers: number; seconds: number[] }[] = [];
  try {
    for (const workers of [1, 2]) {
      const seconds: number[] = [];
      for (let r = 0; r < REPEATS; r++) {
        const ws: ChildProcess[] = [];
        for (let i = 0; i < workers; i++) ws.push(spawn(process.execPath, [main, "worker", "--queue", url, "--quiet"], { env, stdio: "ignore" }));
        await sleep(2500); // workers connected and waiting
        const out = path.join(tmp, `w${workers}-r${r}`);
        const b = spawnSync(process.execPath, [main, "bench", ...BENCH, "--out", out, "--queue", url, "--quiet"], { env, encoding: "utf8" });
        for (const w of ws) w.kill("SIGTERM");
        await Promise.all(ws.map((w) => new Promise((res) => (w.exitCode !== null ? res(null) : w.on("exit", res)))));
        if (b.status !== 0) throw new Error(`bench failed: ${b.stderr}`);
        const wall = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8")).wallSeconds as number;
        seconds.push(wall);
        console.log(`${workers} worker(s), repeat ${r + 1}: ${wall.toFixed(2)} s`);
      }
      rows.push({ workers, seconds });
    }
  } finally {
    redis.kill("SIGTERM");
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const m1 = median(rows[0].seconds);
  const m2 = median(rows[1].seconds);
  const result = {
    what: "bilevel bench --queue wall time (enqueue to last record), 1 vs 2 `bilevel worker` processes with 1 wasm thread each, local redis-server",
    bench: `bilevel bench ${BENCH.join(" ")}`,
    jobs: 8,
    repeats: REPEATS,
    rows: rows.map((r) => ({ ...r, median: median(r.seconds), min: Math.min(...r.seconds), max: Math.max(...r.seconds) })),
    speedup: m1 / m2,
    loadAverageBefore: load0,
    machine: machineInfo(),
    note: "the machine is shared with other developers' jobs: see loadAverage (2 cores)",
  };
  const dir = path.join(root, "bench/results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "queue-speedup.json"), JSON.stringify(result, null, 2) + "\n");
  console.log(`speed-up of 2 workers over 1: ${(m1 / m2).toFixed(2)}x (median ${m1.toFixed(2)} s vs ${m2.toFixed(2)} s)`);
}

main_().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
