/**
 * Magnitude pruning during fine-tuning, with TF-MOT's polynomial-decay sparsity schedule:
 *   s(t) = s_f + (s_i − s_f)·(1 − (t − t0)/(t1 − t0))^p   for t0 ≤ t ≤ t1 (p = 3),
 * masks recomputed every `frequency` optimizer steps (the smallest-|w| share s(t) of each kernel is zeroed) and
 * re-applied after EVERY optimizer step, so momentum (Adam) cannot revive pruned weights.
 *
 * Honest cost: the result is a dense model with zeros. int8 kernels of CMSIS-NN / TFLM read every weight, so its MCU
 * flash and latency equal the unpruned model's (src/mcu prices all weights; a zero costs one byte like any other).
 * Only a sparse storage format with a kernel that reads it would shrink flash; `sparseFormatBytes` estimates that
 * hypothetical format. Structured pruning (structured.ts) is what lowers flash and latency with dense kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import type { LongRunOptions } from '../common/progress';
import type { DataSplits, Dataset } from '../data/types';
import { datasetSize } from '../data/types';
import { forward } from '../train/forward';
import type { OptimizerName, TrainResult } from '../train/loop';
import { train } from '../train/loop';
import { rebuildModel } from './rebuild';

export interface SparsitySchedule {
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  /** Default 3 (TF-MOT). */
  power?: number;
}

/** TF-MOT PolynomialDecay: sparsity at optimizer step `step`. */
export function polynomialSparsity(step: number, s: SparsitySchedule): number {
  const p = s.power ?? 3;
  if (step <= s.beginStep) return s.initialSparsity;
  if (step >= s.endStep || s.endStep <= s.beginStep) return s.finalSparsity;
  const frac = (step - s.beginStep) / (s.endStep - s.beginStep);
  return s.finalSparsity + (s.initialSparsity - s.finalSparsity) * (1 - frac) ** p;
}

export interface MagnitudePruneOptions extends LongRunOptions {
  /** Final share of zero weights in each pruned kernel, in [0, 1). */
  sparsity: number;
  initialSparsity?: number;
  /** Fine-tuning epochs (default 2). */
  epochs?: number;
  batchSize?: number;
  /** Default 5e-4 (fine-tuning: lower than training). */
  learningRate?: number;
  optimizer?: OptimizerName;
  /** Schedule steps (optimizer steps); default begin 0, end at 75 % of the steps so the last quarter recovers. */
  beginStep?: number;
  endStep?: number;
  /** Steps between mask updates (default 10). */
  frequency?: number;
  power?: number;
  /** Kernels of these layers only; default every Dense / Conv1D / Conv2D / DepthwiseConv2D kernel. */
  layers?: string[];
  seed?: number;
}

export interface PrunedKernel {
  layer: string;
  weights: number;
  zeros: number;
  sparsity: number;
}

export interface MagnitudePruneResult {
  model: tf.LayersModel;
  train: TrainResult;
  layers: PrunedKernel[];
  /** Zeros / weights over all pruned kernels. */
  sparsity: number;
  /** (step, target sparsity) at every mask update. */
  schedule: Array<{ step: number; sparsity: number }>;
  totalSteps: number;
  aborted: boolean;
}

const PRUNABLE = new Set(['Dense', 'Conv1D', 'Conv2D', 'DepthwiseConv2D']);

interface Masked {
  layer: string;
  variable: tf.Variable;
  mask: tf.Tensor | null;
}

/** Zero the smallest-|w| share `s` of a kernel: returns the new 0/1 mask. */
function magnitudeMask(v: tf.Variable, s: number): tf.Tensor {
  const w = v.dataSync() as Float32Array;
  const k = Math.floor(s * w.length);
  const m = new Float32Array(w.length).fill(1);
  if (k > 0) {
    // Index sort by |w| (ties by index) so exactly k weights go, whatever ties among zeros.
    const idx = Array.from(w.keys()).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
    for (let i = 0; i < k; i++) m[idx[i]] = 0;
  }
  return tf.tensor(m, v.shape);
}

function applyMasks(ms: Masked[]): void {
  for (const m of ms) {
    const mask = m.mask;
    if (mask) tf.tidy(() => m.variable.assign(tf.mul(m.variable, mask)));
  }
}

/** Kernel weights that are exactly zero, per layer. */
export function kernelSparsity(model: tf.LayersModel, layers?: string[]): PrunedKernel[] {
  const want = layers ? new Set(layers) : null;
  return model.layers
    .filter((l) => PRUNABLE.has(l.getClassName()) && (!want || want.has(l.name)))
    .map((l) => {
      const v = l.getWeights()[0].dataSync();
      let zeros = 0;
      for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
      return { layer: l.name, weights: v.length, zeros, sparsity: zeros / v.length };
    });
}

/**
 * Bytes a hypothetical sparse int8 format would need for the pruned kernels: one bit per weight (bitmap) plus one byte
 * per non-zero, versus one byte per weight dense. Not what the MCU runtimes we price can execute.
 */
