/**
 * distill(): train a student on a teacher's softened outputs through src/train's loop (its `loss` hook), and
 * compareDistillation(): the same student trained alone and distilled (same initial weights, epochs, seed), priced
 * on a microcontroller.
 *
 * Teacher logits: the teacher runs in inference mode (BatchNorm moving statistics, no dropout) and is never in the
 * trained variable list, so its weights do not change. train() does not augment data, so by default ('cache') the
 * teacher's logits over the whole training split are computed once with predictLogits and looked up per batch by the
 * batch's sample indices: one teacher pass instead of one per epoch. 'online' runs the teacher on every batch instead
 * (needed only when the batch inputs differ from data.train, e.g. a customised loop that augments).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import type { LongRunOptions, ProgressEvent } from '../common/progress';
import type { Dataset, DataSplits } from '../data/types';
import { datasetSize } from '../data/types';
import { modelSummary } from '../models/summary';
import { evaluate, predictLogits } from '../train/evaluate';
import { forward, hasLogits } from '../train/forward';
import { train } from '../train/loop';
import type { OptimizerName, TrainOptions, TrainResult } from '../train/loop';
import type { ScheduleSpec } from '../train/schedule';
import { checkDistillOptions, distillationLoss } from './loss';
import type { DerivedStudent, StudentOptions } from './student';
import { deriveStudent, learnables } from './student';
import { distillReport } from './report';
import { priceInt8 } from './price';

export type DistillData = DataSplits | { train: Dataset; val?: Dataset; test?: Dataset };

export interface DistillOptions extends LongRunOptions {
  teacher: tf.LayersModel;
  /** A user model (same input shape and classes, softmax head), or options to derive one from the teacher (default {}). */
  student?: tf.LayersModel | StudentOptions;
  data: DistillData;
  /** Softmax temperature T (default 4). */
  temperature?: number;
  /** Weight of the hard-label loss (default 0.3). */
  alpha?: number;
  epochs?: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  learningRate?: number;
  schedule?: ScheduleSpec;
  /** Seed of the batch shuffles (and of a derived student's initial weights). Default 0. */
  seed?: number;
  /** 'cache' (default): teacher logits computed once over data.train; 'online': teacher forward pass every batch. */
  teacherLogits?: 'cache' | 'online';
  /** Anything else train() accepts (early stopping, monitor…); loss/customStep are not allowed here. */
  trainOptions?: Omit<TrainOptions, 'loss' | 'customStep' | 'signal' | 'onProgress'>;
}

export interface DistillResult {
  student: tf.LayersModel;
  /** Present when the student was derived from the teacher. */
  derived?: Omit<DerivedStudent, 'model'>;
  train: TrainResult;
  temperature: number;
  alpha: number;
  teacherLogits: 'cache' | 'online';
  /** Seconds spent computing the teacher's cached logits (0 for 'online'). */
  teacherSeconds: number;
  /** Student accuracy on data.test (or data.val when there is no test split; NaN without either). */
  accuracy: number;
  toMimeBundle(): { data: Record<string, unknown> };
}

function evalSet(data: DistillData): Dataset | undefined {
  const d = ('test' in data && data.test && datasetSize(data.test) > 0 ? data.test : undefined) ?? data.val;
  return d && datasetSize(d) > 0 ? d : undefined;
}

function resolveStudent(o: DistillOptions): { model: tf.LayersModel; derived?: DerivedStudent } {
  const s = o.student ?? {};
  if (s instanceof tf.LayersModel) {
    if (s === o.teacher) throw new InputError('the student is the teacher itself: pass a separate (smaller) student model');
    return { model: s };
  }
  const derived = deriveStudent(o.teacher, { seed: o.seed, ...(s as StudentOptions) });
  // Say at once what was derived (the learnables reduction), before the long training starts.
  o.onProgress?.({ task: 'student', done: 0, message: derived.description, metrics: { reduction: derived.reduction, learnables: derived.studentLearnables } });
  return { model: derived.model, derived };
}

function checkPair(teacher: tf.LayersModel, student: tf.LayersModel): void {
  if (!hasLogits(teacher)) throw new InputError(`teacher '${teacher.name}' has no softmax head: end it in Dense(numClasses, softmax) so its logits can be read`);
  if (!hasLogits(student)) throw new InputError(`student '${student.name}' has no softmax head: end it in Dense(numClasses, softmax)`);
  const t = teacher.outputs[0].shape[1];
  const s = student.outputs[0].shape[1];
  if (t !== s) throw new InputError(`teacher '${teacher.name}' has ${t} classes but student '${student.name}' has ${s}: build the student with numClasses: ${t}`);
}

