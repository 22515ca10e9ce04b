/**
 * Layer-wise mixed-precision quantization of GPT-2-layout language models (Dumitru et al. 2024,
 * arXiv 2406.17415) with RTN and GPTQ quantizers, and the model / data it runs on.
 */
export * from "./quantize.js";
export * from "./gptq.js";
export * from "./scores.js";
export * from "./allocate.js";
export * from "./layerwise.js";
export * from "./sweep.js";
export * from "./model.js";
export * from "./safetensors.js";
export * from "./text.js";
export * from "./llama.js";
export * from "./tokenizer.js";
