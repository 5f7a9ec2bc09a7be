/**
 * Every model family of src/models prices: its layer graph has tfjs's own parameter count and an MCU report.
 * (Integration with the training engineer's builders: a new layer type there shows up here first.)
 */
import * as tf from '@tensorflow/tfjs';
import { buildAutoencoder, buildCnn, buildDsCnn, buildMlp, buildMobileNetV1, buildResNet8 } from '../../src/models';
import { graphFromLayersModel } from '../../src/graph/tfjs';
import { graphTotals } from '../../src/graph/types';
import { estimate } from '../../src/mcu/estimate';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const families: Array<[string, () => tf.LayersModel]> = [
  ['cnn 2-D', () => buildCnn({ inputShape: [28, 28, 1], numClasses: 10, batchNorm: true, seed: 1 })],
  ['cnn 1-D', () => buildCnn({ inputShape: [128, 3], numClasses: 4, batchNorm: true, activation: 'swish', seed: 1 })],
  ['ds-cnn', () => buildDsCnn({ seed: 1 })],
  ['mobilenet v1', () => buildMobileNetV1({ seed: 1 })],
  ['resnet-8', () => buildResNet8({ seed: 1 })],
  ['mlp', () => buildMlp({ inputShape: [64], numClasses: 5, batchNorm: true, seed: 1 })],
  ['autoencoder', () => buildAutoencoder({ seed: 1 })],
];

test.each(families)('%s: params = countParams, report fits a 2 MB/640 KB board', (_name, build) => {
  const before = tf.memory().numTensors;
  const m = build();
  const g = graphFromLayersModel(m);
  expect(graphTotals(g).params).toBe(m.countParams());
  const r = estimate(g, 'NUCLEO-L4R5ZI', { dtype: 'int8' });
  expect(r.totals.latencyMs).toBeGreaterThan(0);
  expect(r.fits.flash).toBe(true);
  m.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('the MLPerf-sized builders match the reference architectures in MACs', () => {
  const ds = buildDsCnn({ seed: 1 });
  const rn = buildResNet8({ seed: 1 });
  // conv/dw/dense MACs of the MLPerf Tiny reference .tflite files (../shared/mcu helper_computed).
  expect(graphTotals(graphFromLayersModel(ds)).macs).toBe(2656768);
  expect(graphTotals(graphFromLayersModel(rn)).macs).toBe(12501632);
  ds.dispose();
  rn.dispose();
});
