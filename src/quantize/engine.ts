/**
 * The integer-only reference engine: runs a QuantizedModel the way an int8 kernel library (TFLite reference kernels,
 * CMSIS-NN) does — int8 activations and weights, int32 accumulators (Int32Array stores wrap like int32), fixed-point
 * requantisation (the model's rounding: one rounding of the 64-bit product, or TFLite's two), saturation to the fused activation's clamp. No float arithmetic touches the
 * activations except in nodes the user kept float and at the model's float boundaries (input quantize, output
 * dequantize).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import type { LongRunOptions } from '../common/progress';
import type { GraphNode } from '../graph/types';
import { numElements } from '../graph/types';
import { runNodeTf } from './exec';
import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierSingle, roundHalfAway } from './fixedpoint';
import type { QParams, QuantizedModel, QuantizedNode } from './types';

/**
 * The requantiser of the model being run (its `rounding`). runInt8 is synchronous, so setting this once per call
 * cannot interleave with another model's run; it keeps the kernels below free of an extra parameter.
 */
let mbqm: (x: number, multiplier: number, shift: number) => number = multiplyByQuantizedMultiplier;

function padBefore(size: number, out: number, k: number, s: number, d: number, p: GraphNode['attrs']['padding'], axis: 0 | 1): number {
  if (p === undefined || p === 'valid') return 0;
  if (p === 'same') return Math.floor(Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0) / 2);
  return axis === 0 ? p[0] : p[1];
}

function clamp8(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Quantize floats to int8 (TFLite QUANTIZE: round half away from zero). */
export function quantizeValues(x: ArrayLike<number>, q: QParams): Int8Array {
  const out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = clamp8(roundHalfAway(x[i] / q.scale) + q.zeroPoint, -128, 127);
  return out;
}

export function dequantizeValues(q: Int8Array, p: QParams): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = p.scale * (q[i] - p.zeroPoint);
  return out;
}

function conv(node: GraphNode, qn: QuantizedNode, x: Int8Array, inQ: QParams, outQ: QParams, depthwise: boolean): Int8Array {
  const [, H, W, C] = node.inputShapes[0];
  const [, OH, OW, CO] = node.outputShape;
  const [kh, kw, , mult] = node.weightShapes[0];
  const coutW = depthwise ? C * mult : node.weightShapes[0][3];
  const [sh, sw] = node.attrs.strides ?? [1, 1];
  const [dh, dw] = node.attrs.dilations ?? [1, 1];
  const pt = padBefore(H, OH, kh, sh, dh, node.attrs.padding, 0);
  const pl = padBefore(W, OW, kw, sw, dw, node.attrs.padding, 1);
  const w = qn.weights!, bias = qn.bias!, M = qn.multipliers!, S = qn.shifts!;
  const off = -inQ.zeroPoint;
  const zo = outQ.zeroPoint, lo = qn.actMin!, hi = qn.actMax!;
  const out = new Int8Array(OH * OW * CO);
  const acc = new Int32Array(CO);
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      acc.set(bias);
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * sh - pt + ky * dh;
        if (iy < 0 || iy >= H) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * sw - pl + kx * dw;
          if (ix < 0 || ix >= W) continue;
          const xb = (iy * W + ix) * C;
          const wb = (ky * kw + kx) * C;
          if (depthwise) {
            for (let ci = 0; ci < C; ci++) {
              const v = x[xb + ci] + off;
              const wo = (wb + ci) * mult;
              for (let m = 0; m < mult; m++) acc[ci * mult + m] += v * w[wo + m];
            }
          } else {
            for (let ci = 0; ci < C; ci++) {
              const v = x[xb + ci] + off;
              if (v === 0) continue;
              const wo = (wb + ci) * coutW;
              for (let co = 0; co < CO; co++) acc[co] += v * w[wo + co];
            }
          }
        }
      }
      const ob = (oy * OW + ox) * CO;
      for (let co = 0; co < CO; co++) out[ob + co] = clamp8(mbqm(acc[co], M[co], S[co]) + zo, lo, hi);
    }
  }
  return out;
}

