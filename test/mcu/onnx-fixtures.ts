/**
 * Tiny ONNX models built in the tests with the onnx-proto definitions: a float conv net, the same net in QDQ int8
 * form, and a QLinearConv/QLinearMatMul variant. Weights are deterministic (seeded) so onnxruntime can run them.
 */
import { onnx } from 'onnx-proto';
import { mulberry32 } from '../../src/common/rng';

type AttrVal = number | number[] | string | { f: number };

export function attr(name: string, v: AttrVal): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.FLOAT, f: v.f };
}

export function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrVal> = {}): onnx.INodeProto {
  return { opType: op, input: inputs, output: outputs, name, attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)) };
}

const rng = mulberry32(7);

export function floatInit(name: string, dims: number[]): onnx.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from({ length: n }, () => rng() - 0.5) };
}

export function scalarInit(name: string, v: number, type: 'float' | 'int8' | 'int64' = 'float', dims: number[] = []): onnx.ITensorProto {
  const T = onnx.TensorProto.DataType;
  if (type === 'float') return { name, dims, dataType: T.FLOAT, floatData: [v] };
  if (type === 'int64') return { name, dims, dataType: T.INT64, int64Data: [v] };
  return { name, dims, dataType: T.INT8, rawData: new Uint8Array([v & 0xff]) };
}

export function int8Init(name: string, dims: number[]): onnx.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, dataType: onnx.TensorProto.DataType.INT8, rawData: Uint8Array.from({ length: n }, () => Math.floor(rng() * 200) - 100 + 256) };
}

export function int32Init(name: string, dims: number[]): onnx.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, dataType: onnx.TensorProto.DataType.INT32, int32Data: Array.from({ length: n }, () => Math.floor(rng() * 1000) - 500) };
}

