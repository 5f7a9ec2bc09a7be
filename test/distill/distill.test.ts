/**
 * distill() / compareDistillation() / deriveStudent() on real small models and the embedded MNIST digits (14×14,
 * a few hundred samples, 1–2 epochs: these check behaviour, the benchmark checks the accuracy gain).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { InputError } from '../../src/common/errors';
import { loadMnist } from '../../src/data';
import type { DataSplits } from '../../src/data/types';
import { compareDistillation, deriveStudent, distill, learnables } from '../../src/distill';
import { buildCnn, buildDsCnn, buildMlp, buildResNet8, modelSummary } from '../../src/models';
import { train } from '../../src/train';

let data: DataSplits;
let teacher: tf.LayersModel;

beforeAll(async () => {
  await initBackend();
  data = loadMnist({ size: 14, seed: 3, limit: 600 });
  // BatchNorm and dropout make "the teacher runs in inference mode" observable (moving statistics, randomness).
  teacher = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [16, 32], depth: 2, dense: 32, batchNorm: true, dropout: 0.3, seed: 5, name: 'teacher' });
  await train(teacher, data, { epochs: 2, batchSize: 32, learningRate: 3e-3, seed: 1 });
}, 120000);

afterAll(() => teacher?.dispose());

function weightsOf(m: tf.LayersModel): Float32Array[] {
  return m.getWeights().map((w) => Float32Array.from(w.dataSync() as Float32Array));
}

test('derived student: same family, at least 5× fewer learnables, exact counts', () => {
  const before = tf.memory().numTensors;
  const d = deriveStudent(teacher, { reduction: 5, seed: 1 });
  expect(d.reduction).toBeGreaterThanOrEqual(5);
  expect(d.teacherLearnables).toBe(modelSummary(teacher).trainableParams);
  expect(d.studentLearnables).toBe(modelSummary(d.model).trainableParams);
  expect(d.studentLearnables).toBe(learnables(d.model));
  expect(d.model.outputs[0].shape).toEqual([null, 10]);
  expect(d.model.inputs[0].shape).toEqual([null, 14, 14, 1]);
  expect(d.description).toMatch(/learnables/);
  // Still a conv net ending in Dense(softmax).
  expect(d.model.layers.some((l) => l.getClassName() === 'Conv2D')).toBe(true);
  expect(d.model.layers[d.model.layers.length - 1].getConfig().activation).toBe('softmax');
  d.model.dispose();
  // Explicit shape: one block, half width, GAP head: conv 3·3·1·8 = 72 (no bias before BN), BN γ,β 16,
  // hidden dense 8·16+16 = 144, head 16·10+10 = 170.
  const e = deriveStudent(teacher, { blocks: 1, width: 0.5, reduce: 'gap' });
  expect(e.studentLearnables).toBe(72 + 16 + 144 + 170);
  expect(e.model.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(true);
  expect(e.model.layers.some((l) => l.getClassName() === 'Dropout')).toBe(true);
  expect(e.model.layers.some((l) => l.getClassName() === 'GlobalAveragePooling2D')).toBe(true);
  e.model.dispose();
  // 'pool' keeps the dropped block's pooling: map 12→6→3 (two pools), 3·3·8 = 72 features → dense 32·0.5 = 16.
  const p = deriveStudent(teacher, { blocks: 1, width: 0.5, reduce: 'pool' });
  expect(p.studentLearnables).toBe(72 + 16 + (72 * 16 + 16) + (16 * 10 + 10));
  p.model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('derivation works across families: 1-D CNN, DS-CNN (depthwise blocks), MLP', () => {
  const before = tf.memory().numTensors;
  const teachers = [
    buildCnn({ inputShape: [64, 3], numClasses: 4, filters: 16, depth: 3, dense: 32, seed: 1, name: 'cnn1d' }),
    buildDsCnn({ inputShape: [49, 10, 1], numClasses: 12, filters: 32, blocks: 4, seed: 1 }),
    buildMlp({ inputShape: [20], numClasses: 3, hidden: [128, 64], seed: 1 }),
  ];
  for (const t of teachers) {
    const d = deriveStudent(t, { reduction: 3 });
    expect(d.reduction).toBeGreaterThanOrEqual(3);
    expect(d.studentLearnables).toBe(modelSummary(d.model).trainableParams);
    expect(d.model.inputs[0].shape).toEqual(t.inputs[0].shape);
    expect(d.model.outputs[0].shape).toEqual(t.outputs[0].shape);
    const sums = tf.tidy(() => tf.sum(d.model.predict(tf.zeros([2, ...(t.inputs[0].shape.slice(1) as number[])])) as tf.Tensor, -1).dataSync());
    expect(Math.abs(sums[0] - 1)).toBeLessThan(1e-5); // still a softmax classifier
    d.model.dispose();
    t.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
});

test('non-chain teachers and impossible reductions are InputErrors naming the fix', () => {
  const before = tf.memory().numTensors;
  const r = buildResNet8({ inputShape: [8, 8, 1], numClasses: 10, filters: [4, 4, 4], seed: 1 });
  expect(() => deriveStudent(r)).toThrow(InputError);
  expect(() => deriveStudent(r)).toThrow(/pass a student model explicitly/);
  r.dispose();
  expect(() => deriveStudent(teacher, { reduction: 1e6 })).toThrow(/lower 'reduction'/);
  expect(tf.memory().numTensors).toBe(before);
});

/** A small student without dropout, so two runs from the same seed are comparable batch for batch. */
function plainStudent(seed: number): tf.LayersModel {
  return buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [8], depth: 1, dense: 16, seed, name: `plain${seed}` });
}

