/**
 * The training loop: a custom loop over tf.Optimizer.minimize (not model.fit) so we control batching from typed
 * arrays, progress, cancellation at batch boundaries, best-weight tracking and custom losses (distillation).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import type { LongRunOptions } from '../common/progress';
import { batches, oneHot } from '../data/split';
import { Dataset, DataSplits, datasetSize } from '../data/types';
import { checkInputShape, forward } from './forward';
import { makeSchedule, ScheduleSpec } from './schedule';
import { fusedAdam } from './adam';
import { withUnusedInputGradients } from '../backend/unused-input-grad';
import { DenseChain, denseChainApplies, denseChainStep, recogniseDenseChain } from './dense-chain';

export type OptimizerName = 'adam' | 'sgd' | 'momentum' | 'rmsprop' | 'adamax' | 'adagrad';

/** Everything a custom loss sees for one batch. Tensors belong to the loop: do not dispose them. */
export interface LossContext {
  /** Batch inputs [b, ...sampleShape]. */
  x: tf.Tensor;
  /** Integer labels [b] (int32), or null for unlabelled data. */
  labels: tf.Tensor1D | null;
  /** One-hot labels [b, classes] for classifiers, the input itself for unlabelled data (autoencoders). */
  yTrue: tf.Tensor;
  /** Model output in training mode (probabilities for classifiers). */
  yPred: tf.Tensor;
  /** Pre-softmax logits when the model has a softmax head (see forward.ts), else null. */
  logits: tf.Tensor | null;
  /** Indices of the batch's samples in the training dataset (e.g. to look up cached teacher logits). */
  indices: Int32Array;
  epoch: number;
  batch: number;
}

/**
 * A custom loss: called inside the gradient tape, must return a scalar built from ctx tensors (anything it creates
 * is freed by the loop). Example (distillation):
 *   loss: (ctx) => tf.add(tf.mul(0.1, tf.losses.softmaxCrossEntropy(ctx.yTrue, ctx.logits!)),
 *                         tf.mul(0.9, kl(teacherLogits(ctx.x), ctx.logits!, T)))
 */
export type CustomLoss = (ctx: LossContext) => tf.Scalar;

/**
 * A whole custom step: replaces forward + loss + update for one batch. Return the batch loss as a number.
 * Use `ctx.optimizer.minimize(() => ..., true, ctx.variables)` inside, and dispose what you create.
 */
export type CustomStep = (ctx: {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  variables: tf.Variable[];
  x: tf.Tensor;
  labels: tf.Tensor1D | null;
  yTrue: tf.Tensor;
  indices: Int32Array;
  epoch: number;
  batch: number;
}) => number | Promise<number>;

export interface EarlyStopping {
  /** Epochs without improvement before stopping (default 5). */
  patience?: number;
  /** Default 'val_loss' (or 'loss' without validation data). */
  monitor?: Monitor;
  minDelta?: number;
}

export type Monitor = 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy';