export function int64Init(name: string, values: number[]): onnx.ITensorProto {
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

export function valueInfo(name: string, dims: Array<number | string> | null, elemType = onnx.TensorProto.DataType.FLOAT): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: dims === null ? undefined : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function modelBytes(nodes: onnx.INodeProto[], inits: onnx.ITensorProto[], inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[], opset = 13): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'tinylab-test',
    graph: { name: 'tiny', node: nodes, initializer: inits, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(m).finish();
}

/**
 * Float conv net, NCHW input [1,1,8,8]:
 * Conv 4x3x3 pad 1 + Relu → MaxPool 2 → depthwise Conv (group 4) pad 1 + Clip(0,6) → GlobalAveragePool → Flatten →
 * Gemm 3 (transB) → Softmax. Params 40 + 40 + 15 = 95; MACs 2304 + 576 + 12 = 2892.
 */
export function tinyConvNet(): Uint8Array {
  const nodes = [
    node('Conv', ['x', 'w1', 'b1'], ['c1'], 'conv1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }),
    node('Relu', ['c1'], ['r1'], 'relu1'),
    node('MaxPool', ['r1'], ['p1'], 'pool1', { kernel_shape: [2, 2], strides: [2, 2] }),
    node('Conv', ['p1', 'w2', 'b2'], ['c2'], 'dw2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 }),
    node('Clip', ['c2', 'lo', 'hi'], ['r2'], 'relu6_2'),
    node('GlobalAveragePool', ['r2'], ['g'], 'gap'),
    node('Flatten', ['g'], ['f'], 'flatten', { axis: 1 }),
    node('Gemm', ['f', 'w3', 'b3'], ['d'], 'fc', { transB: 1 }),
    node('Softmax', ['d'], ['y'], 'softmax', { axis: 1 }),
  ];
  const inits = [floatInit('w1', [4, 1, 3, 3]), floatInit('b1', [4]), floatInit('w2', [4, 1, 3, 3]), floatInit('b2', [4]), scalarInit('lo', 0), scalarInit('hi', 6), floatInit('w3', [3, 4]), floatInit('b3', [3])];
  return modelBytes(nodes, inits, [valueInfo('x', ['N', 1, 8, 8])], [valueInfo('y', ['N', 3])]);
}

/** The same network in QDQ form: int8 weights + DequantizeLinear, Q/DQ pairs on activations (as ORT's quantizer writes). */
export function tinyConvNetQdq(): Uint8Array {
  const s = (n: string) => [scalarInit(`${n}_s`, 0.05), scalarInit(`${n}_z`, 0, 'int8')];
  const qdq = (t: string) => [node('QuantizeLinear', [t, `${t}_s`, `${t}_z`], [`${t}_q`], `${t}_Q`), node('DequantizeLinear', [`${t}_q`, `${t}_s`, `${t}_z`], [`${t}_dq`], `${t}_DQ`)];
  const wdq = (w: string) => node('DequantizeLinear', [w, `${w}_s`, `${w}_z`], [`${w}_dq`], `${w}_DQ`);
  const nodes = [
    ...qdq('x'),
    wdq('w1'),
    node('Conv', ['x_dq', 'w1_dq', 'b1'], ['c1'], 'conv1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    node('Relu', ['c1'], ['r1'], 'relu1'),
    ...qdq('r1'),
    node('MaxPool', ['r1_dq'], ['p1'], 'pool1', { kernel_shape: [2, 2], strides: [2, 2] }),
    ...qdq('p1'),
    wdq('w2'),
    node('Conv', ['p1_dq', 'w2_dq', 'b2'], ['c2'], 'dw2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 4 }),
    node('Clip', ['c2', 'lo', 'hi'], ['r2'], 'relu6_2'),
    ...qdq('r2'),
    node('GlobalAveragePool', ['r2_dq'], ['g'], 'gap'),
    node('Flatten', ['g'], ['f'], 'flatten', { axis: 1 }),
    ...qdq('f'),
    wdq('w3'),
    node('Gemm', ['f_dq', 'w3_dq', 'b3'], ['d'], 'fc', { transB: 1 }),
    node('Softmax', ['d'], ['y'], 'softmax', { axis: 1 }),
  ];
  const inits = [
    ...s('x'), ...s('r1'), ...s('p1'), ...s('r2'), ...s('f'), ...s('w1'), ...s('w2'), ...s('w3'),
    int8Init('w1', [4, 1, 3, 3]), floatInit('b1', [4]), int8Init('w2', [4, 1, 3, 3]), floatInit('b2', [4]),
    scalarInit('lo', 0), scalarInit('hi', 6), int8Init('w3', [3, 4]), floatInit('b3', [3]),
  ];
  return modelBytes(nodes, inits, [valueInfo('x', [1, 1, 8, 8])], [valueInfo('y', [1, 3])]);
}

/** QLinearConv + QLinearMatMul (+ Add bias) network: int8 in, int8 out. Params 4*9+4 + 4*8*8*3+3. */
export function tinyQLinear(): Uint8Array {
  const I8 = onnx.TensorProto.DataType.INT8;
  const sc = (n: string) => [scalarInit(`${n}_s`, 0.05), scalarInit(`${n}_z`, 0, 'int8')];
  const nodes = [
    node('QLinearConv', ['x', 'x_s', 'x_z', 'w', 'w_s', 'w_z', 'c_s', 'c_z', 'b'], ['c'], 'qconv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    node('Reshape', ['c', 'shape'], ['f'], 'reshape'),
    node('QLinearMatMul', ['f', 'c_s', 'c_z', 'm', 'm_s', 'm_z', 'y_s', 'y_z'], ['mm'], 'qmatmul'),
    node('Add', ['mm', 'bias'], ['y'], 'bias_add'),
  ];
  const inits = [...sc('x'), ...sc('w'), ...sc('c'), ...sc('m'), ...sc('y'), int8Init('w', [4, 1, 3, 3]), int32Init('b', [4]), int64Init('shape', [1, 256]), int8Init('m', [256, 3]), int8Init('bias', [3])];
  return modelBytes(nodes, inits, [valueInfo('x', [1, 1, 8, 8], I8)], [valueInfo('y', [1, 3], I8)]);
}
