/**
 * int8 quantization of real trained models: BN folding is exact, the integer engine matches an independent float
 * computation of the same int8 arithmetic, fake-quant agrees with the integer engine, the accuracy goal holds on the
 * MNIST CNN, calibration methods behave, bad input gets messages that name the fix, and no tensors leak.
 */
import * as tf from '@tensorflow/tfjs';
import { AbortedError, InputError } from '../../src/common/errors';
import { predict } from '../../src/train';
import {
  CALIBRATION_METHODS,
  accuracyOf,
  deployModel,
  evaluateQuantized,
  layerErrors,
  quantizeModel,
  runGraphBatches,
  runInt8,
  top1Agreement,
  weightSizes,
} from '../../src/quantize';
import type { QuantizedModel } from '../../src/quantize';
import { maxAbsDiff, mnist14, trainedCnn, trainedResDw } from './fixtures';
import type { DataSplits } from '../../src/data/types';

let cnn: tf.LayersModel;
let resdw: tf.LayersModel;
let data: DataSplits;
const quantized: Record<string, QuantizedModel> = {};

beforeAll(async () => {
  ({ model: cnn, data } = await trainedCnn(2));
  ({ model: resdw } = await trainedResDw());
}, 180000);

function testSlice(n: number) {
  const f = 196;
  return { ...data.test, x: data.test.x.subarray(0, n * f), y: data.test.y.subarray(0, n) };
}

test('deployment form (BN folded, activations fused) computes what tfjs computes', () => {
  for (const m of [cnn, resdw]) {
    const dm = deployModel(m);
    expect(dm.graph.nodes.some((n) => n.op === 'batchNorm')).toBe(false);
    const ours = runGraphBatches(dm, data.test.x, data.test.sampleShape);
    const ref = predict(m, data.test);
    expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-4);
  }
  const ops = deployModel(resdw).graph.nodes.map((n) => `${n.op}:${n.activation}`);
  expect(ops).toEqual(['conv2d:relu6', 'depthwiseConv2d:relu', 'conv2d:none', 'add:relu', 'avgPool:none', 'conv2d:relu', 'globalAvgPool:none', 'dense:none']);
});

test('per-channel symmetric weights, int32 bias and Q31 multipliers are consistent with the float model', () => {
  const qm = quantizeModel(cnn, data, { method: 'minmax', calibrationSize: 200 });
  quantized.cnnMinmax = qm;
  const conv = qm.graph.nodes.find((n) => n.op === 'conv2d')!;
  const qn = qm.nodes[conv.name];
  const fw = qm.float.weights[conv.name];
  const cout = conv.outputShape[3];
  // Each channel's largest |w| maps to ±127 and dequantizes within half a step.
  for (let c = 0; c < cout; c++) {
    let mx = 0;
    for (let i = c; i < qn.weights!.length; i += cout) mx = Math.max(mx, Math.abs(qn.weights![i]));
    expect(mx).toBe(127);
  }
  for (let i = 0; i < fw.weights!.length; i++) expect(Math.abs(qn.weights![i] * qn.weightScales![i % cout] - fw.weights![i])).toBeLessThanOrEqual(qn.weightScales![i % cout] / 2 + 1e-7);
  const sIn = qm.tensors[conv.inputs[0]].scale;
  const sOut = qm.tensors[conv.outputs[0]].scale;
  for (let c = 0; c < cout; c++) {
    expect(Math.abs(qn.bias![c] * sIn * qn.weightScales![c] - fw.bias![c])).toBeLessThanOrEqual((sIn * qn.weightScales![c]) / 2 + 1e-7);
    const real = qn.multipliers![c] * 2 ** (qn.shifts![c] - 31);
    expect(Math.abs(real - (sIn * qn.weightScales![c]) / sOut) / real).toBeLessThan(1e-6);
  }
  // ReLU fused after calibration on non-negative outputs: zero point −128, the clamp starts there.
  expect(qm.tensors[conv.outputs[0]].zeroPoint).toBe(-128);
  expect(qn.actMin).toBe(-128);
  // Input pixels in [0, 1]: scale 1/255 (to the 12 significant bits activation scales keep: calibrate.ts SCALE_BITS).
  expect(Math.abs(qm.tensors[qm.graph.inputs[0]].scale * 255 - 1)).toBeLessThanOrEqual(2 ** -12);
});

