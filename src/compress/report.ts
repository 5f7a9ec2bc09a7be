/**
 * Figures and tables for compression: per-model rows (learnables, params, MACs, int8 flash and latency from src/mcu,
 * accuracy) and per-layer tables for projection and filter pruning. Everything carries toMimeBundle() (text + HTML),
 * so the kernel shows it and scripts print `.text`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/types';
import { graphFromLayersModel } from '../graph/tfjs';
import { graphTotals } from '../graph/types';
import { estimate } from '../mcu/estimate';
import { evaluate } from '../train/evaluate';
import type { FilterPruneResult } from './structured';
import type { MagnitudePruneResult } from './magnitude';
import { sparseFormatBytes } from './magnitude';
import type { ProjectionResult } from './project';
import { learnableCount } from './rebuild';

export const COMPRESS_BOARD = 'NUCLEO-L476RG';

export interface CompressionRow {
  label: string;
  /** Trainable values. */
  learnables: number;
  /** All constants of the layer graph (incl. BN statistics), as src/graph counts them. */
  params: number;
  macs: number;
  /** int8 weights + biases in flash on the board (dense storage: zeros cost like any weight). */
  int8WeightsFlashBytes: number;
  /** Whole int8 image: weights, quantisation parameters, runtime code. */
  int8FlashBytes: number;
  latencyMs: number;
  /** NaN when no test data was given. */
  accuracy: number;
  /** Share of exactly-zero kernel weights (magnitude pruning). */
  sparsity?: number;
  /** Hypothetical sparse-format kernel bytes (bitmap + non-zeros) where sparsity applies. */
  sparseKernelBytes?: number;
}

/** Price and evaluate one model. */
export function compressionRow(label: string, model: tf.LayersModel, test: Dataset | undefined, board = COMPRESS_BOARD): CompressionRow {
  const g = graphFromLayersModel(model);
  const t = graphTotals(g);
  const rep = estimate(g, board, { dtype: 'int8' });
  return {
    label,
    learnables: learnableCount(model),
    params: t.params,
    macs: t.macs,
    int8WeightsFlashBytes: rep.totals.weightsFlashBytes,
    int8FlashBytes: rep.totals.flashBytes,
    latencyMs: rep.totals.latencyMs,
    accuracy: test ? evaluate(model, test).accuracy : NaN,
  };
}

/** Add the sparsity columns of a magnitude-pruned model to its row. */
export function withSparsity(row: CompressionRow, r: MagnitudePruneResult): CompressionRow {
  const b = sparseFormatBytes(r.layers);
  return { ...row, sparsity: r.sparsity, sparseKernelBytes: b.sparse };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (a: number | undefined) => (a === undefined || Number.isNaN(a) ? '-' : `${(100 * a).toFixed(2)} %`);
const kib = (b: number | undefined) => (b === undefined ? '-' : `${(b / 1024).toFixed(1)} KiB`);
function esc(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface CompressTable {
  title: string;
  head: string[];
  rows: string[][];
  notes: string[];
  text: string;
  toMimeBundle(): { data: Record<string, unknown> };
}

/** A text + HTML table (first column left-aligned, the rest right-aligned). */
export function compressTable(title: string, head: string[], rows: string[][], notes: string[] = []): CompressTable {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join('  ');
  const text = [title, line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line), ...notes].join('\n');
  const html =
    `<table><caption>${esc(title)}</caption><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((v, i) => `<td${i ? ' style="text-align:right"' : ''}>${esc(v)}</td>`).join('')}</tr>`).join('') +
    `</tbody></table>` +
    notes.map((n) => `<p>${esc(n)}</p>`).join('');
  return { title, head, rows, notes, text, toMimeBundle: () => ({ data: { 'text/plain': text, 'text/html': html } }) };
}

