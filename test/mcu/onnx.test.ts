/**
 * ONNX front end: float and QDQ versions of one tiny conv net give the same graph (and the graph a hand-built
 * GraphBuilder gives); onnxruntime runs the fixtures (so they are real ONNX); bad files give clear errors.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../../src/common/errors';
import { GraphBuilder } from '../../src/graph/builder';
import { graphFromOnnx } from '../../src/graph/onnx';
import { graphTotals, type LayerGraph } from '../../src/graph/types';
import { estimate } from '../../src/mcu/estimate';
import { floatInit, int64Init, modelBytes, node, tinyConvNet, tinyConvNetQdq, tinyQLinear, valueInfo } from './onnx-fixtures';

function signature(g: LayerGraph) {
  return g.nodes.map((n) => ({ op: n.op, inputShapes: n.inputShapes, outputShape: n.outputShape, params: n.params, macs: n.macs, padding: n.attrs.padding }));
}

function expectedTiny(): LayerGraph {
  const b = new GraphBuilder('expected');
  let x = b.input('x', [1, 8, 8, 1]);
  x = b.conv2d(x, { filters: 4, kernel: [3, 3], padding: [1, 1, 1, 1] });
  x = b.activation(x, 'relu');
  x = b.maxPool(x, { kernel: [2, 2], strides: [2, 2] });
  x = b.depthwiseConv2d(x, { kernel: [3, 3], padding: [1, 1, 1, 1] });
  x = b.activation(x, 'relu6');
  x = b.globalPool(x, 'avg', { keepDims: true });
  x = b.flatten(x);
  x = b.dense(x, { units: 3 });
  x = b.activation(x, 'softmax');
  return b.build([x]);
}

describe('graphFromOnnx', () => {
  test('float conv net parses to the hand-built graph (params 95, MACs 2892)', () => {
    const g = graphFromOnnx(tinyConvNet());
    expect(g.dtype).toBe('float32');
    expect(signature(g)).toEqual(signature(expectedTiny()));
    expect(graphTotals(g)).toEqual({ params: 95, macs: 2892, nodes: 9 });
    expect(g.outputs).toHaveLength(1);
    expect(g.tensors[g.outputs[0]].shape).toEqual([1, 3]);
  });

  test('onnxruntime runs the fixtures and agrees on the output shape', () => {
    // onnxruntime-node runs in a child process: inside jest's sandbox its typed arrays come from another realm.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-onnx-'));
    const script = `const ort = require('onnxruntime-node');
      (async () => { const s = await ort.InferenceSession.create(process.argv[1]);
        const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(64).fill(0.5), [1, 1, 8, 8]) });
        const y = out[s.outputNames[0]]; console.log(JSON.stringify({ dims: y.dims, sum: Array.from(y.data).reduce((a, b) => a + b, 0) })); })()
        .catch((e) => { console.error(e.message); process.exit(1); });`;
    try {
      for (const [i, bytes] of [tinyConvNet(), tinyConvNetQdq()].entries()) {
        const file = path.join(dir, `m${i}.onnx`);
        fs.writeFileSync(file, bytes);
        const r = spawnSync(process.execPath, ['-e', script, file], { encoding: 'utf8', cwd: path.resolve(__dirname, '..', '..') });
        expect(r.stderr).toBe('');
        const out = JSON.parse(r.stdout) as { dims: number[]; sum: number };
        expect(out.dims).toEqual([1, 3]);
        expect(out.sum).toBeCloseTo(1, 4); // softmax output: the fixture really computes
        const g = graphFromOnnx(bytes);
        expect(g.tensors[g.outputs[0]].shape).toEqual(out.dims);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('QDQ int8 version gives the same graph, marked int8, and the same int8 report', () => {
    const f = graphFromOnnx(tinyConvNet());
    const q = graphFromOnnx(tinyConvNetQdq());
    expect(q.dtype).toBe('int8');
    expect(signature(q)).toEqual(signature(f));
    const rf = estimate(f, 'NUCLEO-L4R5ZI', { dtype: 'int8' });
    const rq = estimate(q, 'NUCLEO-L4R5ZI', { dtype: 'int8' });
    expect(rq.totals).toEqual(rf.totals);
    // int8 weights: 36+36+12 weight bytes (each buffer padded to 4 B) + 4 B per bias (4+4+3).
    expect(rq.totals.weightsFlashBytes).toBe(36 + 36 + 12 + 4 * 11);
  });

  test('QLinearConv / QLinearMatMul + bias Add parse as conv and dense-with-bias', () => {
    const g = graphFromOnnx(tinyQLinear());
    expect(g.dtype).toBe('int8');
    expect(g.nodes.map((n) => n.op)).toEqual(['conv2d', 'reshape', 'dense']);
    const dense = g.nodes[2];
    expect(dense.useBias).toBe(true);
    expect(dense.params).toBe(256 * 3 + 3);
    expect(dense.macs).toBe(768);
    expect(g.nodes[0].macs).toBe(8 * 8 * 4 * 9);
  });

  test('NHWC input behind a Transpose (tf2onnx style) is read as NHWC', () => {
    const bytes = modelBytes(
      [
        node('Transpose', ['x'], ['xt'], 'to_nchw', { perm: [0, 3, 1, 2] }),
        node('Conv', ['xt', 'w'], ['c'], 'conv', { kernel_shape: [3, 3] }),
        node('Transpose', ['c'], ['y'], 'to_nhwc', { perm: [0, 2, 3, 1] }),
      ],
      [floatInit('w', [2, 3, 3, 3])],
      [valueInfo('x', [1, 10, 12, 3])],
      [valueInfo('y', [1, 8, 10, 2])],
    );
    const g = graphFromOnnx(bytes);
    expect(g.nodes.map((n) => n.op)).toEqual(['conv2d']);
    expect(g.nodes[0].inputShapes[0]).toEqual([1, 10, 12, 3]);
    expect(g.nodes[0].outputShape).toEqual([1, 8, 10, 2]);
  });

  describe('bad files give clear errors', () => {
    test('truncated files: InputError at every cut, never a crash or a silent partial graph', () => {
      const bytes = tinyConvNet();
      for (const frac of [0.1, 0.3, 0.5, 0.75, 0.9, 0.98]) {
        const cut = bytes.slice(0, Math.floor(bytes.length * frac));
        let err: unknown;
        try {
          graphFromOnnx(cut);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(InputError);
        expect((err as Error).message).toMatch(/ONNX|onnx/);
      }
    });

    test('garbage bytes', () => {
      expect(() => graphFromOnnx(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]))).toThrow(/not a valid ONNX model|no graph nodes/);
    });

    test('unknown ops are reported by op type and node name, all of them', () => {
      const bytes = modelBytes(
        [
          node('Conv', ['x', 'w'], ['c'], 'conv', { kernel_shape: [1, 1] }),
          node('Einsum', ['c'], ['e'], 'my_einsum', { equation: 'ij->ji' }),
          node('LeakyRelu', ['e'], ['y'], 'leaky'),
        ],
        [floatInit('w', [2, 1, 1, 1])],
        [valueInfo('x', [1, 1, 4, 4])],
        [valueInfo('y', [1, 2, 4, 4])],
      );
      expect(() => graphFromOnnx(bytes)).toThrow(InputError);
      expect(() => graphFromOnnx(bytes)).toThrow(/Einsum \(node 'my_einsum'\).*LeakyRelu \(node 'leaky'\)/);
    });

    test('missing or symbolic input shape names the input and the fix', () => {
      const nodes = [node('Relu', ['x'], ['y'], 'r')];
      expect(() => graphFromOnnx(modelBytes(nodes, [], [valueInfo('x', null)], [valueInfo('y', null)]))).toThrow(/input 'x' has no shape.*inputShapes/);
      expect(() => graphFromOnnx(modelBytes(nodes, [], [valueInfo('x', [1, 'H', 4])], [valueInfo('y', null)]))).toThrow(/input 'x' has an unknown dimension 1 \('H'\)/);
      const g = graphFromOnnx(modelBytes(nodes, [], [valueInfo('x', [1, 'H', 4])], [valueInfo('y', null)]), { inputShapes: { x: [1, 3, 4] } });
      expect(g.tensors.y ?? g.tensors[g.outputs[0]]).toBeDefined();
    });

    test('weights that are not constants are refused with the reason', () => {
      const bytes = modelBytes([node('Conv', ['x', 'w'], ['y'], 'conv', { kernel_shape: [1, 1] })], [], [valueInfo('x', [1, 1, 4, 4]), valueInfo('w', [2, 1, 1, 1])], [valueInfo('y', [1, 2, 4, 4])]);
      expect(() => graphFromOnnx(bytes)).toThrow(/weight 'w' is not a constant initializer/);
    });
  });
});

describe('PyTorch-style shape arithmetic', () => {
  test('Shape → Gather → Unsqueeze → Concat → Reshape folds to a flatten', () => {
    const bytes = modelBytes(
      [
        node('Conv', ['x', 'w'], ['c'], 'conv', { kernel_shape: [3, 3] }),
        node('Shape', ['c'], ['s'], 'shape'),
        node('Gather', ['s', 'zero'], ['n'], 'gather', { axis: 0 }),
        node('Unsqueeze', ['n', 'ax0'], ['n1'], 'unsq'),
        node('Concat', ['n1', 'minus1'], ['shp'], 'cat', { axis: 0 }),
        node('Reshape', ['c', 'shp'], ['f'], 'view'),
        node('Gemm', ['f', 'w2'], ['y'], 'fc', { transB: 1 }),
      ],
      [floatInit('w', [2, 1, 3, 3]), { ...int64Init('zero', [0]), dims: [] }, int64Init('ax0', [0]), int64Init('minus1', [-1]), floatInit('w2', [5, 72])],
      [valueInfo('x', [1, 1, 8, 8])],
      [valueInfo('y', [1, 5])],
    );
    const g = graphFromOnnx(bytes);
    expect(g.nodes.map((n) => n.op)).toEqual(['conv2d', 'reshape', 'dense']);
    expect(g.nodes[1].outputShape).toEqual([1, 72]);
    expect(g.nodes[2].macs).toBe(72 * 5);
  });
});
