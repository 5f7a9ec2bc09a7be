/**
 * graphFromLayersModel on small models built with tf.layers directly: params agree with tfjs's own countParams(),
 * MACs with hand computation, and a functional residual model keeps its skip connection. No tensors leak.
 */
import * as tf from '@tensorflow/tfjs';
import { graphFromLayersModel } from '../../src/graph/tfjs';
import { deploymentGraph } from '../../src/graph/deploy';
import { graphTotals } from '../../src/graph/types';
import { estimate } from '../../src/mcu/estimate';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('graphFromLayersModel', () => {
  test('sequential CNN: shapes, params (= countParams) and MACs', () => {
    const before = tf.memory().numTensors;
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'c1' }),
        tf.layers.batchNormalization({ name: 'bn1' }),
        tf.layers.reLU({ maxValue: 6, name: 'r1' }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'dw' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'mp' }),
        tf.layers.dropout({ rate: 0.2 }),
        tf.layers.flatten({ name: 'flat' }),
        tf.layers.dense({ units: 5, activation: 'softmax', name: 'fc' }),
      ],
    });
    const g = graphFromLayersModel(m);
    expect(graphTotals(g).params).toBe(m.countParams());
    expect(g.nodes.map((n) => n.op)).toEqual(['conv2d', 'batchNorm', 'relu6', 'depthwiseConv2d', 'relu', 'maxPool', 'flatten', 'dense', 'softmax']);
    const conv = g.nodes[0];
    expect(conv.outputShape).toEqual([1, 16, 16, 8]);
    expect(conv.macs).toBe(16 * 16 * 8 * 9);
    expect(g.nodes[3].outputShape).toEqual([1, 8, 8, 8]);
    expect(g.nodes[3].macs).toBe(8 * 8 * 8 * 9);
    expect(g.nodes[7].macs).toBe(4 * 4 * 8 * 5);
    // Deployed: BN folded into conv (gains a bias), activations fused, softmax kept.
    const d = deploymentGraph(g, 'int8');
    expect(d.nodes.map((n) => `${n.op}:${n.activation}`)).toEqual(['conv2d:relu6', 'depthwiseConv2d:relu', 'maxPool:none', 'flatten:none', 'dense:none', 'softmax:none']);
    expect(graphTotals(d).params).toBe(72 + 8 + (72 + 8) + (128 * 5 + 5));
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('functional model with a residual add and global pooling', () => {
    const before = tf.memory().numTensors;
    const inp = tf.input({ shape: [8, 8, 4] });
    const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'a' }).apply(inp) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'b' }).apply(a) as tf.SymbolicTensor;
    const s = tf.layers.add({ name: 'sum' }).apply([inp, b]) as tf.SymbolicTensor;
    const p = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(s) as tf.SymbolicTensor;
    const o = tf.layers.dense({ units: 2, name: 'out' }).apply(p) as tf.SymbolicTensor;
    const m = tf.model({ inputs: inp, outputs: o, name: 'resid' });
    const g = graphFromLayersModel(m);
    expect(graphTotals(g).params).toBe(m.countParams());
    const add = g.nodes.find((n) => n.op === 'add')!;
    expect(add.inputs).toContain(g.inputs[0]);
    expect(add.inputs).toContain('b');
    // The input lives until the add (index 3 after a, a/relu, b).
    expect(g.tensors[g.inputs[0]].lastUse).toBe(g.nodes.indexOf(add));
    const r = estimate(g, 'NUCLEO-F446RE', { dtype: 'int8' });
    // Three 256 B int8 tensors are live at conv 'b' (input kept for the add, a, b) plus b's CMSIS-NN im2col scratch
    // (4 B x 4 channels x 3x3 = 144 B); without scratch the add's three tensors set the 768 B peak.
    expect(r.totals.activationRamBytes).toBe(768 + 144);
    expect(estimate(g, 'NUCLEO-F446RE', { dtype: 'int8', scratch: false }).totals.activationRamBytes).toBe(768);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('Conv1D time-series model runs as 2-D on [1, 1, T, C]; BN still folds', () => {
    const before = tf.memory().numTensors;
    const m = tf.sequential({
      layers: [
        tf.layers.conv1d({ inputShape: [128, 3], filters: 8, kernelSize: 5, padding: 'same', useBias: false, name: 'c1' }),
        tf.layers.batchNormalization({ name: 'bn' }),
        tf.layers.activation({ activation: 'relu', name: 'act' }),
        tf.layers.maxPooling1d({ poolSize: 2, name: 'mp' }),
        tf.layers.conv1d({ filters: 16, kernelSize: 3, strides: 2, activation: 'swish', name: 'c2' }),
        tf.layers.globalAveragePooling1d({ name: 'gap' }),
        tf.layers.dense({ units: 4, name: 'fc' }),
      ],
    });
    const g = graphFromLayersModel(m);
    expect(graphTotals(g).params).toBe(m.countParams());
    const c1 = g.nodes.find((n) => n.name === 'c1')!;
    expect(c1.outputShape).toEqual([1, 1, 128, 8]);
    expect(c1.macs).toBe(128 * 8 * 5 * 3);
    const c2 = g.nodes.find((n) => n.name === 'c2')!;
    expect(c2.outputShape).toEqual([1, 1, 31, 16]); // valid, stride 2 over 64 steps
    expect(c2.macs).toBe(31 * 16 * 3 * 8);
    const d = deploymentGraph(g, 'int8');
    expect(d.nodes.map((n) => `${n.op}:${n.activation}`)).toEqual(['reshape:none', 'conv2d:relu', 'maxPool:none', 'conv2d:none', 'swish:none', 'globalAvgPool:none', 'dense:none']);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('unsupported layers are reported together by class and name; Activation layers are supported', () => {
    const inp = tf.input({ shape: [8, 8, 1] });
    const a = tf.layers.activation({ activation: 'relu', name: 'act' }).apply(inp) as tf.SymbolicTensor;
    const u = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(a) as tf.SymbolicTensor;
    const c = tf.layers.cropping2D({ cropping: 1, name: 'crop' }).apply(inp) as tf.SymbolicTensor;
    const m = tf.model({ inputs: inp, outputs: [u, c] });
    expect(() => graphFromLayersModel(m)).toThrow(/does not support: UpSampling2D \(layer 'up'\), Cropping2D \(layer 'crop'\)/);
    m.dispose();
  });
});