function dense(node: GraphNode, qn: QuantizedNode, x: Int8Array, inQ: QParams, outQ: QParams): Int8Array {
  const [K, N] = node.weightShapes[0];
  const rows = x.length / K;
  const w = qn.weights!, M = qn.multipliers!, S = qn.shifts!;
  const off = -inQ.zeroPoint;
  const out = new Int8Array(rows * N);
  const acc = new Int32Array(N);
  for (let r = 0; r < rows; r++) {
    acc.set(qn.bias!);
    for (let k = 0; k < K; k++) {
      const v = x[r * K + k] + off;
      if (v === 0) continue;
      const wb = k * N;
      for (let n = 0; n < N; n++) acc[n] += v * w[wb + n];
    }
    for (let n = 0; n < N; n++) out[r * N + n] = clamp8(mbqm(acc[n], M[n], S[n]) + outQ.zeroPoint, qn.actMin!, qn.actMax!);
  }
  return out;
}

function pool(node: GraphNode, qn: QuantizedNode, x: Int8Array, kind: 'max' | 'avg', zp = 0): Int8Array {
  const [, H, W, C] = node.inputShapes[0];
  const global = node.op === 'globalAvgPool' || node.op === 'globalMaxPool';
  const [kh, kw] = global ? [H, W] : node.attrs.kernel ?? [2, 2];
  const [sh, sw] = global ? [1, 1] : node.attrs.strides ?? [kh, kw];
  const OH = global ? 1 : node.outputShape[1];
  const OW = global ? 1 : node.outputShape[2];
  const pt = global ? 0 : padBefore(H, OH, kh, sh, 1, node.attrs.padding, 0);
  const pl = global ? 0 : padBefore(W, OW, kw, sw, 1, node.attrs.padding, 1);
  const out = new Int8Array(OH * OW * C);
  const lo = qn.actMin ?? -128, hi = qn.actMax ?? 127;
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let c = 0; c < C; c++) {
        let acc = kind === 'max' ? -128 : 0;
        let count = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= W) continue;
            const v = x[(iy * W + ix) * C + c];
            if (kind === 'max') acc = v > acc ? v : acc;
            else acc += v;
            count++;
          }
        }
        // Average of (q − zp), rounded half to even, then + zp: exactly what the float model snapped to the int8 grid
        // and onnxruntime's QDQ execution compute. (TFLite/CMSIS-NN round the raw int8 sum half away from zero,
        // which with zp = −128 rounds ties downwards in real terms; 2x2 pools hit a tie on a quarter of outputs.)
        if (kind === 'avg') {
          const r = acc - count * zp;
          const q = Math.floor(r / count);
          const rem2 = 2 * (r - q * count);
          acc = zp + q + (rem2 > count || (rem2 === count && (q & 1) === 1) ? 1 : 0);
        }
        out[(oy * OW + ox) * C + c] = clamp8(acc, lo, hi);
      }
    }
  }
  return out;
}

function add(qn: QuantizedNode, xs: Int8Array[], inQ: QParams[], outQ: QParams): Int8Array {
  const n = xs[0].length;
  const out = new Int8Array(n);
  const ls = 2 ** qn.leftShift!;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let k = 0; k < xs.length; k++) {
      const v = xs[k].length === n ? xs[k][i] : xs[k][i % xs[k].length];
      sum += mbqm((v - inQ[k].zeroPoint) * ls, qn.inputMultipliers![k], qn.inputShifts![k]);
    }
    out[i] = clamp8(mbqm(sum | 0, qn.outputMultiplier!, qn.outputShift!) + outQ.zeroPoint, qn.actMin!, qn.actMax!);
  }
  return out;
}

function concat(node: GraphNode, qn: QuantizedNode, xs: Int8Array[], inQ: QParams[], outQ: QParams): Int8Array {
  const axis = node.attrs.axis ?? node.outputShape.length - 1;
  const outer = numElements(node.outputShape.slice(0, axis));
  const out = new Int8Array(numElements(node.outputShape));
  let o = 0;
  for (let r = 0; r < outer; r++) {
    xs.forEach((x, k) => {
      const inner = x.length / outer;
      const same = inQ[k].scale === outQ.scale && inQ[k].zeroPoint === outQ.zeroPoint;
      for (let j = 0; j < inner; j++) {
        const v = x[r * inner + j];
        out[o++] = same ? v : clamp8(mbqm(v - inQ[k].zeroPoint, qn.inputMultipliers![k], qn.inputShifts![k]) + outQ.zeroPoint, -128, 127);
      }
    });
  }
  return out;
}

