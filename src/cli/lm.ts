/**
 * `bilevel train-lm`: train the small byte-level GPT-2-layout LM of `src/quant/` on the IMDb review text
 * and save it (config.json, model.safetensors, train-log.json) for `bilevel quantize`.
 *
 *     bilevel train-lm --out DIR [--layers 8] [--d 128] [--heads 4] [--ctx 128] [--batch 16] [--lr 2e-3]
 *                      [--warmup 30] [--time-budget 600] [--steps N] [--seed 0] [--eval-every 50] [--force] [--quiet]
 *
 * An existing --out folder is refused without --force; the model is written as one set (config.json,
 * model.safetensors, train-log.json, README.md) into a temporary folder that is then renamed into place.
 */
import { Command, Option } from "commander";
import { intArg, positiveNumber } from "./args.js";
import fs from "node:fs";
import path from "node:path";
import { initEngine, engineInfo } from "../engine/index.js";
import { checkDirTarget, writeDirAtomic, writeFileAtomic } from "../node/fsio.js";
import { BilevelInputError } from "../errors.js";
import { probeWritable } from "../node/fsio.js";
import { disposeWeights, isLlamaConfig, loadModel, maxContext, modelWidth, readConfig, saveModel, sequenceNll } from "../quant/model.js";
import { tokensFromFlags, writeByteTokenizer } from "../quant/tokenizer.js";
import { checkTrainOptions, trainLM, type TrainLog, type TrainOptions, type TrainPoint } from "../quant/train.js";
import { checkLongRunFlags, startLongRun, type LongRunFlags } from "./longrun.js";


/** The flags of `train-lm`: the trainer's options (same names) plus the output folder. */
interface TrainLmFlags extends LongRunFlags, Pick<TrainOptions, "arch" | "kvHeads" | "ffn" | "layers" | "d" | "heads" | "ctx" | "batch" | "lr" | "warmup" | "timeBudget" | "steps" | "seed" | "evalEvery"> {
  out: string;
  quiet?: boolean;
  force?: boolean;
}

/** The README.md written next to a trained model: what it is, how it was trained, what it reached. */
function modelReadme(dir: string, log: TrainLog): string {
  const c = log.config;
  const o = log.options;
  const flags = ["arch", "kvHeads", "ffn", "layers", "d", "heads", "ctx", "batch", "lr", "warmup", "timeBudget", "steps", "seed"]
    .filter((k) => o[k] !== undefined && o[k] !== null)
    .map((k) => `--${k.replace(/[A-Z]/g, (ch) => "-" + ch.toLowerCase())} ${String(o[k])}`)
    .join(" ");
  return [
    `# ${path.basename(dir)}: a byte-level ${isLlamaConfig(c) ? "Llama" : "GPT-2"}-layout LM trained on IMDb review text`,
    "",
    `Written by \`bilevel train-lm\` together with config.json, model.safetensors, ${isLlamaConfig(c) ? "tokenizer.json (byte-level: id = UTF-8 byte), " : ""}train-log.json (one set).`,
    "",
    `- Size: ${c.nLayer} blocks, d ${modelWidth(c)}, ${c.nHead} heads${isLlamaConfig(c) ? ` (${c.nKvHead} key-value heads), SwiGLU ${c.intermediateSize}` : ""}, context ${maxContext(c)}; ${log.params} parameters (float32).`,
    `- Trained with: \`bilevel train-lm --out ${dir} ${flags}\``,
    `- ${log.steps} steps in ${log.seconds} s (${log.msPerStep} ms/step, ${log.tokensPerSecond} bytes/s), ${log.engine}.`,
    `- Result: held-out loss ${log.finalValLoss} nats/byte (perplexity ${log.finalValPerplexity}) on ${log.valTokens} held-out bytes;` +
      ` unigram baseline ${log.unigramValLoss}; last-20-step train loss ${log.finalTrainLoss}.`,
    "",
  ].join("\n");
}