test('distill: teacher weights unchanged, cached = online teacher logits (inference mode), no tensor leaks', async () => {
  const before = tf.memory().numTensors;
  const w0 = weightsOf(teacher); // includes the BatchNorm moving statistics
  const opts = { teacher, data, temperature: 4, alpha: 0.3, epochs: 1, batchSize: 32, seed: 2 };
  const events: string[] = [];
  const cached = await distill({ ...opts, student: plainStudent(2), onProgress: (e) => events.push(e.task) });
  const online = await distill({ ...opts, student: plainStudent(2), teacherLogits: 'online' });
  // Same seed, same initial student, same batches: the two ways of getting teacher logits must train the same
  // (up to float summation order). This checks that cached rows are looked up by the right sample index, and that
  // the online teacher runs in inference mode (training mode would use batch statistics and random dropout).
  const l1 = cached.train.history[0].loss;
  const l2 = online.train.history[0].loss;
  expect(Math.abs(l1 - l2)).toBeLessThan(1e-4 * Math.abs(l1));
  expect(cached.teacherSeconds).toBeGreaterThan(0);
  expect(events.length).toBeGreaterThan(0);
  expect(events.every((t) => t === 'distill')).toBe(true);
  expect(cached.accuracy).toBeGreaterThan(0.1); // better than chance after one epoch on 480 digits
  const w1 = weightsOf(teacher);
  expect(w1.length).toBe(w0.length);
  for (let i = 0; i < w0.length; i++) expect(Array.from(w1[i])).toEqual(Array.from(w0[i]));
  cached.student.dispose();
  online.student.dispose();
  // A derived student (the default): reduction reported, model returned to the caller.
  const derived = await distill({ teacher, data, epochs: 1, seed: 3, student: { reduction: 5 } });
  expect(derived.derived!.reduction).toBeGreaterThanOrEqual(5);
  expect(String(derived.toMimeBundle().data['text/plain'])).toMatch(/fewer than the teacher/);
  derived.student.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('the loss hook gets the distillation value: alpha = 1 trains exactly like plain cross-entropy', async () => {
  const before = tf.memory().numTensors;
  const a = plainStudent(9);
  const b = plainStudent(9);
  const r1 = await distill({ teacher, student: a, data, alpha: 1, temperature: 3, epochs: 1, seed: 4 });
  const r2 = await train(b, data, { epochs: 1, batchSize: 32, learningRate: 2e-3, seed: 4 });
  expect(Math.abs(r1.train.history[0].loss - r2.history[0].loss)).toBeLessThan(1e-4);
  a.dispose();
  b.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('compareDistillation: same initial student both ways, figures from the cost simulator, abort keeps results', async () => {
  const before = tf.memory().numTensors;
  const student = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [4], depth: 1, seed: 3, name: 'tiny' });
  const c = await compareDistillation({ teacher, student, data, epochs: 1, seed: 1, board: 'NUCLEO-L476RG' });
  expect(c.distilledModel).toBe(student);
  expect(c.teacher.params / c.distilled.params).toBeGreaterThanOrEqual(5);
  expect(c.alone.params).toBe(c.distilled.params);
  expect(c.gain).toBeCloseTo(c.distilled.accuracy - c.alone.accuracy, 10);
  // MACs by hand: conv 12·12·4·9 = 5,184; dense 6·6·4·10 = 1,440.
  expect(c.distilled.macs).toBe(5184 + 1440);
  // int8 weights: at least one byte per weight, less than float32.
  expect(c.distilled.int8WeightsFlashBytes).toBeGreaterThanOrEqual(4 * 9 + 144 * 10);
  expect(c.distilled.int8WeightsFlashBytes).toBeLessThan(4 * c.distilled.params);
  expect(c.teacher.accuracy).toBeGreaterThan(0.3);
  const mb = c.toMimeBundle();
  expect(String(mb.data['text/plain'])).toMatch(/student distilled/);
  const spec = mb.data['application/vnd.vegalite.v5+json'] as { data: { values: unknown[] } };
  expect(spec.data.values).toHaveLength(3);
  c.aloneModel.dispose();
  // Aborting during the first run stops it at a batch boundary and still returns figures.
  const ac = new AbortController();
  let n = 0;
  const student2 = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: [4], depth: 1, seed: 3, name: 'tiny2' });
  const c2 = await compareDistillation({
    teacher, student: student2, data, epochs: 3, seed: 1, signal: ac.signal, trainOptions: { progressIntervalMs: 0 },
    onProgress: () => { if (++n === 3) ac.abort(); },
  });
  expect(c2.aborted).toBe(true);
  expect(c2.aloneTrain.stopReason).toBe('aborted');
  expect(c2.aloneTrain.batchesRun).toBeLessThan(3 * 15);
  c2.aloneModel.dispose();
  student.dispose();
  student2.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('compareDistillation starts both runs from the same weights: with alpha = 1 they train identically', async () => {
  const before = tf.memory().numTensors;
  const c = await compareDistillation({ teacher, data, alpha: 1, epochs: 1, seed: 6, student: plainStudent(6) });
  expect(Math.abs(c.aloneTrain.history[0].loss - c.distillTrain.history[0].loss)).toBeLessThan(1e-4);
  expect(c.distilled.accuracy).toBeCloseTo(c.alone.accuracy, 6);
  const wa = c.aloneModel.getWeights().map((w) => Array.from(w.dataSync()));
  const wd = c.distilledModel.getWeights().map((w) => Array.from(w.dataSync()));
  for (let i = 0; i < wa.length; i++) for (let j = 0; j < wa[i].length; j++) expect(Math.abs(wa[i][j] - wd[i][j])).toBeLessThan(1e-4);
  c.aloneModel.dispose();
  c.distilledModel.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