function softmax(qn: QuantizedNode, x: Int8Array, N: number): Int8Array {
  const out = new Int8Array(x.length);
  const e = qn.expLut!;
  for (let r = 0; r < x.length / N; r++) {
    let mx = -128;
    for (let j = 0; j < N; j++) mx = Math.max(mx, x[r * N + j]);
    let sum = 0;
    for (let j = 0; j < N; j++) sum += e[mx - x[r * N + j]];
    // round(e·256 / sum) − 128, in integers.
    for (let j = 0; j < N; j++) out[r * N + j] = clamp8(Math.floor((e[mx - x[r * N + j]] * 512 + sum) / (2 * sum)) - 128, -128, 127);
  }
  return out;
}

function padOp(node: GraphNode, x: Int8Array, zp: number): Int8Array {
  const [, H, W, C] = node.inputShapes[0];
  const [, OH, OW] = node.outputShape;
  const [t, l] = node.attrs.pads ?? [0, 0, 0, 0];
  const out = new Int8Array(OH * OW * C).fill(zp);
  for (let y = 0; y < H; y++) out.set(x.subarray(y * W * C, (y + 1) * W * C), ((y + t) * OW + l) * C);
  return out;
}

export interface EngineTrace {
  /** Called with every activation tensor of one sample, dequantized (for per-layer error reports). */
  collect?: (tensor: string, value: Float32Array, sample: number) => void;
}

export interface EngineResult {
  /** Outputs [n, outputSize] in float: dequantized int8 outputs, or the float softmax of a 'float'-output model. */
  output: Float32Array;
  /** The raw int8 outputs when the output is int8. */
  int8?: Int8Array;
  samples: number;
}