/** Run `train-lm`; resolves to the exit code. */
export async function trainLmCommand(f: TrainLmFlags): Promise<number> {
  const { out: outFlag, quiet, force, checkpoint: _ck, checkpointEvery: _cke, resume: _res, log: _log, ...trainOptions } = f;
  checkTrainOptions(trainOptions); // bad sizes before anything is made or trained
  checkLongRunFlags(f);
  checkDirTarget(outFlag, "--out", { force }); // an existing model is kept unless --force; the parent must be writable
  const out = path.resolve(outFlag);
  await initEngine({ dtype: "float32" });
  const say = (s: string) => {
    if (!quiet) process.stdout.write(s + "\n");
  };
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
  const info = engineInfo();
  log.engine = `jax-js ${info.jax} ${info.device} ${info.dtype}, ${info.threads} thread(s)`;
  try {
    // config, weights, log and README as one set: written into a temporary folder, then renamed into place
    await writeDirAtomic(
      outFlag,
      "--out",
      async (tmp) => {
        await saveModel(tmp, config, weights);
        if (isLlamaConfig(config)) writeByteTokenizer(tmp);
        writeFileAtomic(path.join(tmp, "train-log.json"), JSON.stringify(log, null, 2) + "\n");
        writeFileAtomic(path.join(tmp, "README.md"), modelReadme(outFlag, log));
      },
      { force },
    );
  } finally {
    disposeWeights(weights);
  }
  say(
    [
      `saved ${path.join(out, "model.safetensors")} (${fs.statSync(path.join(out, "model.safetensors")).size} bytes, ${log.params} parameters) with config.json, train-log.json and README.md`,
      `  steps ${log.steps}, ${log.seconds} s, ${log.msPerStep} ms/step, ${log.tokensPerSecond} tokens/s`,
      `  train loss ${log.finalTrainLoss}, validation loss ${log.finalValLoss} nats/byte (perplexity ${log.finalValPerplexity}) on ${log.valTokens} held-out bytes`,
      `  unigram baseline ${log.unigramLoss} (train entropy), ${log.unigramValLoss} (held-out cross-entropy)`,
    ].join("\n"),
  );
  return 0;
}

/** The flags of `lm perplexity`. */
interface PerplexityFlags {
  model: string;
  text?: string;
  ids?: string;
  ctx?: number;
  json?: string;
  quiet?: boolean;
}

/** Run `lm perplexity`: mean next-token NLL over non-overlapping windows of --ctx tokens; resolves to the exit code. */
export async function lmPerplexityCommand(f: PerplexityFlags): Promise<number> {
  if (!fs.existsSync(f.model) || !fs.statSync(f.model).isDirectory()) throw new BilevelInputError(`--model ${f.model}: not a directory`);
  const config = readConfig(f.model);
  const ids = tokensFromFlags(f.model, config.vocabSize, f);
  if (ids.length < 2) throw new BilevelInputError(`${f.ids !== undefined ? "--ids" : "--text"}: ${ids.length} token(s), need at least 2`);
  if (f.ctx !== undefined && f.ctx > maxContext(config)) throw new BilevelInputError(`--ctx: ${f.ctx} exceeds the model's context (max_position_embeddings ${maxContext(config)})`);
  if (f.json !== undefined) probeWritable(f.json, "--json");
  await initEngine({ dtype: "float32" });
  const { weights } = loadModel(f.model);
  let r: Awaited<ReturnType<typeof sequenceNll>>;
  try {
    r = await sequenceNll(config, weights, ids, { ctx: f.ctx });
  } finally {
    disposeWeights(weights);
  }
  const rec = { model: f.model, tokens: r.tokens, nll: r.nll, perplexity: r.perplexity, ctx: r.ctx, windows: r.windows };
  if (f.json !== undefined) writeFileAtomic(f.json, JSON.stringify(rec, null, 2) + "\n", "--json");
  if (!f.quiet) process.stdout.write(`${f.model}: ${r.tokens} predicted tokens in ${r.windows} window(s) of ${r.ctx}; nll ${r.nll.toFixed(6)} nats/token, perplexity ${r.perplexity.toFixed(6)}\n`);
  return 0;
}