export const PRUNING_NOTE =
  'Only structured pruning (removed filters) lowers MCU flash and latency for dense int8 kernels: magnitude pruning ' +
  'leaves a dense model with zeros, which CMSIS-NN/TFLM store and multiply like any weight, so its int8 flash and ' +
  'latency equal the unpruned model (the cost simulator counts every weight). "sparse kernels" is what a sparse ' +
  'storage format (bitmap + int8 non-zeros) would need, with a runtime that reads it.';

export function comparisonTable(rows: CompressionRow[], board = COMPRESS_BOARD, notes: string[] = []): CompressTable {
  const anySparse = rows.some((r) => r.sparsity !== undefined);
  const head = ['model', 'accuracy', 'learnables', 'params', 'MACs', 'int8 weights', 'int8 flash', 'latency', ...(anySparse ? ['sparsity', 'sparse kernels'] : [])];
  const body = rows.map((r) => [
    r.label,
    pct(r.accuracy),
    fmt(r.learnables),
    fmt(r.params),
    fmt(r.macs),
    kib(r.int8WeightsFlashBytes),
    kib(r.int8FlashBytes),
    `${r.latencyMs.toFixed(2)} ms`,
    ...(anySparse ? [r.sparsity === undefined ? '-' : pct(r.sparsity), kib(r.sparseKernelBytes)] : []),
  ]);
  return compressTable(`compression on ${board} (int8, dense kernels)`, head, body, notes);
}

export function projectionTable(r: ProjectionResult): CompressTable {
  const goal = r.goal.reduction !== undefined
    ? `reduction goal ${pct(r.goal.reduction)} → common explained-variance threshold ${r.threshold.toFixed(4)}`
    : `explained-variance goal ${r.threshold}`;
  const rows = r.layers.map((l) => [
    l.layer,
    l.kind,
    String(l.inputDim),
    l.projected ? (l.channels > l.k ? `${l.k}+μ` : String(l.k)) : '-',
    l.projected ? pct(l.explainedVariance) : '-',
    fmt(l.paramsBefore),
    fmt(l.paramsAfter),
    l.meanHandling === 'bias' ? 'mean→bias' : 'mean→basis',
    l.projected ? 'projected' : (l.note ?? 'kept'),
  ]);
  return compressTable(
    `projection of ${r.spectra.length} layers (${goal})`,
    ['layer', 'kind', 'inputs', 'k', 'explained', 'params before', 'params after', 'mean', ''],
    rows,
    [`learnables ${fmt(r.learnablesBefore)} → ${fmt(r.learnablesAfter)} (−${pct(r.reduction)})`],
  );
}

export function filterPruneTable(r: FilterPruneResult): CompressTable {
  const rows = r.layers.map((l) => [l.layer, String(l.filtersBefore), String(l.filtersAfter), l.next, l.through.join(', ') || '-']);
  for (const s of r.skipped) rows.push([s.layer, '-', '-', '-', `kept: ${s.reason}`]);
  return compressTable(
    'structured filter pruning (L1 norm)',
    ['layer', 'filters before', 'after', 'shrinks input of', 'through'],
    rows,
    [`learnables ${fmt(r.learnablesBefore)} → ${fmt(r.learnablesAfter)} (−${pct(r.reduction)})`],
  );
}

export function sparsityTable(r: MagnitudePruneResult): CompressTable {
  const rows = r.layers.map((l) => [l.layer, fmt(l.weights), fmt(l.zeros), pct(l.sparsity)]);
  const b = sparseFormatBytes(r.layers);
  return compressTable(
    `magnitude pruning (polynomial decay to ${pct(r.schedule[r.schedule.length - 1]?.sparsity)} over ${r.totalSteps} steps${r.aborted ? ', interrupted' : ''})`,
    ['layer', 'weights', 'zeros', 'sparsity'],
    rows,
    [`kernels: ${kib(b.dense)} dense int8 vs ${kib(b.sparse)} in a sparse format (not executable by CMSIS-NN/TFLM dense kernels)`],
  );
}