export interface TrainOptions extends LongRunOptions {
  epochs?: number;
  batchSize?: number;
  optimizer?: OptimizerName | tf.Optimizer;
  learningRate?: number;
  /** Learning-rate schedule: 'constant' (default), 'cosine', 'step' (×0.1 every third of training), 'exponential', or a spec/function. */
  schedule?: ScheduleSpec;
  earlyStopping?: EarlyStopping | boolean;
  /** Metric that picks the best epoch (default val_loss, or loss without validation data). */
  monitor?: Monitor;
  /** Restore the best epoch's weights at the end (default true). */
  restoreBest?: boolean;
  /** Seed for the per-epoch shuffles. */
  seed?: number;
  shuffle?: boolean;
  /** 'crossentropy' (default for labelled data), 'mse' (default for unlabelled: reconstruct the input), or custom. */
  loss?: 'crossentropy' | 'mse' | CustomLoss;
  customStep?: CustomStep;
  /** Progress events at most this often (ms); epoch ends are always reported. Default 200. */
  progressIntervalMs?: number;
  /** Evaluation batch size for validation (default 256). */
  evalBatchSize?: number;
  /**
   * Fused step for Dense/BatchNorm/ReLU chains trained with MSE on unlabelled data on wasm (dense-chain.ts; same
   * numbers as the generic path up to float rounding). Default true; false forces the generic path (benchmarks, A/B).
   */
  fastPath?: boolean;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  /** Training accuracy over the epoch (NaN for unlabelled data or custom steps). */
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  learningRate: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface TrainResult {
  history: EpochRecord[];
  /** Epoch (1-based) whose weights the model holds now (if restoreBest), or the last epoch run. */
  bestEpoch: number;
  monitor: Monitor;
  bestValue: number;
  stopReason: 'completed' | 'early-stopping' | 'aborted';
  epochsRun: number;
  /** Batches completed in total (an abort can stop mid-epoch). */
  batchesRun: number;
  seconds: number;
  samplesPerSecond: number;
  backend: string;
  toMimeBundle(): { data: Record<string, unknown> };
}

function makeOptimizer(o: OptimizerName, lr: number): tf.Optimizer {
  switch (o) {
    case 'adam':
      // Stock Adam's numbers with one fused kernel per variable on wasm (adam.ts).
      return fusedAdam(lr);
    case 'sgd':
      return tf.train.sgd(lr);
    case 'momentum':
      return tf.train.momentum(lr, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'adamax':
      return tf.train.adamax(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
    default:
      throw new InputError(`unknown optimizer '${o as string}': use adam, sgd, momentum, rmsprop, adamax or adagrad`);
  }
}

/** Set the learning rate on any tfjs optimizer (SGD keeps it as a scalar tensor; the others read a field). */
function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate?: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else if ('learningRate' in o) o.learningRate = lr;
}

function getLearningRate(opt: tf.Optimizer, fallback: number): number {
  const lr = (opt as unknown as { learningRate?: number }).learningRate;
  return typeof lr === 'number' ? lr : fallback;
}

/** Regularisation losses (e.g. ResNet-8's L2) that model.fit would add. */
function regularizationLoss(model: tf.LayersModel): tf.Scalar | null {
  const fn = (model as unknown as { calculateLosses?: () => tf.Scalar[] }).calculateLosses;
  if (typeof fn !== 'function') return null;
  const ls = fn.call(model);
  return ls.length ? (tf.addN(ls) as tf.Scalar) : null;
}

/**
 * Kernels of the Conv2D/Dense layers applied (only) directly to the model input: their input gradient is the gradient
 * w.r.t. the data batch, which the built-in losses never need, so the wasm kernels may skip it
 * (src/backend/unused-input-grad.ts). Read per batch: the variables' data changes at every optimizer step.
 */
function inputLayerKernels(model: tf.LayersModel): tf.LayerVariable[] {
  const input = model.inputs[0];
  const out: tf.LayerVariable[] = [];
  for (const layer of model.layers) {
    if (!['Conv2D', 'Dense'].includes(layer.getClassName())) continue;
    const nodes = layer.inboundNodes;
    if (nodes.length === 0 || !nodes.every((n) => n.inputTensors.length === 1 && n.inputTensors[0] === input)) continue;
    const kernel = layer.trainableWeights.find((w) => /kernel/.test(w.name));
    if (kernel) out.push(kernel);
  }
  return out;
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

function tensorOf(d: Dataset, x: Float32Array, size: number): tf.Tensor {
  return tf.tensor(x, [size, ...d.sampleShape]);
}

/** Mean loss and accuracy on a dataset in inference mode (no tensors left behind). */
export function evaluateLoss(
  model: tf.LayersModel,
  d: Dataset,
  batchSize = 256,
  lossKind: 'crossentropy' | 'mse' = 'crossentropy',
): { loss: number; accuracy: number } {
  const n = datasetSize(d);
  const labelled = d.y.length === n && d.numClasses > 0 && lossKind === 'crossentropy';
  let lossSum = 0, correct = 0;
  for (const b of batches(d, batchSize)) {
    const [l, c] = tf.tidy(() => {
      const x = tensorOf(d, b.x, b.size);
      const r = forward(model, x, false);
      if (!labelled) {
        const target = d.y.length ? x : x;
        return [tf.sum(tf.mean(tf.square(tf.sub(r.output, target.reshape(r.output.shape))), -1)).dataSync()[0], NaN];
      }
      const y = tf.tensor2d(oneHot(b.y, d.numClasses), [b.size, d.numClasses]);
      const ce = r.logits
        ? tf.losses.softmaxCrossEntropy(y, r.logits, undefined, undefined, tf.Reduction.SUM)
        : tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(r.output, 1e-7, 1)))));
      const corr = tf.sum(tf.cast(tf.equal(tf.argMax(r.output, -1), tf.tensor1d(b.y, 'int32')), 'float32'));
      return [ce.dataSync()[0], corr.dataSync()[0]];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / Math.max(1, n), accuracy: labelled ? correct / Math.max(1, n) : NaN };
}

/**
 * Train `model` in place. `data` is DataSplits (uses train and val) or {train, val?}.
 * Returns the history and leaves the best epoch's weights in the model (restoreBest, default true).
 * On abort (opts.signal) it stops at the next batch boundary, restores the best weights seen so far and returns
 * with stopReason 'aborted' (it does not throw).
 */
export async function train(
  model: tf.LayersModel,
  data: DataSplits | { train: Dataset; val?: Dataset },
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const trainSet = data.train;
  const val = data.val && datasetSize(data.val) > 0 ? data.val : undefined;
  checkInputShape(model, trainSet);
  const n = datasetSize(trainSet);
  if (n === 0) throw new InputError(`training data '${trainSet.name}' is empty`);
  const epochs = opts.epochs ?? 10;
  const batchSize = opts.batchSize ?? 32;
  if (!(epochs >= 1) || !(batchSize >= 1)) throw new InputError('epochs and batchSize must be at least 1');
  const labelled = trainSet.y.length === n && trainSet.numClasses > 0;
  const lossKind: 'crossentropy' | 'mse' | 'custom' =
    typeof opts.loss === 'function' ? 'custom' : (opts.loss ?? (labelled ? 'crossentropy' : 'mse'));
  if (lossKind === 'crossentropy' && !labelled) {
    throw new InputError(`data '${trainSet.name}' has no labels: use loss: 'mse' (autoencoder) or label the data`);
  }
  const monitor: Monitor =
    opts.monitor ??
    (typeof opts.earlyStopping === 'object' ? opts.earlyStopping.monitor : undefined) ??
    (val ? 'val_loss' : 'loss');
  if (monitor.startsWith('val_') && !val) throw new InputError(`monitor '${monitor}' needs validation data (data.val)`);
  const es: Required<EarlyStopping> | null = opts.earlyStopping
    ? { patience: 5, monitor, minDelta: 0, ...(opts.earlyStopping === true ? {} : opts.earlyStopping) }
    : null;
  const restoreBest = opts.restoreBest ?? true;
  const baseLr = opts.learningRate ?? 1e-3;
  const ownOptimizer = typeof opts.optimizer !== 'object';
  const optimizer =
    typeof opts.optimizer === 'object' ? opts.optimizer : makeOptimizer(opts.optimizer ?? 'adam', baseLr);
  if (!ownOptimizer && opts.learningRate !== undefined) setLearningRate(optimizer, baseLr);
  const lrAt = makeSchedule(opts.schedule ?? 'constant', baseLr, epochs);
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const totalBatches = epochs * batchesPerEpoch;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const firstKernels = inputLayerKernels(model);
  // Dense-chain models (e.g. the anomaly-detection autoencoder) on reconstruction MSE: one fused kernel per step.
  const chain: DenseChain | null =
    opts.fastPath !== false && !opts.customStep && lossKind === 'mse' && !labelled ? recogniseDenseChain(model, variables) : null;
  const interval = opts.progressIntervalMs ?? 200;
  const evalBatch = opts.evalBatchSize ?? 256;
  const seed = opts.seed ?? 0;

  const history: EpochRecord[] = [];
  let best: tf.Tensor[] | null = null;
  let bestValue = NaN;
  let bestEpoch = 0;
  let sinceBest = 0;
  let stopReason: TrainResult['stopReason'] = 'completed';
  let batchesRun = 0;
  let lastProgress = 0;
  const t0 = performance.now();
  let samplesSeen = 0;
  const higherIsBetter = monitor.endsWith('accuracy');

  try {
    for (let epoch = 1; epoch <= epochs && stopReason === 'completed'; epoch++) {
      const te = performance.now();
      let lossSum = 0, correct = 0, seen = 0, bIdx = 0;
      for (const b of batches(trainSet, batchSize, { shuffle: opts.shuffle ?? true, seed: seed * 100003 + epoch })) {
        if (opts.signal?.aborted) {
          stopReason = 'aborted';
          break;
        }
        const lr = lrAt(epoch - 1 + bIdx / batchesPerEpoch);
        setLearningRate(optimizer, lr);
        const x = tensorOf(trainSet, b.x, b.size);
        const labels = labelled ? tf.tensor1d(b.y, 'int32') : null;
        const yTrue = labelled ? tf.tensor2d(oneHot(b.y, trainSet.numClasses), [b.size, trainSet.numClasses]) : x;
        let batchLoss: number;
        let batchCorrect = NaN;
        try {
          if (opts.customStep) {
            batchLoss = await opts.customStep({ model, optimizer, variables, x, labels, yTrue, indices: b.indices, epoch, batch: bIdx });
          } else if (chain && denseChainApplies(chain, x, yTrue)) {
            batchLoss = denseChainStep(chain, x, yTrue, optimizer);
          } else {
            let corr: tf.Tensor | null = null;
            const unusedInputGrads =
              lossKind === 'custom' ? [] : firstKernels.map((k) => ({ dataId: k.read().dataId, inputShape: x.shape }));
            const cost = withUnusedInputGradients(unusedInputGrads, () => optimizer.minimize(
              () => {
                const r = forward(model, x, true);
                let loss: tf.Scalar;
                if (lossKind === 'custom') {
                  loss = (opts.loss as CustomLoss)({
                    x, labels, yTrue, yPred: r.output, logits: r.logits, indices: b.indices, epoch, batch: bIdx,
                  });
                } else if (lossKind === 'mse') {
                  loss = tf.losses.meanSquaredError(yTrue.reshape(r.output.shape), r.output) as tf.Scalar;
                } else {
                  loss = (r.logits
                    ? tf.losses.softmaxCrossEntropy(yTrue, r.logits)
                    : tf.neg(tf.mean(tf.sum(tf.mul(yTrue, tf.log(tf.clipByValue(r.output, 1e-7, 1))), -1)))) as tf.Scalar;
                }
                if (labels && r.output.shape.length === 2) {
                  corr = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(r.output, -1), labels), 'float32')));
                }
                const reg = regularizationLoss(model);
                return reg ? (tf.add(loss, reg) as tf.Scalar) : loss;
              },
              true,
              variables,
            ));
            batchLoss = cost ? cost.dataSync()[0] : NaN;
            cost?.dispose();
            if (corr) {
              batchCorrect = (corr as tf.Tensor).dataSync()[0];
              (corr as tf.Tensor).dispose();
            }
          }
        } finally {
          x.dispose();
          labels?.dispose();
          if (yTrue !== x) yTrue.dispose();
        }
        if (!Number.isFinite(batchLoss)) {
          throw new InputError(
            `loss became ${batchLoss} at epoch ${epoch}, batch ${bIdx + 1}: lower the learning rate (now ${lr.toPrecision(3)}) or normalise the data`,
          );
        }
        lossSum += batchLoss * b.size;
        correct += batchCorrect;
        seen += b.size;
        samplesSeen += b.size;
        bIdx++;
        batchesRun++;
        const now = performance.now();
        if (opts.onProgress && now - lastProgress >= interval) {
          lastProgress = now;
          opts.onProgress({
            task: 'train',
            done: batchesRun,
            total: totalBatches,
            message: `epoch ${epoch}/${epochs} batch ${bIdx}/${batchesPerEpoch} loss ${(lossSum / seen).toFixed(4)}`,
            metrics: { epoch, batch: bIdx, loss: lossSum / seen, accuracy: correct / seen, learningRate: lr },
          });
        }
        await yieldToEventLoop();
      }
      if (seen === 0) break; // aborted before the first batch of this epoch
      const secs = (performance.now() - te) / 1000;
      const rec: EpochRecord = {
        epoch,
        loss: lossSum / seen,
        accuracy: correct / seen,
        learningRate: getLearningRate(optimizer, lrAt(epoch - 1)),
        seconds: secs,
        samplesPerSecond: seen / secs,
      };
      const partial = stopReason === 'aborted';
      if (val && !partial) {
        const v = evaluateLoss(model, val, evalBatch, lossKind === 'mse' ? 'mse' : 'crossentropy');
        rec.valLoss = v.loss;
        rec.valAccuracy = v.accuracy;
      }
      if (!partial) history.push(rec);
      // Best-epoch tracking (complete epochs only).
      if (!partial) {
        const value =
          monitor === 'loss' ? rec.loss : monitor === 'accuracy' ? rec.accuracy : monitor === 'val_loss' ? rec.valLoss! : rec.valAccuracy!;
        const improved =
          Number.isNaN(bestValue) ||
          (higherIsBetter ? value > bestValue + (es?.minDelta ?? 0) : value < bestValue - (es?.minDelta ?? 0));
        if (improved) {
          bestValue = value;
          bestEpoch = epoch;
          sinceBest = 0;
          if (restoreBest) {
            if (best) tf.dispose(best);
            best = model.getWeights().map((w) => w.clone());
          }
        } else sinceBest++;
        if (es && sinceBest >= es.patience && epoch < epochs) stopReason = 'early-stopping';
      }
      opts.onProgress?.({
        task: 'train',
        done: batchesRun,
        total: totalBatches,
        message:
          `epoch ${epoch}/${epochs} loss ${rec.loss.toFixed(4)}` +
          (rec.valLoss !== undefined ? ` val_loss ${rec.valLoss.toFixed(4)}` : '') +
          (rec.valAccuracy !== undefined && !Number.isNaN(rec.valAccuracy) ? ` val_acc ${(100 * rec.valAccuracy).toFixed(2)}%` : ''),
        metrics: {
          epoch,
          epochEnd: 1,
          loss: rec.loss,
          accuracy: rec.accuracy,
          ...(rec.valLoss !== undefined ? { val_loss: rec.valLoss } : {}),
          ...(rec.valAccuracy !== undefined ? { val_accuracy: rec.valAccuracy } : {}),
          learningRate: rec.learningRate,
          samplesPerSecond: rec.samplesPerSecond,
        },
      });
    }
    if (restoreBest && best) model.setWeights(best);
  } finally {
    if (best) tf.dispose(best);
    if (ownOptimizer) optimizer.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const result: TrainResult = {
    history,
    bestEpoch: restoreBest ? bestEpoch : history.length,
    monitor,
    bestValue,
    stopReason,
    epochsRun: history.length,
    batchesRun,
    seconds,
    samplesPerSecond: samplesSeen / Math.max(seconds, 1e-9),
    backend: tf.getBackend(),
    toMimeBundle: () => ({ data: { 'text/plain': trainText(result) } }),
  };
  return result;
}

export function trainText(r: TrainResult): string {
  const lines = ['epoch      loss   acc %   val_loss  val_acc %        lr   samples/s'];
  for (const h of r.history) {
    lines.push(
      `${String(h.epoch).padStart(5)}  ${h.loss.toFixed(4).padStart(8)}  ${Number.isNaN(h.accuracy) ? '     -' : (100 * h.accuracy).toFixed(2).padStart(6)}` +
        `  ${h.valLoss === undefined ? '       -' : h.valLoss.toFixed(4).padStart(9)}  ${h.valAccuracy === undefined || Number.isNaN(h.valAccuracy) ? '        -' : (100 * h.valAccuracy).toFixed(2).padStart(9)}` +
        `  ${h.learningRate.toExponential(2).padStart(8)}  ${h.samplesPerSecond.toFixed(0).padStart(10)}`,
    );
  }
  lines.push(
    `${r.stopReason} after ${r.epochsRun} epochs (${r.seconds.toFixed(1)} s, ${r.samplesPerSecond.toFixed(0)} samples/s on ${r.backend}); ` +
      `best epoch ${r.bestEpoch} by ${r.monitor} = ${r.bestValue.toFixed(4)}`,
  );
  return lines.join('\n');
}
