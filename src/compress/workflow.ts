/**
 * The end-to-end workflows behind %project and %prune and the benchmark: compress, measure accuracy before/after,
 * fine-tune briefly at a low learning rate, and price every variant on an MCU.
 */
import type * as tf from '@tensorflow/tfjs';
import type { DataSplits, Dataset } from '../data/types';
import { datasetSize } from '../data/types';
import type { TrainResult } from '../train/loop';
import { train } from '../train/loop';
import type { MagnitudePruneOptions, MagnitudePruneResult } from './magnitude';
import { magnitudePrune } from './magnitude';
import type { ProjectOptions, ProjectionResult } from './project';
import { projectModel } from './project';
import type { CompressionRow, CompressTable } from './report';
import { COMPRESS_BOARD, PRUNING_NOTE, comparisonTable, filterPruneTable, compressionRow, projectionTable, sparsityTable, withSparsity } from './report';
import type { FilterPruneResult } from './structured';
import { pruneFilters } from './structured';

export interface FineTuneOptions {
  /** Fine-tuning epochs after compression (0 = none); default 2. */
  finetuneEpochs?: number;
  /** Default 5e-4: lower than training, the weights are already good. */
  learningRate?: number;
  finetuneBatchSize?: number;
  seed?: number;
  /** Board the variants are priced on (int8). */
  board?: string;
}

function testSet(data: DataSplits): Dataset | undefined {
  if (data.test && datasetSize(data.test) > 0) return data.test;
  if (data.val && datasetSize(data.val) > 0) return data.val;
  return undefined;
}

async function fineTune(model: tf.LayersModel, data: DataSplits, o: FineTuneOptions & { signal?: AbortSignal; onProgress?: ProjectOptions['onProgress'] }): Promise<TrainResult | undefined> {
  const epochs = o.finetuneEpochs ?? 2;
  if (epochs <= 0) return undefined;
  return train(model, data, {
    epochs,
    batchSize: o.finetuneBatchSize ?? 64,
    learningRate: o.learningRate ?? 5e-4,
    seed: o.seed,
    signal: o.signal,
    onProgress: o.onProgress,
  });
}

export interface ProjectionReport {
  projection: ProjectionResult;
  /** The projected (and fine-tuned, when finetuneEpochs > 0) model. */
  model: tf.LayersModel;
  accuracy: { original: number; projected: number; finetuned: number };
  rows: CompressionRow[];
  finetune?: TrainResult;
  tables: CompressTable[];
  toMimeBundle(): { data: Record<string, unknown> };
}

function bundleOf(tables: CompressTable[]): () => { data: Record<string, unknown> } {
  return () => {
    const parts = tables.map((t) => t.toMimeBundle().data);
    return { data: { 'text/plain': parts.map((p) => p['text/plain']).join('\n\n'), 'text/html': parts.map((p) => p['text/html']).join('') } };
  };
}

/** Projection pruning of `model` calibrated on data.train, then fine-tuning; accuracies on data.test. */
export async function projectAndFineTune(model: tf.LayersModel, data: DataSplits, opts: ProjectOptions & FineTuneOptions = {}): Promise<ProjectionReport> {
  const board = opts.board ?? COMPRESS_BOARD;
  const test = testSet(data);
  const original = compressionRow('original', model, test, board);
  const projection = await projectModel(model, data.train, opts);
  const projected = compressionRow('projected', projection.model, test, board);
  const finetune = await fineTune(projection.model, data, opts);
  const rows = [original, projected];
  let tuned = projected;
  if (finetune) {
    tuned = compressionRow(`projected + ${finetune.epochsRun} epoch${finetune.epochsRun === 1 ? '' : 's'} fine-tuning`, projection.model, test, board);
    rows.push(tuned);
  }
  const tables = [projectionTable(projection), comparisonTable(rows, board)];
  return {
    projection,
    model: projection.model,
    accuracy: { original: original.accuracy, projected: projected.accuracy, finetuned: tuned.accuracy },
    rows,
    finetune,
    tables,
    toMimeBundle: bundleOf(tables),
  };
}

export interface PruneReport {
  kind: 'magnitude' | 'filters';
  model: tf.LayersModel;
  magnitude?: MagnitudePruneResult;
  filters?: FilterPruneResult;
  accuracy: { original: number; pruned: number; finetuned: number };
  rows: CompressionRow[];
  tables: CompressTable[];
  toMimeBundle(): { data: Record<string, unknown> };
}

/** Magnitude pruning to `sparsity` while fine-tuning (the schedule runs inside the fine-tune). */
export async function magnitudePruneReport(model: tf.LayersModel, data: DataSplits, opts: Omit<MagnitudePruneOptions, 'epochs' | 'batchSize'> & FineTuneOptions): Promise<PruneReport> {
  const board = opts.board ?? COMPRESS_BOARD;
  const test = testSet(data);
  const original = compressionRow('original', model, test, board);
  const r = await magnitudePrune(model, data, {
    ...opts,
    epochs: Math.max(1, opts.finetuneEpochs ?? 2),
    batchSize: opts.finetuneBatchSize ?? 64,
  });
  const row = withSparsity(compressionRow(`magnitude-pruned ${(100 * r.sparsity).toFixed(0)} %`, r.model, test, board), r);
  const rows = [original, row];
  const tables = [sparsityTable(r), comparisonTable(rows, board, [PRUNING_NOTE])];
  return { kind: 'magnitude', model: r.model, magnitude: r, accuracy: { original: original.accuracy, pruned: row.accuracy, finetuned: row.accuracy }, rows, tables, toMimeBundle: bundleOf(tables) };
}

/** Structured filter pruning by L1 norm, then fine-tuning. */
export async function filterPruneReport(model: tf.LayersModel, data: DataSplits, opts: { fraction: number; layers?: string[]; signal?: AbortSignal; onProgress?: ProjectOptions['onProgress'] } & FineTuneOptions): Promise<PruneReport> {
  const board = opts.board ?? COMPRESS_BOARD;
  const test = testSet(data);
  const original = compressionRow('original', model, test, board);
  const f = pruneFilters(model, { fraction: opts.fraction, layers: opts.layers });
  const pruned = compressionRow(`filters −${(100 * opts.fraction).toFixed(0)} %`, f.model, test, board);
  const ft = await fineTune(f.model, data, opts);
  const rows = [original, pruned];
  let tuned = pruned;
  if (ft) {
    tuned = compressionRow(`filters −${(100 * opts.fraction).toFixed(0)} % + ${ft.epochsRun} epoch${ft.epochsRun === 1 ? '' : 's'}`, f.model, test, board);
    rows.push(tuned);
  }
  const tables = [filterPruneTable(f), comparisonTable(rows, board, [PRUNING_NOTE])];
  return { kind: 'filters', model: f.model, filters: f, accuracy: { original: original.accuracy, pruned: pruned.accuracy, finetuned: tuned.accuracy }, rows, tables, toMimeBundle: bundleOf(tables) };
}