/** Register `train-lm` and `lm perplexity` on the CLI program; `setCode` receives the exit code. */
export function registerLmCommands(program: Command, setCode: (code: number) => void): void {
  program
    .command("train-lm")
    .description("train a small byte-level GPT-2-layout LM on the IMDb review text and save it (safetensors)")
    .requiredOption("--out <DIR>", "output directory (config.json, model.safetensors, train-log.json)")
    .addOption(new Option("--arch <A>", "layout: gpt2 (learned positions, LayerNorm, GELU) or llama (RoPE, RMSNorm, SwiGLU, GQA)").choices(["gpt2", "llama"]))
    .option("--kv-heads <N>", "llama: key-value heads (default --heads)", intArg("kv-heads", 1))
    .option("--ffn <N>", "llama: SwiGLU width (default 8d/3 rounded up to 32)", intArg("ffn", 1))
    .option("--layers <N>", "transformer blocks (default 8)", intArg("layers", 1))
    .option("--d <N>", "embedding width (default 128)", intArg("d", 1))
    .option("--heads <N>", "attention heads (default 4)", intArg("heads", 1))
    .option("--ctx <N>", "context length = n_positions (default 128)", intArg("ctx", 2))
    .option("--batch <N>", "sequences per step (default 16)", intArg("batch", 1))
    .option("--lr <X>", "peak learning rate (default 2e-3)", positiveNumber("lr"))
    .option("--warmup <N>", "warm-up steps (default 30)", intArg("warmup", 0))
    .option("--time-budget <SECONDS>", "training time budget (default 600)", positiveNumber("time-budget"))
    .option("--steps <N>", "stop after N steps (default: only the time budget)", intArg("steps", 1))
    .option("--seed <S>", "seed (default 0)", intArg("seed", 0, 2 ** 32 - 1))
    .option("--eval-every <N>", "validate every N steps (default 50)", intArg("eval-every", 1))
    .option("--force", "replace an existing --out folder (only after the new model is complete)")
    .option("--quiet", "no progress lines")
    .option("--checkpoint <DIR>", "save weights, AdamW moments and the batch position in DIR every --checkpoint-every steps and on SIGINT/SIGTERM")
    .option("--checkpoint-every <N>", "checkpoint every N steps (default: every --eval-every)", intArg("checkpoint-every", 1))
    .option("--resume", "continue the training checkpointed in --checkpoint DIR (same settings)")
    .option("--log <FILE.jsonl>", "one JSON object per step (step, seconds, lr, trainLoss, valLoss), flushed")
    .action(async (f: TrainLmFlags) => {
      setCode(await trainLmCommand(f));
    });
  const lm = program.command("lm").description("language-model utilities (GPT-2-layout and Llama-family folders)");
  lm.command("perplexity")
    .description("mean next-token NLL and perplexity of a text or token-id file under a model folder")
    .requiredOption("--model <DIR>", "model folder (config.json + model.safetensors or shards)")
    .option("--text <FILE>", "UTF-8 text, tokenized by the folder's tokenizer.json (byte-level for vocab 256 without one)")
    .option("--ids <FILE.json>", "a JSON array of token ids (no tokenizer needed)")
    .option("--ctx <N>", "window length (default: the whole sequence when it fits, else the model's context)", intArg("--ctx", 2))
    .option("--json <OUT>", "write { model, tokens, nll, perplexity, ctx, windows } to OUT")
    .option("--quiet", "no output on stdout")
    .action(async (f: PerplexityFlags) => {
      setCode(await lmPerplexityCommand(f));
    });
}
