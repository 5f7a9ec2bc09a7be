/**
 * Our own ONNX exports of a 1-D conv net (exported as expand_dims to [1, 1, T, C] + NHWC→NCHW Transpose + Conv) read
 * back through graphFromOnnx and price exactly like the tfjs model they came from, float and QDQ int8.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { makeGestureData } from '../../src/data';
import { deployModel, quantizeModel } from '../../src/quantize';
import { toOnnxFloat, toOnnxQdq } from '../../src/export';
import { graphFromLayersModel, graphFromOnnx } from '../../src/graph';
import { estimate } from '../../src/mcu';
import { buildCnn } from '../../src/models';

test('Conv1D model: ONNX float and QDQ exports price like the original', async () => {
  await initBackend();
  const n0 = tf.memory().numTensors;
  const m = buildCnn({ inputShape: [128, 3], numClasses: 6, filters: 8, depth: 2, seed: 1 });
  const totals = (g: ReturnType<typeof graphFromLayersModel>) => {
    const t = estimate(g, 'NUCLEO-L476RG', { dtype: 'int8' }).totals;
    return { params: t.params, macs: t.macs, weights: t.weightsFlashBytes, ram: t.activationRamBytes, latency: t.latencyMs };
  };
  const original = totals(graphFromLayersModel(m));
  expect(original.macs).toBeGreaterThan(0);
  expect(totals(graphFromOnnx(toOnnxFloat(deployModel(m))))).toEqual(original);
  const qm = quantizeModel(m, makeGestureData({ seed: 1 }), { calibrationSize: 50 });
  expect(totals(graphFromOnnx(toOnnxQdq(qm)))).toEqual(original);
  m.dispose();
  expect(tf.memory().numTensors).toBe(n0);
});
