/**
 * The MuJoCo physics engine: the official MuJoCo WebAssembly module (npm `mujoco-js`, MuJoCo 3.3.8,
 * Apache-2.0; the wasm is embedded in its ES module), loaded once per process on first use. Models are
 * MJCF strings written by this project (no model files ship with the module): each is written to the
 * module's in-memory file system and loaded with `MjModel.loadFromXML`. `mujoco-js` is an optional peer
 * dependency (11 MB installed, beyond the package's size budget): a missing module is a one-line
 * BilevelInputError saying how to install it.
 */
import type { MainModule, MjModel } from "mujoco-js";
import { BilevelInputError } from "../../errors.js";

/** The version the environments are written and tested against. */
export const MUJOCO_JS_VERSION = "0.0.7";
const MUJOCO_JS = "mujoco-js";

let module: Promise<MainModule> | null = null;
let files = 0;

/** The MuJoCo module (loaded on the first call, ~0.1-0.5 s; shared afterwards). */
export function loadMujoco(): Promise<MainModule> {
  if (!module) {
    // The specifier is a variable so that bundlers (esbuild, Vite) leave the optional 11 MB module out of
    // library bundles; Node resolves it at run time (ES modules and the CommonJS build alike).
    const specifier: string = MUJOCO_JS;
    module = (import(/* @vite-ignore */ specifier) as Promise<{ default: unknown }>).then(
      (m) => (m.default as unknown as () => Promise<MainModule>)(),
      (e: Error) => {
        module = null;
        throw new BilevelInputError(`mujoco-js: the MuJoCo environments need the optional package mujoco-js (npm install mujoco-js@${MUJOCO_JS_VERSION}); import failed: ${String(e.message).split("\n")[0]}`);
      },
    );
  }
  return module;
}

/** Compile an MJCF string into a model (the caller owns it: `model.delete()`). */
export function modelFromXML(mj: MainModule, xml: string): MjModel {
  const path = `/bilevel-model-${files++}.xml`;
  const fs = (mj as unknown as { FS: { writeFile(p: string, s: string): void; unlink(p: string): void } }).FS;
  fs.writeFile(path, xml);
  try {
    return mj.MjModel.loadFromXML(path);
  } finally {
    fs.unlink(path);
  }
}
