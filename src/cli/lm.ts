/**
 * `bilevel train-lm`: train the small byte-level GPT-2-layout LM of `src/quant/` on the IMDb review text
 * and save it (config.json, model.safetensors, train-log.json) for `bilevel quantize`.
 *
 *     bilevel train-lm --out DIR [--layers 8] [--d 128] [--heads 4] [--ctx 128] [--batch 16] [--lr 2e-3]
 *                      [--warmup 30] [--time-budget 600] [--steps N] [--seed 0] [--eval-every 50] [--quiet]
 */
import { Command } from "commander";
import { intArg, positiveNumber } from "./args.js";
import fs from "node:fs";
import path from "node:path";
import { initEngine, engineInfo } from "../engine/index.js";
import { BilevelInputError } from "../errors.js";
import { disposeWeights, saveModel } from "../quant/model.js";
import { trainLM, type TrainOptions, type TrainPoint } from "../quant/train.js";
import { startLongRun, type LongRunFlags } from "./longrun.js";


/** The flags of `train-lm`: the trainer's options (same names) plus the output folder. */
interface TrainLmFlags extends LongRunFlags, Pick<TrainOptions, "layers" | "d" | "heads" | "ctx" | "batch" | "lr" | "warmup" | "timeBudget" | "steps" | "seed" | "evalEvery"> {
  out: string;
  quiet?: boolean;
}

/** Run `train-lm`; resolves to the exit code. */
export async function trainLmCommand(f: TrainLmFlags): Promise<number> {
  const out = path.resolve(f.out);
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new BilevelInputError(`--out ${f.out}: exists and is not a directory`);
  await initEngine({ dtype: "float32" });
  const say = (s: string) => {
    if (!f.quiet) process.stdout.write(s + "\n");
  };
  const { out: _out, quiet: _quiet, checkpoint: _ck, checkpointEvery: _cke, resume: _res, log: _log, ...trainOptions } = f;
  const long = startLongRun<TrainPoint>(f, { what: "train-lm", seed: f.seed ?? 0 });
  let trained: Awaited<ReturnType<typeof trainLM>>;
  try {
    trained = await trainLM({
      ...trainOptions,
      checkpoint: long.checkpoint,
      signal: long.signal,
      onProgress: (p) => {
        long.logLine(p);
        if (p.valLoss !== undefined || p.step % 10 === 0 || p.step === 1) {
          say(`step ${p.step}  ${p.seconds.toFixed(0)} s  lr ${p.lr.toExponential(2)}  train ${p.trainLoss.toFixed(4)}${p.valLoss !== undefined ? `  val ${p.valLoss.toFixed(4)}` : ""}`);
        }
      },
    });
  } catch (e) {
    const stop = long.interrupted(e);
    if (!stop) throw e;
    process.stderr.write(`bilevel: ${stop.message}\n`);
    return stop.code;
  } finally {
    long.close();
  }
  const { config, weights, log } = trained;
  await saveModel(out, config, weights);
  const info = engineInfo();
  log.engine = `jax-js ${info.jax} ${info.device} ${info.dtype}, ${info.threads} thread(s)`;
  fs.writeFileSync(path.join(out, "train-log.json"), JSON.stringify(log, null, 2) + "\n");
  disposeWeights(weights);
  say(
    [
      `saved ${path.join(out, "model.safetensors")} (${fs.statSync(path.join(out, "model.safetensors")).size} bytes, ${log.params} parameters)`,
      `  steps ${log.steps}, ${log.seconds} s, ${log.msPerStep} ms/step, ${log.tokensPerSecond} tokens/s`,
      `  train loss ${log.finalTrainLoss}, validation loss ${log.finalValLoss} nats/byte (perplexity ${log.finalValPerplexity}) on ${log.valTokens} held-out bytes`,
      `  unigram baseline ${log.unigramLoss} (train entropy), ${log.unigramValLoss} (held-out cross-entropy)`,
    ].join("\n"),
  );
  return 0;
}

/** Register `train-lm` on the CLI program; `setCode` receives the exit code. */
export function registerLmCommands(program: Command, setCode: (code: number) => void): void {
  program
    .command("train-lm")
    .description("train a small byte-level GPT-2-layout LM on the IMDb review text and save it (safetensors)")
    .requiredOption("--out <DIR>", "output directory (config.json, model.safetensors, train-log.json)")
    .option("--layers <N>", "transformer blocks (default 8)", intArg("layers", 1))
    .option("--d <N>", "embedding width (default 128)", intArg("d", 1))
    .option("--heads <N>", "attention heads (default 4)", intArg("heads", 1))
    .option("--ctx <N>", "context length = n_positions (default 128)", intArg("ctx", 2))
    .option("--batch <N>", "sequences per step (default 16)", intArg("batch", 1))
    .option("--lr <X>", "peak learning rate (default 2e-3)", positiveNumber("lr"))
    .option("--warmup <N>", "warm-up steps (default 30)", intArg("warmup", 0))
    .option("--time-budget <SECONDS>", "training time budget (default 600)", positiveNumber("time-budget"))
    .option("--steps <N>", "stop after N steps (default: only the time budget)", intArg("steps", 1))
    .option("--seed <S>", "seed (default 0)", intArg("seed", 0))
    .option("--eval-every <N>", "validate every N steps (default 50)", intArg("eval-every", 1))
    .option("--quiet", "no progress lines")
    .option("--checkpoint <DIR>", "save weights, AdamW moments and the batch position in DIR every --checkpoint-every steps and on SIGINT/SIGTERM")
    .option("--checkpoint-every <N>", "checkpoint every N steps (default: every --eval-every)", intArg("checkpoint-every", 1))
    .option("--resume", "continue the training checkpointed in --checkpoint DIR (same settings)")
    .option("--log <FILE.jsonl>", "one JSON object per step (step, seconds, lr, trainLoss, valLoss), flushed")
    .action(async (f: TrainLmFlags) => {
      setCode(await trainLmCommand(f));
    });
}
