/**
 * Generated C vs the integer reference engine: compile model.c + kernels.c with the host gcc and a small harness
 * (int8 samples in a file → int8 outputs in a file), run it on test samples and require byte-identical outputs to
 * runInt8. Models are untrained (seeded random weights) and calibrated on a few MNIST samples: bit-exactness does not
 * depend on accuracy, and skipping training keeps the test fast.
 */
import * as tf from '@tensorflow/tfjs';
import { generateC } from '../../src/export/c';
import { verifyOnHost } from '../../src/export/c/verify';
import { buildCnn } from '../../src/models';
import { quantizeModel } from '../../src/quantize/quantize';
import { runInt8 } from '../../src/quantize/engine';
import type { QuantizedModel } from '../../src/quantize/types';
import { buildResDw, mnist14, trainedCnn } from '../quantize/fixtures';

const N_SAMPLES = 200;

/**
 * Host gcc build (-Werror, pedantic) of the generated C run on N_SAMPLES test digits through files, against runInt8:
 * verifyOnHost (what bench:codegen runs). Returns the mismatching output values.
 */
async function checkBitExact(qm: QuantizedModel): Promise<{ mismatches: number }> {
  const data = await mnist14();
  const test = data.test;
  const f = test.sampleShape.reduce((a, b) => a * b, 1);
  const x = test.x.subarray(0, N_SAMPLES * f);
  // Guard against a vacuous pass (e.g. every output saturated): the reference outputs must vary.
  expect(new Set(runInt8(qm, x, test.sampleShape).int8!).size).toBeGreaterThan(8);
  const r = verifyOnHost(qm, { x, sampleShape: test.sampleShape }, { keepDir: process.env.TINYLAB_CODEGEN_KEEP });
  expect(r.samples).toBe(N_SAMPLES);
  if (r.mismatches === 0) expect(r.bitExact).toBe(true);
  return { mismatches: r.mismatches };
}

describe('C code generation (host gcc)', () => {
  test('CNN (conv, BN folded, ReLU, max-pool, flatten, dense, int8 softmax) is bit-exact', async () => {
    const data = await mnist14();
    const model = buildCnn({ inputShape: [14, 14, 1], numClasses: 10, filters: 8, depth: 2, batchNorm: true, seed: 1 });
    const qm = quantizeModel(model, data, { method: 'minmax', calibrationSize: 64 });
    const ops = new Set(qm.graph.nodes.map((n) => n.op));
    expect(ops.has('conv2d') && ops.has('maxPool') && ops.has('dense') && ops.has('softmax')).toBe(true);
    const r = await checkBitExact(qm);
    expect(r.mismatches).toBe(0);
  });

  test('depthwise residual net (depthwise, add, avg-pool, global avg-pool, ReLU6) is bit-exact', async () => {
    const data = await mnist14();
    const qm = quantizeModel(buildResDw(), data, { method: 'minmax', calibrationSize: 64 });
    const ops = new Set(qm.graph.nodes.map((n) => n.op));
    expect(ops.has('depthwiseConv2d') && ops.has('add') && ops.has('avgPool') && ops.has('globalAvgPool')).toBe(true);
    const r = await checkBitExact(qm);
    expect(r.mismatches).toBe(0);
  });

  test('branches joined by concat (inputs on their own scales, rescaled) and an explicit zero pad are bit-exact', async () => {
    const data = await mnist14();
    const init = (seed: number) => tf.initializers.heNormal({ seed });
    const input = tf.input({ shape: [14, 14, 1] });
    // A pad that cannot merge into the next op (a 'same' conv): it stays a node of its own.
    let x = tf.layers.zeroPadding2d({ padding: [[1, 2], [2, 1]], name: 'pad' }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'stem' }).apply(x) as tf.SymbolicTensor;
    const a = tf.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: init(2), name: 'branch_a' }).apply(x) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(3), name: 'branch_b' }).apply(x) as tf.SymbolicTensor;
    let z = tf.layers.concatenate({ axis: -1, name: 'join' }).apply([a, x, b]) as tf.SymbolicTensor;
    z = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(z) as tf.SymbolicTensor;
    z = tf.layers.flatten({ name: 'flat' }).apply(z) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }), name: 'head' }).apply(z) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out, name: 'branches' });
    try {
      const qm = quantizeModel(model, data, { method: 'minmax', calibrationSize: 64 });
      const join = qm.graph.nodes.find((n) => n.op === 'concat');
      expect(join && qm.graph.nodes.some((n) => n.op === 'pad')).toBe(true);
      // At least one branch has a scale of its own, so the rescaling path runs, not only the copy.
      const scales = new Set(join!.inputs.map((t) => qm.tensors[t].scale));
      expect(scales.size).toBeGreaterThan(1);
      const r = await checkBitExact(qm);
      expect(r.mismatches).toBe(0);
      expect(generateC(qm).files['kernels.c']).toMatch(/tl_concat[\s\S]*tl_pad/);
    } finally {
      model.dispose();
    }
  });

  test("TFLite's double-rounding requantisation (high-mul, then rounding shift) is bit-exact too", async () => {
    const data = await mnist14();
    const qm = quantizeModel(buildResDw(), data, { method: 'minmax', calibrationSize: 64, rounding: 'double' });
    expect(generateC(qm).files['kernels.c']).toContain('tl_srdhm');
    const r = await checkBitExact(qm);
    expect(r.mismatches).toBe(0);
  });

  test('trained CNN (1 epoch, realistic weight and activation ranges) is bit-exact', async () => {
    const { model, data } = await trainedCnn(1);
    const qm = quantizeModel(model, data, { method: 'mse', calibrationSize: 100 });
    const r = await checkBitExact(qm);
    expect(r.mismatches).toBe(0);
  });

  test('generation is deterministic and emits only used kernels, no float in the int8 path', async () => {
    const data = await mnist14();
    const qm = quantizeModel(buildResDw(), data, { method: 'minmax', calibrationSize: 32 });
    const a = generateC(qm).files;
    const b = generateC(qm).files;
    expect(a).toEqual(b);
    expect(a['kernels.c']).toContain('tl_depthwise');
    expect(a['kernels.c']).not.toContain('tl_softmax');
    expect(a['kernels.c']).not.toMatch(/\b(float|double)\b/);
    expect(a['model.c']).not.toMatch(/\b(float|double|malloc)\b/);
    expect(a['model.c']).toContain('static const int8_t');
  });
});