test('integer engine equals an independent float evaluation of the same int8 arithmetic, layer by layer', () => {
  const qm = quantized.cnnMinmax;
  const g = qm.graph;
  const n = 20;
  const d = testSlice(n);
  const seen = new Map<string, Float32Array[]>();
  runInt8(qm, d.x, d.sampleShape, { collect: (t, v) => seen.set(t, [...(seen.get(t) ?? []), v]) });
  // Reference: for the first conv, dequantized int8 input × dequantized int8 weights in float64 via tfjs conv in
  // float32, plus bias, requantized with round-to-nearest: within one step of the engine's fixed-point result.
  const conv = g.nodes[0];
  const qn = qm.nodes[conv.name];
  const inQ = qm.tensors[conv.inputs[0]];
  const outQ = qm.tensors[conv.outputs[0]];
  const x = tf.tensor(Float32Array.from(seen.get(conv.inputs[0])!.flatMap((v) => Array.from(v))), [n, 14, 14, 1]);
  const cout = conv.outputShape[3];
  const w = tf.tensor4d(Float32Array.from(qn.weights!, (q, i) => q * qn.weightScales![i % cout]), conv.weightShapes[0] as [number, number, number, number]);
  const b = Float32Array.from(qn.bias!, (q, c) => q * inQ.scale * qn.weightScales![c]);
  const ref = tf.tidy(() => tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, w, 1, conv.attrs.padding as 'valid'), b)).dataSync() as Float32Array);
  x.dispose();
  w.dispose();
  const got = seen.get(conv.outputs[0])!.flatMap((v) => Array.from(v));
  let maxSteps = 0;
  for (let i = 0; i < ref.length; i++) {
    const q = Math.min(outQ.max, ref[i]);
    maxSteps = Math.max(maxSteps, Math.abs(got[i] - Math.round(q / outQ.scale) * outQ.scale) / outQ.scale);
  }
  expect(maxSteps).toBeLessThanOrEqual(1.0001);
  expect(inQ.zeroPoint).toBe(-128);
});

test('fake-quant simulation and the integer engine agree (top-1 and within a step or two)', () => {
  for (const [name, m] of [['cnn', cnn], ['resdw', resdw]] as const) {
    const qm = quantizeModel(m, data, { method: 'mse', calibrationSize: 200 });
    quantized[`${name}Mse`] = qm;
    const d = testSlice(500);
    const fq = runGraphBatches(qm.float, d.x, d.sampleShape, { fakeQuant: qm });
    const int = runInt8(qm, d.x, d.sampleShape).output;
    expect(top1Agreement(fq, int, 10)).toBeGreaterThanOrEqual(0.99);
    const step = qm.tensors[qm.graph.outputs[0]].scale;
    let within = 0;
    for (let i = 0; i < fq.length; i++) if (Math.abs(fq[i] - int[i]) <= step * 1.0001) within++;
    expect(within / fq.length).toBeGreaterThanOrEqual(0.98);
    expect(maxAbsDiff(fq, int)).toBeLessThanOrEqual(4 * step);
  }
});

test('MNIST CNN: int8 accuracy within 0.5 points of float (minmax and mse); every method within 5', () => {
  const results: Record<string, number> = {};
  for (const method of CALIBRATION_METHODS) {
    const qm = method === 'mse' ? quantized.cnnMse : method === 'minmax' ? quantized.cnnMinmax : quantizeModel(cnn, data, { method, calibrationSize: 200 });
    const e = evaluateQuantized(qm, data.test);
    results[method] = e.int8Accuracy;
    expect(e.samples).toBe(data.test.y.length);
    expect(e.floatAccuracy).toBeGreaterThan(0.8);
    expect(e.floatAccuracy - e.int8Accuracy).toBeLessThanOrEqual(method === 'minmax' || method === 'mse' ? 0.005 : 0.05);
    // The float accuracy is the tfjs model's own.
    expect(e.floatAccuracy).toBeCloseTo(accuracyOf(predict(cnn, data.test), data.test.y, 10), 10);
  }
});

