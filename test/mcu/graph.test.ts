/**
 * Layer graph, deployment graph and arena planner on hand-computed graphs and on the MLPerf Tiny references, whose
 * params, MACs, constant bytes and liveness peaks were computed independently from the .tflite files (helper_computed
 * in ../shared/mcu/mcu_architectures.json).
 */
import * as fs from 'fs';
import * as path from 'path';
import { GraphBuilder, windowOutput } from '../../src/graph/builder';
import { deploymentGraph } from '../../src/graph/deploy';
import type { ArchDescription } from '../../src/graph/arch';
import { graphFromArchitectureRef, makeDivisible, mobilenetV2Graph } from '../../src/graph/arch';
import { graphTotals } from '../../src/graph/types';
import { graphSummary } from '../../src/graph/summary';
import { planArena, placeGreedy, type PlanBuffer } from '../../src/mcu/planner';
import { nodeWeightBytes } from '../../src/mcu/cost';

const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared', 'mcu');
const archs = JSON.parse(fs.readFileSync(path.join(SHARED, 'mcu_architectures.json'), 'utf8')) as Record<string, ArchDescription & { helper_computed: Record<string, number> }>;

describe('GraphBuilder', () => {
  test('shapes, params and MACs of a small CNN match hand computation', () => {
    const b = new GraphBuilder('tiny');
    let x = b.input('x', [1, 28, 28, 1]);
    x = b.conv2d(x, { filters: 8, kernel: [3, 3], activation: 'relu', name: 'c1' }); // valid: 26x26x8
    x = b.maxPool(x, { kernel: [2, 2] }); // 13x13x8
    x = b.depthwiseConv2d(x, { kernel: [3, 3], padding: 'same', strides: [2, 2], name: 'dw' }); // 7x7x8
    x = b.conv2d(x, { filters: 16, kernel: [1, 1], useBias: false, name: 'pw' }); // 7x7x16
    x = b.flatten(x); // 784
    x = b.dense(x, { units: 10, name: 'fc' });
    const g = b.build([x]);
    const byName = Object.fromEntries(g.nodes.map((n) => [n.name, n]));
    expect(byName.c1.outputShape).toEqual([1, 26, 26, 8]);
    expect(byName.c1.params).toBe(3 * 3 * 1 * 8 + 8);
    expect(byName.c1.macs).toBe(26 * 26 * 8 * 9);
    expect(byName.dw.outputShape).toEqual([1, 7, 7, 8]);
    expect(byName.dw.params).toBe(9 * 8 + 8);
    expect(byName.dw.macs).toBe(7 * 7 * 8 * 9);
    expect(byName.pw.params).toBe(8 * 16);
    expect(byName.pw.macs).toBe(7 * 7 * 16 * 8);
    expect(byName.fc.params).toBe(784 * 10 + 10);
    expect(byName.fc.macs).toBe(7840);
    expect(graphTotals(g).params).toBe(80 + 80 + 128 + 7850);
    // Lifetimes: the flatten output is read by fc (last node) and is the input's consumer chain.
    expect(g.tensors.x.firstUse).toBe(0);
    expect(g.tensors.x.lastUse).toBe(0);
    expect(g.tensors[x].isOutput).toBe(true);
  });

  test('window output sizes follow TF same/valid rules', () => {
    expect(windowOutput(49, 10, 2, 1, 'same')).toBe(25);
    expect(windowOutput(10, 4, 2, 1, 'same')).toBe(5);
    expect(windowOutput(28, 3, 1, 1, 'valid')).toBe(26);
    expect(windowOutput(8, 3, 2, 1, [0, 1])).toBe(4);
  });

  test('bad shapes give clear errors', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', [1, 4, 4, 3]);
    expect(() => b.conv2d(x, { filters: 2, kernel: [5, 5] })).toThrow(/output shape .*check kernel, stride and padding/);
    expect(() => b.input('y', [1, 0, 4])).toThrow(/known positive integer/);
    expect(() => b.elementwise('add', [x, b.input('z', [1, 4, 4, 2])])).toThrow(/cannot broadcast/);
  });
});

describe('deploymentGraph', () => {
  test('folds BN into conv bias, fuses ReLU6, merges padding, keeps softmax', () => {
    const b = new GraphBuilder('dep');
    let x = b.input('x', [1, 8, 8, 3]);
    x = b.conv2d(x, { filters: 4, kernel: [3, 3], padding: 'same', useBias: false, name: 'c' });
    x = b.batchNorm(x, { name: 'bn' });
    x = b.activation(x, 'relu6', { name: 'r' });
    x = b.pad2d(x, [0, 0, 1, 1], { name: 'p' });
    x = b.depthwiseConv2d(x, { kernel: [3, 3], strides: [2, 2], padding: 'valid', useBias: false, name: 'dw' });
    x = b.globalPool(x, 'avg');
    x = b.dense(x, { units: 2, name: 'fc' });
    x = b.activation(x, 'softmax', { name: 'sm' });
    const g = b.build([x]);
    const d = deploymentGraph(g, 'int8');
    expect(d.nodes.map((n) => n.op)).toEqual(['conv2d', 'depthwiseConv2d', 'globalAvgPool', 'dense', 'softmax']);
    const c = d.nodes[0];
    expect(c.activation).toBe('relu6');
    expect(c.useBias).toBe(true);
    expect(c.params).toBe(3 * 3 * 3 * 4 + 4); // BN folded into a new bias
    expect(d.nodes[1].attrs.padding).toEqual([0, 0, 1, 1]);
    expect(d.nodes[1].outputShape).toEqual([1, 4, 4, 4]);
    expect(d.dtype).toBe('int8');
    expect(Object.values(d.tensors).every((t) => t.dtype === 'int8')).toBe(true);
    // The source graph is untouched.
    expect(g.nodes.length).toBe(8);
  });
});