/** Run the integer engine over flat samples. Stops at the next sample on abort, returning what it has. */
export function runInt8(qm: QuantizedModel, x: Float32Array, sampleShape: number[], opts: LongRunOptions & EngineTrace = {}): EngineResult {
  const g = qm.graph;
  const f = numElements(sampleShape);
  const inShape = g.tensors[g.inputs[0]].shape.slice(1);
  if (f !== numElements(inShape)) {
    throw new InputError(`samples of shape [${sampleShape.join(', ')}] do not fit model '${g.name}' input [${inShape.join(', ')}]`);
  }
  const n = x.length / f;
  mbqm = qm.rounding === 'single' ? multiplyByQuantizedMultiplierSingle : multiplyByQuantizedMultiplier;
  const outT = g.outputs[0];
  const outSize = numElements(g.tensors[outT].shape);
  const output = new Float32Array(n * outSize);
  const outInt8 = new Int8Array(n * outSize);
  let floatOut = false;
  let done = 0;
  for (let s = 0; s < n; s++) {
    if (opts.signal?.aborted) break;
    const env = new Map<string, Int8Array>();
    const q0 = quantizeValues(x.subarray(s * f, (s + 1) * f), qm.tensors[g.inputs[0]]);
    env.set(g.inputs[0], q0);
    opts.collect?.(g.inputs[0], dequantizeValues(q0, qm.tensors[g.inputs[0]]), s);
    for (const node of g.nodes) {
      const qn = qm.nodes[node.name];
      const xs = node.inputs.map((t) => env.get(t)!);
      const inQ = node.inputs.map((t) => qm.tensors[t]);
      const outQ = qm.tensors[node.outputs[0]];
      let y: Int8Array;
      if (qn.keptFloat) {
        const fy = runFloatNode(qm, node, xs, inQ);
        if (g.outputs.includes(node.outputs[0]) && qm.output === 'float') {
          output.set(fy, s * outSize);
          floatOut = true;
          opts.collect?.(node.outputs[0], fy, s);
          continue;
        }
        y = quantizeValues(fy, outQ);
      } else {
        switch (node.op) {
          case 'conv2d':
            y = conv(node, qn, xs[0], inQ[0], outQ, false);
            break;
          case 'depthwiseConv2d':
            y = conv(node, qn, xs[0], inQ[0], outQ, true);
            break;
          case 'dense':
            y = dense(node, qn, xs[0], inQ[0], outQ);
            break;
          case 'batchNorm': {
            const C = qn.weights!.length;
            y = new Int8Array(xs[0].length);
            for (let i = 0; i < y.length; i++) {
              const c = i % C;
              const acc = (xs[0][i] - inQ[0].zeroPoint) * qn.weights![c] + qn.bias![c];
              y[i] = clamp8(mbqm(acc | 0, qn.multipliers![c], qn.shifts![c]) + outQ.zeroPoint, qn.actMin!, qn.actMax!);
            }
            break;
          }
          case 'maxPool':
          case 'globalMaxPool':
            y = pool(node, qn, xs[0], 'max');
            break;
          case 'avgPool':
            y = pool(node, qn, xs[0], 'avg', inQ[0].zeroPoint);
            break;
          case 'globalAvgPool': {
            const C = node.inputShapes[0][3];
            const hw = xs[0].length / C;
            y = new Int8Array(C);
            for (let c = 0; c < C; c++) {
              let acc = 0;
              for (let i = 0; i < hw; i++) acc += xs[0][i * C + c] - inQ[0].zeroPoint;
              y[c] = clamp8(mbqm(acc * 2 ** (qn.leftShift ?? 0), qn.outputMultiplier!, qn.outputShift!) + outQ.zeroPoint, qn.actMin!, qn.actMax!);
            }
            break;
          }
          case 'add':
            y = add(qn, xs, inQ, outQ);
            break;
          case 'concat':
            y = concat(node, qn, xs, inQ, outQ);
            break;
          case 'reshape':
          case 'flatten':
            y = xs[0];
            break;
          case 'pad':
            y = padOp(node, xs[0], inQ[0].zeroPoint);
            break;
          case 'softmax':
            y = softmax(qn, xs[0], node.outputShape[node.outputShape.length - 1]);
            break;
          default:
            if (!qn.lut) throw new InputError(`no int8 kernel for ${node.op} layer '${node.name}'; keep it float with keepFloat: ['${node.name}']`);
            y = new Int8Array(xs[0].length);
            for (let i = 0; i < y.length; i++) y[i] = qn.lut[xs[0][i] + 128];
        }
      }
      env.set(node.outputs[0], y);
      opts.collect?.(node.outputs[0], dequantizeValues(y, outQ), s);
    }
    if (!floatOut) {
      const yq = env.get(outT)!;
      outInt8.set(yq, s * outSize);
      output.set(dequantizeValues(yq, qm.tensors[outT]), s * outSize);
    }
    done++;
    if (opts.onProgress && (done % 100 === 0 || done === n)) opts.onProgress({ task: 'int8 inference', done, total: n });
  }
  return {
    output: done < n ? output.slice(0, done * outSize) : output,
    int8: floatOut ? undefined : done < n ? outInt8.slice(0, done * outSize) : outInt8,
    samples: done,
  };
}

/** A node kept float: dequantize its inputs, run it with float weights, return float values. */
function runFloatNode(qm: QuantizedModel, node: GraphNode, xs: Int8Array[], inQ: QParams[]): Float32Array {
  if (node.op === 'softmax') {
    const v = dequantizeValues(xs[0], inQ[0]);
    const N = node.outputShape[node.outputShape.length - 1];
    const out = new Float32Array(v.length);
    for (let r = 0; r < v.length / N; r++) {
      let mx = -Infinity;
      for (let j = 0; j < N; j++) mx = Math.max(mx, v[r * N + j]);
      let sum = 0;
      for (let j = 0; j < N; j++) sum += out[r * N + j] = Math.exp(v[r * N + j] - mx);
      for (let j = 0; j < N; j++) out[r * N + j] /= sum;
    }
    return out;
  }
  // The tensor leaves tidy and is read outside it: tidy walks a returned typed array element by element.
  const t = tf.tidy(() => {
    const ins = xs.map((x, k) => tf.tensor(dequantizeValues(x, inQ[k]), node.inputShapes[k]));
    return runNodeTf(node, ins, qm.float.weights[node.name] ?? {});
  });
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}