/** Tag a train() progress event as a phase of distillation (so a live display can tell the runs apart). */
function tagged(onProgress: LongRunOptions['onProgress'], task: string): LongRunOptions['onProgress'] {
  return onProgress ? (e: ProgressEvent) => onProgress({ ...e, task, message: e.message ? `${task}: ${e.message}` : task }) : undefined;
}

function trainOpts(o: DistillOptions): TrainOptions {
  return {
    epochs: o.epochs ?? 10,
    batchSize: o.batchSize ?? 32,
    optimizer: o.optimizer ?? 'adam',
    learningRate: o.learningRate ?? 2e-3,
    schedule: o.schedule,
    seed: o.seed ?? 0,
    ...(o.trainOptions ?? {}),
  };
}

/**
 * Train `student` (given, or derived from the teacher) with the distillation loss. The student is trained in place
 * and returned; the teacher is only read. On abort (signal) training stops at the next batch and the result holds
 * what was trained (train.stopReason 'aborted').
 */
export async function distill(o: DistillOptions): Promise<DistillResult> {
  const temperature = o.temperature ?? 4;
  const alpha = o.alpha ?? 0.3;
  checkDistillOptions({ temperature, alpha });
  const { model: student, derived } = resolveStudent(o);
  try {
    return await distillInto(o, student, derived, temperature, alpha);
  } catch (e) {
    if (derived) student.dispose(); // ours: do not leak a derived student when training fails
    throw e;
  }
}

async function distillInto(
  o: DistillOptions,
  student: tf.LayersModel,
  derived: DerivedStudent | undefined,
  temperature: number,
  alpha: number,
): Promise<DistillResult> {
  checkPair(o.teacher, student);
  const mode = o.teacherLogits ?? 'cache';
  const classes = o.teacher.outputs[0].shape[1] as number;
  let cached: Float32Array | undefined;
  const t0 = performance.now();
  if (mode === 'cache') {
    cached = predictLogits(o.teacher, o.data.train);
  }
  const teacherSeconds = mode === 'cache' ? (performance.now() - t0) / 1000 : 0;
  const loss: TrainOptions['loss'] = (ctx) => {
    if (!ctx.logits) throw new InputError('the student has no softmax head to read logits from');
    let t: tf.Tensor;
    if (cached) {
      const rows = new Float32Array(ctx.indices.length * classes);
      for (let i = 0; i < ctx.indices.length; i++) {
        const j = ctx.indices[i];
        rows.set(cached.subarray(j * classes, (j + 1) * classes), i * classes);
      }
      t = tf.tensor2d(rows, [ctx.indices.length, classes]);
    } else {
      // Inference mode; the teacher's variables are not in the optimizer's list, so nothing of it is updated.
      t = forward(o.teacher, ctx.x, false).logits as tf.Tensor;
    }
    return distillationLoss(ctx.yTrue, ctx.logits, t, { temperature, alpha });
  };
  const r = await train(student, o.data, { ...trainOpts(o), loss, signal: o.signal, onProgress: tagged(o.onProgress, 'distill') });
  const ev = evalSet(o.data);
  const accuracy = ev ? evaluate(student, ev).accuracy : NaN;
  const { model: _m, ...derivedInfo } = derived ?? { model: undefined };
  const result: DistillResult = {
    student,
    derived: derived ? (derivedInfo as Omit<DerivedStudent, 'model'>) : undefined,
    train: r,
    temperature,
    alpha,
    teacherLogits: mode,
    teacherSeconds,
    accuracy,
    toMimeBundle: () => ({
      data: {
        'text/plain':
          (derived ? `${derived.description}\n` : '') +
          `distilled (T=${temperature}, alpha=${alpha}, teacher logits ${mode}): accuracy ${(100 * accuracy).toFixed(2)} %\n` +
          r.toMimeBundle().data['text/plain'],
      },
    }),
  };
  return result;
}

/** A copy of a model with the same architecture and the same current weights (fresh variables). */
export async function cloneModel(model: tf.LayersModel, name?: string): Promise<tf.LayersModel> {
  const topology = JSON.parse(model.toJSON(null, true) as string) as tf.io.ModelJSON['modelTopology'];
  const copy = await tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON);
  copy.setWeights(model.getWeights());
  if (name) (copy as unknown as { name: string }).name = name;
  return copy;
}