test("output: 'float' runs the final softmax in float on dequantized logits", () => {
  const qf = quantizeModel(cnn, data, { method: 'mse', calibrationSize: 200, output: 'float' });
  expect(qf.nodes['logits/softmax'].keptFloat).toBe(true);
  const d = testSlice(300);
  const r = runInt8(qf, d.x, d.sampleShape);
  expect(r.int8).toBeUndefined();
  for (let i = 0; i < 300; i++) expect(r.output.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(top1Agreement(r.output, runInt8(quantized.cnnMse, d.x, d.sampleShape).output, 10)).toBeGreaterThanOrEqual(0.99);
  // The float softmax of the int8 logits equals the fake-quant simulation's (same logits grid, same float op).
  const fq = runGraphBatches(qf.float, d.x, d.sampleShape, { fakeQuant: qf });
  expect(top1Agreement(r.output, fq, 10)).toBeGreaterThanOrEqual(0.99);
});

test('calibration methods choose different ranges: percentile and mse clip inside minmax', () => {
  const mm = quantized.cnnMinmax;
  const pct = quantizeModel(cnn, data, { method: 'percentile', percentile: 99.9, calibrationSize: 200 });
  const mse = quantized.cnnMse;
  let narrower = 0;
  for (const node of mm.graph.nodes) {
    const t = node.outputs[0];
    // (zero-point rounding can move a range end by up to one step)
    expect(pct.tensors[t].max).toBeLessThanOrEqual(mm.tensors[t].max + mm.tensors[t].scale);
    expect(mse.tensors[t].max).toBeLessThanOrEqual(mm.tensors[t].max + mm.tensors[t].scale);
    if (pct.tensors[t].max < mm.tensors[t].max - 1e-6) narrower++;
    // minmax covers exactly what was observed.
    if (node.op !== 'softmax') expect(mm.tensors[t].max).toBeGreaterThanOrEqual(mm.tensors[t].observedMax! - mm.tensors[t].scale);
  }
  expect(narrower).toBeGreaterThan(0);
});

test('per-layer report: ranges and SQNR per layer, weights 4x smaller', () => {
  const qm = quantized.cnnMse;
  const rows = layerErrors(qm, data.test, { samples: 50 });
  expect(rows.map((r) => r.name)).toEqual(qm.graph.nodes.map((n) => n.name));
  for (const r of rows) {
    expect(r.sqnrDb).toBeGreaterThan(15);
    expect(r.rangeSqnrDb).toBeGreaterThanOrEqual(r.sqnrDb - 3);
  }
  const s = weightSizes(qm);
  const params = qm.float.graph.nodes.reduce((a, n) => a + n.params, 0);
  expect(s.floatBytes).toBe(4 * params);
  expect(s.int8Bytes).toBeLessThan(s.floatBytes / 3);
});

test('bad input: wrong calibration shape prints both shapes; an op without an int8 kernel is named, keepFloat works', async () => {
  const wrong = { ...data.train, sampleShape: [196], name: 'flat' };
  expect(() => quantizeModel(cnn, wrong, { calibrationSize: 10 })).toThrow(InputError);
  expect(() => quantizeModel(cnn, wrong, { calibrationSize: 10 })).toThrow(/\[196\].*\[14, 14, 1\]/);
  // A Multiply layer (elementwise mul of two activations) has no int8 kernel here.
  const input = tf.input({ shape: [14, 14, 1] });
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'a' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'b' }).apply(input) as tf.SymbolicTensor;
  const m = tf.layers.multiply({ name: 'gate' }).apply([a, b]) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, name: 'out' }).apply(tf.layers.flatten().apply(m)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'gated' });
  expect(() => quantizeModel(model, data, { calibrationSize: 10 })).toThrow(/Multiply layer 'gate'.*keep it float with keepFloat: \['gate'\]/);
  const qm = quantizeModel(model, data, { calibrationSize: 50, keepFloat: ['gate'] });
  expect(qm.nodes.gate.keptFloat).toBe(true);
  const d = testSlice(50);
  // The kept-float Multiply runs in float between dequantize and quantize, in the engine as in the simulation.
  const int = runInt8(qm, d.x, d.sampleShape).output;
  const fq = runGraphBatches(qm.float, d.x, d.sampleShape, { fakeQuant: qm });
  expect(maxAbsDiff(int, fq)).toBeLessThanOrEqual(3 * qm.tensors[qm.graph.outputs[0]].scale);
  model.dispose();
  expect(() => quantizeModel(cnn, data, { method: 'bogus' as never })).toThrow(/minmax, percentile, mse, kl/);
});

test('abort: calibration stops with AbortedError; the engine returns the samples it finished', () => {
  const ac = new AbortController();
  ac.abort();
  expect(() => quantizeModel(cnn, data, { calibrationSize: 100, signal: ac.signal })).toThrow(AbortedError);
  const ac2 = new AbortController();
  let calls = 0;
  const d = testSlice(300);
  const r = runInt8(quantized.cnnMinmax, d.x, d.sampleShape, {
    signal: ac2.signal,
    onProgress: () => {
      if (++calls === 1) ac2.abort();
    },
  });
  expect(r.samples).toBe(100);
  expect(r.output.length).toBe(1000);
});

test('no tensors leak across the API', async () => {
  await mnist14();
  const before = tf.memory().numTensors;
  const qm = quantizeModel(cnn, data, { method: 'kl', calibrationSize: 64 });
  evaluateQuantized(qm, testSlice(64), { fakeQuant: true });
  layerErrors(qm, data.test, { samples: 16 });
  deployModel(resdw);
  expect(tf.memory().numTensors).toBe(before);
});
