/**
 * Trial recipes from the library, loadable by name in a worker process (`worker: {module: 'recipe:cnn'}`) or called
 * in-process. `cnn` builds src/models' buildCnn from the sweep's params, trains it with src/train on embedded MNIST and
 * reports val_accuracy; `cnnCost` prices the same model on a board with src/mcu without training it (the constraint
 * for `--board` / `--max-latency`). Not re-exported from src/index: it pulls in tfjs.
 */
import { backendInfo, initBackend } from '../backend';
import { loadMnist } from '../data/mnist';
import { graphFromLayersModel } from '../graph/tfjs';
import { estimate } from '../mcu/estimate';
import { buildCnn } from '../models/builders';
import type { Activation } from '../models/builders';
import { evaluate } from '../train/evaluate';
import { train } from '../train/loop';
import type { OptimizerName } from '../train/loop';
import type { ConstraintResult, TrialContext } from './sweep';
import type { Params } from './space';

function cnnOptions(p: Params, seed: number) {
  const size = Number(p.size ?? 14) === 28 ? 28 : 14;
  return {
    size: size as 14 | 28,
    model: {
      inputShape: [size, size, 1],
      numClasses: 10,
      filters: Math.round(Number(p.filters ?? 16)),
      depth: Math.round(Number(p.depth ?? 2)),
      activation: String(p.activation ?? 'relu') as Activation,
      dropout: p.dropout !== undefined ? Number(p.dropout) : undefined,
      dense: p.dense !== undefined ? Math.round(Number(p.dense)) : undefined,
      seed,
    },
  };
}

/** Train a small CNN on embedded MNIST with the sweep's params (learningRate, filters, depth, activation, epochs…). */
export async function cnn(p: Params, signal?: AbortSignal, ctx?: TrialContext): Promise<Record<string, number>> {
  // A recipe also runs in fresh worker processes, where nothing has picked a backend yet: without this, tfjs falls
  // back to its slow 'cpu' backend. A backend the user chose (%backend) is left as it is.
  if (!backendInfo()) await initBackend();
  const seed = ctx?.seed ?? 0;
  const o = cnnOptions(p, seed);
  const data = loadMnist({ size: o.size, seed: 0, limit: Number(p.limit ?? 3000) });
  const model = buildCnn(o.model);
  try {
    const r = await train(model, data, {
      epochs: Number(p.epochs ?? 3),
      batchSize: Number(p.batchSize ?? 64),
      optimizer: String(p.optimizer ?? 'adam') as OptimizerName,
      learningRate: Number(p.learningRate ?? p.lr ?? 1e-3),
      seed,
      signal,
    });
    const ev = evaluate(model, data.val);
    const last = r.history[r.history.length - 1];
    return { val_accuracy: ev.accuracy, val_loss: last?.valLoss ?? NaN, loss: last?.loss ?? NaN, params: model.countParams(), seconds: r.seconds };
  } finally {
    model.dispose();
  }
}

/** Price the CNN of these params on `board` (no training): feasible when it fits flash and RAM and meets the latency. */
export function cnnCost(board: string, opts: { dtype?: 'int8' | 'float32'; maxLatencyMs?: number } = {}): (p: Params) => ConstraintResult {
  return (p) => {
    const o = cnnOptions(p, 0);
    const model = buildCnn(o.model);
    try {
      const r = estimate(graphFromLayersModel(model, { name: 'candidate' }), board, { dtype: opts.dtype ?? 'int8' });
      const costs = { flash: r.totals.flashBytes, ram: r.totals.ramBytes, latencyMs: r.totals.latencyMs };
      const reasons: string[] = [];
      if (!r.fits.flash) reasons.push(`flash ${(costs.flash / 1024).toFixed(0)} KiB does not fit`);
      if (!r.fits.ram) reasons.push(`RAM ${(costs.ram / 1024).toFixed(0)} KiB does not fit`);
      if (opts.maxLatencyMs !== undefined && costs.latencyMs > opts.maxLatencyMs) reasons.push(`latency ${costs.latencyMs.toFixed(1)} ms > ${opts.maxLatencyMs} ms`);
      return { feasible: reasons.length === 0, reason: reasons.join('; ') || undefined, costs };
    } finally {
      model.dispose();
    }
  };
}