export interface ModelFigures {
  role: 'teacher' | 'student alone' | 'student distilled';
  name: string;
  accuracy: number;
  params: number;
  learnables: number;
  macs: number;
  /** int8 weights in flash (bytes) from src/mcu's estimate on the board. */
  int8WeightsFlashBytes: number;
  /** Whole int8 image (weights, quantisation parameters, runtime code) on the board. */
  int8FlashBytes: number;
  fitsBoard: boolean;
}

/** Accuracy on `d` plus params, MACs and int8 flash of `model` on `board`. */
export function modelFigures(model: tf.LayersModel, role: ModelFigures['role'], d: Dataset | undefined, board: string): ModelFigures {
  const s = modelSummary(model);
  const rep = priceInt8(model, board);
  return {
    role,
    name: model.name,
    accuracy: d ? evaluate(model, d).accuracy : NaN,
    params: s.totalParams,
    learnables: learnables(model),
    macs: rep.totals.macs,
    int8WeightsFlashBytes: rep.totals.weightsFlashBytes,
    int8FlashBytes: rep.totals.flashBytes,
    fitsBoard: rep.fits.flash && rep.fits.ram,
  };
}

export interface CompareOptions extends DistillOptions {
  /** Board for the int8 flash figures (default 'NUCLEO-L476RG'). */
  board?: string;
}

export interface DistillComparison {
  teacher: ModelFigures;
  alone: ModelFigures;
  distilled: ModelFigures;
  /** distilled.accuracy − alone.accuracy. */
  gain: number;
  board: string;
  temperature: number;
  alpha: number;
  derived?: Omit<DerivedStudent, 'model'>;
  aloneTrain: TrainResult;
  distillTrain: TrainResult;
  /** The two trained students (the caller owns and disposes them). */
  aloneModel: tf.LayersModel;
  distilledModel: tf.LayersModel;
  /** True when the run was interrupted (figures are of what was trained so far). */
  aborted: boolean;
  toMimeBundle(): { data: Record<string, unknown> };
}

/**
 * Train the student alone (plain cross-entropy) and distilled, from the same initial weights, for the same epochs and
 * seed, then evaluate teacher and both students on data.test (or data.val) and price them (int8) on `board`.
 * The student given (or derived) becomes the distilled one; the alone run trains a copy. Abort stops the current run
 * at its next batch and skips what has not started (its student then keeps its initial weights).
 */
export async function compareDistillation(o: CompareOptions): Promise<DistillComparison> {
  const temperature = o.temperature ?? 4;
  const alpha = o.alpha ?? 0.3;
  checkDistillOptions({ temperature, alpha });
  const board = o.board ?? 'NUCLEO-L476RG';
  const { model: student, derived } = resolveStudent(o);
  const made: tf.LayersModel[] = derived ? [student] : [];
  try {
    checkPair(o.teacher, student);
    // Price everything before training so a board or graph problem shows up at once.
    priceInt8(o.teacher, board);
    const alone = await cloneModel(student, `${student.name}_alone`);
    made.push(alone);
    const aloneTrain = await train(alone, o.data, { ...trainOpts(o), signal: o.signal, onProgress: tagged(o.onProgress, 'student alone') });
    let distillTrain: TrainResult;
    if (o.signal?.aborted) {
      distillTrain = await train(student, o.data, { ...trainOpts(o), epochs: 1, signal: o.signal });
    } else {
      distillTrain = (await distillInto({ ...o, student }, student, derived, temperature, alpha)).train;
    }
    const ev = evalSet(o.data);
    const teacher = modelFigures(o.teacher, 'teacher', ev, board);
    const a = modelFigures(alone, 'student alone', ev, board);
    const d = modelFigures(student, 'student distilled', ev, board);
    const { model: _m, ...derivedInfo } = derived ?? { model: undefined };
    const cmp: DistillComparison = {
      teacher,
      alone: a,
      distilled: d,
      gain: d.accuracy - a.accuracy,
      board,
      temperature,
      alpha,
      derived: derived ? (derivedInfo as Omit<DerivedStudent, 'model'>) : undefined,
      aloneTrain,
      distillTrain,
      aloneModel: alone,
      distilledModel: student,
      aborted: aloneTrain.stopReason === 'aborted' || distillTrain.stopReason === 'aborted',
      toMimeBundle: () => distillReport(cmp),
    };
    return cmp;
  } catch (e) {
    made.forEach((m) => m.dispose());
    throw e;
  }
}