export function sparseFormatBytes(kernels: PrunedKernel[]): { dense: number; sparse: number } {
  let dense = 0, sparse = 0;
  for (const k of kernels) {
    dense += k.weights;
    sparse += Math.ceil(k.weights / 8) + (k.weights - k.zeros);
  }
  return { dense, sparse };
}

/**
 * Fine-tune a copy of `model` on data.train while pruning kernel weights by magnitude to `sparsity` on the schedule.
 * The original model is not changed. On abort it stops at the next batch and keeps the masks reached so far.
 */
export async function magnitudePrune(model: tf.LayersModel, data: DataSplits | { train: Dataset; val?: Dataset }, opts: MagnitudePruneOptions): Promise<MagnitudePruneResult> {
  const target = opts.sparsity;
  if (!(target >= 0 && target < 1)) throw new InputError(`sparsity must be in [0, 1), e.g. 0.5 (got ${target})`);
  const s0 = opts.initialSparsity ?? 0;
  if (!(s0 >= 0 && s0 <= target)) throw new InputError(`initialSparsity must be in [0, sparsity] (got ${s0})`);
  const epochs = opts.epochs ?? 2;
  const batchSize = opts.batchSize ?? 64;
  const n = datasetSize(data.train);
  const totalSteps = epochs * Math.ceil(n / batchSize);
  const schedule: SparsitySchedule = {
    initialSparsity: s0,
    finalSparsity: target,
    beginStep: opts.beginStep ?? 0,
    endStep: opts.endStep ?? Math.max(1, Math.floor(0.75 * totalSteps)),
    power: opts.power,
  };
  const frequency = Math.max(1, Math.floor(opts.frequency ?? 10));
  const want = opts.layers ? new Set(opts.layers) : null;
  if (want) {
    const names = new Set(model.layers.map((l) => l.name));
    const missing = [...want].filter((x) => !names.has(x));
    if (missing.length) throw new InputError(`no layer named ${missing.map((m) => `'${m}'`).join(', ')} in model '${model.name}'`);
  }
  const pruned = rebuildModel(model, () => undefined, `${model.name}_sparse`);
  const masked: Masked[] = pruned.layers
    .filter((l) => PRUNABLE.has(l.getClassName()) && (!want || want.has(l.name)) && l.trainableWeights.length > 0)
    .map((l) => ({ layer: l.name, variable: l.trainableWeights[0].read() as tf.Variable, mask: null }));
  if (!masked.length) throw new InputError(`model '${model.name}' has no Dense/Conv kernels to prune`);
  const log: Array<{ step: number; sparsity: number }> = [];
  let step = 0;
  let current = -1;
  const updateMasks = (s: number) => {
    for (const m of masked) {
      m.mask?.dispose();
      m.mask = magnitudeMask(m.variable, s);
    }
    current = s;
    log.push({ step, sparsity: s });
  };
  try {
    updateMasks(polynomialSparsity(0, schedule));
    applyMasks(masked);
    const result = await train(pruned, data, {
      epochs,
      batchSize,
      learningRate: opts.learningRate ?? 5e-4,
      optimizer: opts.optimizer ?? 'adam',
      seed: opts.seed,
      // The best epoch may predate the final sparsity: keep the last weights.
      restoreBest: false,
      signal: opts.signal,
      onProgress: opts.onProgress ? (e) => opts.onProgress!({ ...e, task: 'prune', metrics: { ...e.metrics, sparsity: current } }) : undefined,
      customStep: (ctx) => {
        const cost = ctx.optimizer.minimize(
          () => {
            const r = forward(ctx.model, ctx.x, true);
            return (r.logits
              ? tf.losses.softmaxCrossEntropy(ctx.yTrue, r.logits)
              : tf.neg(tf.mean(tf.sum(tf.mul(ctx.yTrue, tf.log(tf.clipByValue(r.output, 1e-7, 1))), -1)))) as tf.Scalar;
          },
          true,
          ctx.variables,
        );
        const loss = cost ? cost.dataSync()[0] : NaN;
        cost?.dispose();
        step++;
        if (step % frequency === 0 || step === schedule.endStep) {
          const s = polynomialSparsity(step, schedule);
          if (s !== current) updateMasks(s);
        }
        applyMasks(masked);
        return loss;
      },
    });
    const aborted = result.stopReason === 'aborted';
    if (!aborted && current !== target) {
      updateMasks(target);
      applyMasks(masked);
    }
    const layers = kernelSparsity(pruned, masked.map((m) => m.layer));
    const w = layers.reduce((a, l) => a + l.weights, 0);
    const z = layers.reduce((a, l) => a + l.zeros, 0);
    return { model: pruned, train: result, layers, sparsity: z / w, schedule: log, totalSteps, aborted };
  } catch (e) {
    pruned.dispose();
    throw e;
  } finally {
    for (const m of masked) m.mask?.dispose();
  }
}