describe('architecture graphs vs independent .tflite figures', () => {
  const cases: Array<[string, string]> = [
    ['ref:mlperf_tiny_ic_resnet8', 'mlperf_tiny_ic_resnet8'],
    ['ref:mlperf_tiny_kws_dscnn', 'mlperf_tiny_kws_dscnn'],
    ['ref:mlperf_tiny_vww_mobilenetv1_025_96', 'mlperf_tiny_vww_mobilenetv1_025_96'],
    ['ref:mlperf_tiny_ad_fc_autoencoder', 'mlperf_tiny_ad_fc_autoencoder'],
  ];
  test.each(cases)('%s: params, MACs, int8 weight bytes and liveness peak', (ref, key) => {
    const h = archs[key].helper_computed;
    const g = deploymentGraph(graphFromArchitectureRef(ref, archs), 'int8');
    const t = graphTotals(g);
    expect(t.params).toBe(h.params);
    expect(t.macs).toBe(h.conv_fc_macs);
    const weightBytes = g.nodes.reduce((a, n) => a + nodeWeightBytes(n, 'int8').weights, 0);
    // const_bytes_in_file also holds the reshape's 2 int32 shape values (8 B) of the conv nets.
    expect(h.const_bytes_in_file - weightBytes).toBeGreaterThanOrEqual(0);
    expect(h.const_bytes_in_file - weightBytes).toBeLessThanOrEqual(8);
    const plan = planArena(g, { includeIO: true });
    expect(plan.peakLiveBytes).toBe(h.naive_peak_live_activation_bytes);
    expect(plan.arenaBytes).toBe(h.naive_peak_live_activation_bytes);
  });

  test('ResNet-8 identity and projection shortcuts are reconnected', () => {
    const g = graphFromArchitectureRef('ref:mlperf_tiny_ic_resnet8', archs);
    const adds = g.nodes.filter((n) => n.op === 'add');
    expect(adds).toHaveLength(3);
    // First add: stem conv output + second conv of the block.
    expect(adds[0].inputs.sort()).toEqual(['conv_2d_0', 'conv_2d_2'].sort());
    // Second add: main path (conv_2d_5) + 1x1 shortcut (conv_2d_6).
    expect(adds[1].inputs.sort()).toEqual(['conv_2d_5', 'conv_2d_6'].sort());
    expect(g.nodes.find((n) => n.name === 'conv_2d_6')!.inputs).toEqual(['add_3']);
  });

  test('Keras MobileNetV2 generator: make_divisible and the published 0.35 parameter count', () => {
    expect(makeDivisible(32 * 0.35)).toBe(16);
    expect(makeDivisible(16 * 0.35)).toBe(8);
    const g = mobilenetV2Graph({ alpha: 1, input: [224, 224, 3], classes: 1000, top: 'keras' });
    // Keras MobileNetV2(alpha=1.0) has 3,538,984 parameters including BN (4 per channel).
    expect(graphTotals(g).params).toBe(3538984);
  });
});

describe('greedy arena planner', () => {
  test('hand-computed placement with lifetimes and alignment', () => {
    const bufs: PlanBuffer[] = [
      { name: 'a', bytes: 100, first: 0, last: 1, offset: 0, kind: 'activation' },
      { name: 'b', bytes: 60, first: 1, last: 2, offset: 0, kind: 'activation' },
      { name: 'c', bytes: 40, first: 2, last: 3, offset: 0, kind: 'activation' },
    ];
    // Size order: a at 0; b overlaps a in time → aligned 112; c overlaps b only → 0 fits below b (40 <= 112).
    expect(placeGreedy(bufs, 16)).toBe(172);
    expect(bufs.map((x) => x.offset)).toEqual([0, 112, 0]);
  });

  test('residual block keeps three tensors alive; reshape aliases its input', () => {
    const b = new GraphBuilder('res', 'int8');
    const x = b.input('x', [1, 8, 8, 4]); // 256 B
    const c1 = b.conv2d(x, { filters: 4, kernel: [1, 1], name: 'c1' });
    const c2 = b.conv2d(c1, { filters: 4, kernel: [1, 1], name: 'c2' });
    const s = b.elementwise('add', [x, c2], { name: 'add' });
    const f = b.flatten(s, { name: 'flat' });
    const o = b.dense(f, { units: 2, name: 'fc' });
    const g = deploymentGraph(b.build([o]), 'int8');
    const plan = planArena(g, { includeIO: true });
    // At 'add': x, c2 and the add output are live: 3 x 256 B.
    expect(plan.peakLiveBytes).toBe(768);
    expect(plan.arenaBytes).toBe(768);
    expect(plan.peakTensors).toHaveLength(2);
    expect(plan.buffers.find((q) => q.name === 'flat')).toBeUndefined();
    // Without inputs/outputs in the arena, x is not planned: the peak drops to c1+c2 or c2+add = 512 B.
    expect(planArena(g, { includeIO: false }).arenaBytes).toBe(512);
  });
});

describe('graphSummary', () => {
  test('one row per node with totals', () => {
    const g = graphFromArchitectureRef('ref:mlperf_tiny_kws_dscnn', archs);
    const s = graphSummary(g);
    expect(s.split('\n')).toHaveLength(3 + g.nodes.length);
    expect(s).toMatch(/22,604 params, 2,656,768 MACs/);
  });
});
