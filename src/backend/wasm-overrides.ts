/**
 * Faster replacements for stock WASM kernels that dominate training steps (profiled with tf.profile on the bench
 * models; see bench/train.ts). Each one handles the common training case itself and delegates everything else to
 * the original kernel, keeping the original's setupFunc (its cwrap bindings) so delegation keeps working.
 *
 *  - BatchMatMul / _FusedMatMul with transposeA/transposeB: the wasm build falls off XNNPACK's fast path (~10x
 *    slower); we transpose the operand in JS (cheap for dense-layer sizes) and call the fast no-transpose path.
 *  - Sum / Mean over leading axes (NHWC channel reductions in BatchNorm/bias gradients, batch reductions in Dense
 *    bias gradients): stock wasm first transposes the whole tensor; we accumulate rows in place on the heap.
 *  - MaxPoolGrad: a direct scatter of dy to the window's first maximum (same tie rule as the cpu backend).
 *  - Fill: stock wasm took ~7 ms for a 512K-element tf.ones (used by every Mean/Sum gradient); TypedArray.fill is
 *    ~50x faster.
 *  - Multiply/Add/Sub/RealDiv with a per-channel vector on narrow channels: widened rows (channel-broadcast.ts).
 *  - FusedBatchNorm with per-channel statistics: stock wasm took ~2 ms on a DS-CNN activation; we fold
 *    scale·rsqrt(var+eps) and offset − mean·that into two channel vectors and run two XNNPACK broadcast ops.
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32, free, runWasm, sumRows, view, WasmBackend, zeros } from './wasm-heap';
import { widenedBinaryOverride, widenFactor } from './channel-broadcast';
import { blockedColumnSums, simdKernels, transposeOnHeap } from './simd';
import { inputGradUnused } from './unused-input-grad';

type Args = { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown };
type Orig = (args: Args) => TensorInfo;

/** Batched transpose of the last two axes: [..., R, C] → [..., C, R], into a fresh heap tensor. */
function transposeLast2(backend: WasmBackend, t: TensorInfo): TensorInfo {
  const r = t.shape.length;
  const R = t.shape[r - 2], C = t.shape[r - 1];
  const B = t.shape.slice(0, r - 2).reduce((p, q) => p * q, 1);
  const out = backend.makeOutput([...t.shape.slice(0, r - 2), C, R], 'float32');
  const src = f32(backend, t), dst = f32(backend, out);
  const k = simdKernels(backend);
  const blk = 32;
  for (let b = 0; b < B; b++) {
    const so = b * R * C;
    // SIMD 4x4 register blocks (simd.ts) when available, else the JS cache blocks.
    if (transposeOnHeap(k, src.subarray(so, so + R * C), dst.subarray(so, so + R * C), R, C)) continue;
    for (let r0 = 0; r0 < R; r0 += blk) {
      const r1 = Math.min(R, r0 + blk);
      for (let c0 = 0; c0 < C; c0 += blk) {
        const c1 = Math.min(C, c0 + blk);
        for (let r = r0; r < r1; r++) {
          const ro = so + r * C;
          for (let c = c0; c < c1; c++) dst[so + c * R + r] = src[ro + c];
        }
      }
    }
  }
  return out;
}

function matmulOverride(orig: Orig): Orig {
  return (args) => {
    const attrs = args.attrs ?? {};
    const { transposeA, transposeB } = attrs as { transposeA?: boolean; transposeB?: boolean };
    const a = args.inputs.a as TensorInfo, b = args.inputs.b as TensorInfo;
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return orig(args);
    const backend = asWasm(args.backend);
    if (transposeB && !transposeA) {
      // Dense dx = dy·Wᵀ of the first layer, declared unused by the training loop (unused-input-grad.ts).
      const outShape = [...a.shape.slice(0, -1), b.shape[b.shape.length - 2]];
      if (inputGradUnused(b, outShape)) return zeros(backend, outShape);
    }
    const temps: TensorInfo[] = [];
    let a2 = a, b2 = b;
    if (transposeA) temps.push((a2 = transposeLast2(backend, a)));
    if (transposeB) temps.push((b2 = transposeLast2(backend, b)));
    try {
      return orig({ ...args, inputs: { ...args.inputs, a: a2, b: b2 }, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/** Sum/Mean over a leading run of axes [0..k): out[j] = Σ_i x[i·inner + j]. Else delegate. */
function reduceOverride(orig: Orig, mean: boolean): Orig {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const attrs = args.attrs ?? {};
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2) return orig(args);
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).slice().sort((p, q) => p - q);
    const k0 = axes.length;
    if (k0 === 0 || k0 === rank || axes.some((ax, i) => ax !== i)) return orig(args);
    const outer = x.shape.slice(0, k0).reduce((p, q) => p * q, 1);
    const innerShape = x.shape.slice(k0);
    const inner = innerShape.reduce((p, q) => p * q, 1);
    const backend = asWasm(args.backend);
    const out = backend.makeOutput(innerShape, 'float32');
    const scale = mean ? 1 / outer : 1;
    const k = simdKernels(backend);
    if (k && inner % 4 === 0) {
      // SIMD column sums (float32 blocks flushed into float64), ~3x faster than the JS rows below.
      const base = f32(backend, x).byteOffset, rowBytes = inner * 4;
      const [acc] = blockedColumnSums(k, outer, inner, 1, (r0, r1, [a]) => k.colSum(base + r0 * rowBytes, base + r1 * rowBytes, rowBytes, a));
      const dst = f32(backend, out);
      for (let j = 0; j < inner; j++) dst[j] = acc[j] * scale;
      return attrs.keepDims ? view(out, [...new Array<number>(k0).fill(1), ...innerShape]) : out;
    }
    const src = f32(backend, x), dst = f32(backend, out);
    // Narrow rows (C = 16 in ResNet-8) waste time on loop overhead: sum wf rows side by side, fold at the end.
    const wf = widenFactor(outer, inner);
    const acc = new Float64Array(wf * inner);
    sumRows(src, outer / wf, wf * inner, acc);
    for (let g = 1; g < wf; g++) for (let j = 0; j < inner; j++) acc[j] += acc[g * inner + j];
    for (let j = 0; j < inner; j++) dst[j] = acc[j] * scale;
    return attrs.keepDims ? view(out, [...new Array<number>(k0).fill(1), ...innerShape]) : out;
  };
}

/** MaxPoolGrad: inputs {dy, input, output}; attrs {filterSize, strides, pad, dimRoundingMode}. */
function maxPoolGrad(args: Args): TensorInfo {
  const backend = asWasm(args.backend);
  const dy = args.inputs.dy as TensorInfo, x = args.inputs.input as TensorInfo;
  const attrs = args.attrs ?? {};
  const c = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = c;
  const sh = c.strideHeight, sw = c.strideWidth, fh = c.effectiveFilterHeight, fw = c.effectiveFilterWidth;
  const pt = c.padInfo.top, pl = c.padInfo.left;
  const dx = zeros(backend, x.shape);
  const X = f32(backend, x), DY = f32(backend, dy), DX = f32(backend, dx);
  const best = new Float32Array(C);
  const pos = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sh - pt;
      const rMin = Math.max(0, r0), rMax = Math.min(H, r0 + fh);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sw - pl;
        const cMin = Math.max(0, c0), cMax = Math.min(W, c0 + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        // Row-major window scan with strict '>' so the first maximum wins, as in the cpu backend.
        for (let r = rMin; r < rMax; r++) {
          for (let cc = cMin; cc < cMax; cc++) {
            const base = ((n * H + r) * W + cc) * C;
            for (let ch = 0; ch < C; ch++) {
              const v = X[base + ch];
              if (v > best[ch]) {
                best[ch] = v;
                pos[ch] = base + ch;
              }
            }
          }
        }
        const dyo = ((n * OH + oh) * OW + ow) * C;
        for (let ch = 0; ch < C; ch++) if (pos[ch] >= 0) DX[pos[ch]] += DY[dyo + ch];
      }
    }
  }
  return dx;
}

function fillOverride(orig: Orig): Orig {
  return (args) => {
    const attrs = args.attrs ?? {};
    const dtype = (attrs.dtype as string | undefined) ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'int32') return orig(args);
    const backend = asWasm(args.backend);
    const out = backend.makeOutput(attrs.shape as number[], dtype as 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array | Int32Array).fill(attrs.value as number);
    return out;
  };
}

function batchNormOverride(orig: Orig): Orig {
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    if (!x || !mean || !variance || x.dtype !== 'float32') return orig(args);
    const C = x.shape[x.shape.length - 1];
    const perChannel = (t: TensorInfo | undefined) =>
      t === undefined || (t.shape.reduce((p, q) => p * q, 1) === C && t.shape[t.shape.length - 1] === C);
    if (![mean, variance, offset, scale].every(perChannel) || C === undefined) return orig(args);
    const backend = asWasm(args.backend);
    const eps = ((args.attrs ?? {}).varianceEpsilon as number | undefined) ?? 0.001;
    // Fold the statistics into y = x·a + b with per-channel a, b, then two XNNPACK broadcast ops (SIMD), which beat
    // both the stock kernel and a JS loop over the activation.
    const av = backend.makeOutput([C], 'float32');
    const bv = backend.makeOutput([C], 'float32');
    const M = f32(backend, mean), V = f32(backend, variance);
    const S = scale ? f32(backend, scale) : null, O = offset ? f32(backend, offset) : null;
    const a = f32(backend, av), b = f32(backend, bv);
    for (let c = 0; c < C; c++) {
      a[c] = (S ? S[c] : 1) / Math.sqrt(V[c] + eps);
      b[c] = (O ? O[c] : 0) - M[c] * a[c];
    }
    const k = simdKernels(backend);
    if (k && C % 4 === 0) {
      // One SIMD pass x·a + b (same float32 multiply then add as the two XNNPACK ops below).
      const out = backend.makeOutput(x.shape, 'float32');
      const x0 = f32(backend, x).byteOffset, size = x.shape.reduce((p, q) => p * q, 1);
      k.scaleShift(x0, x0 + size * 4, C * 4, f32(backend, av).byteOffset, f32(backend, bv).byteOffset, f32(backend, out).byteOffset);
      free(backend, av, bv);
      return out;
    }
    const xa = runWasm(backend, 'Multiply', { a: x, b: av });
    const out = runWasm(backend, 'Add', { a: xa, b: bv });
    free(backend, xa, av, bv);
    return out;
  };
}

/** Tile by repeated block copies (stock wasm Tile: ~29 ms to broadcast [1,1,1,64] to a 512K-element tensor). */
function tileOverride(orig: Orig): Orig {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return orig(args);
    const reps = (args.attrs ?? {}).reps as number[];
    const backend = asWasm(args.backend);
    const r = x.shape.length;
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(outShape, x.dtype);
    // Work in place in the output (large JS allocations cost ~2 ms each here): put x at the start, then expand one
    // axis at a time, innermost first, moving outer blocks back-to-front so nothing is overwritten before it moves.
    const Y = backend.typedArrayFromHeap(out) as Float32Array;
    Y.set(backend.typedArrayFromHeap(x) as Float32Array);
    const shape = x.shape.slice();
    for (let d = r - 1; d >= 0; d--) {
      const k = reps[d];
      if (k === 1) continue;
      const block = shape.slice(d).reduce((p, q) => p * q, 1);
      const outer = shape.slice(0, d).reduce((p, q) => p * q, 1);
      for (let o = outer - 1; o >= 0; o--) {
        const dst = o * block * k;
        if (dst !== o * block) Y.copyWithin(dst, o * block, (o + 1) * block);
        // Doubling copies: log2(k) calls per block.
        let filled = block;
        const total = block * k;
        while (filled < total) {
          const n = Math.min(filled, total - filled);
          Y.copyWithin(dst + filled, dst, dst + n);
          filled += n;
        }
      }
      shape[d] *= k;
    }
    return out;
  };
}

/**
 * Identity and same-dtype Cast without a copy: share the data and bump its reference count, as the cpu backend
 * does (wasm kernels never write into their inputs, so sharing is safe). Stock wasm copies the whole tensor; a
 * ResNet-8 step made ~60 such copies of full activations (layers' clone() calls, our onesLike paths).
 */
function shareOverride(orig: Orig, isCast: boolean): Orig {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const dtype = isCast ? ((args.attrs ?? {}).dtype as string) : x.dtype;
    if (x.dtype === 'string' || dtype !== x.dtype) return orig(args);
    (args.backend as { incRef(d: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Build the override configs from the currently registered wasm kernels. */
export function overrideConfigs(): KernelConfig[] {
  const out: KernelConfig[] = [];
  const wrap = (name: string, make: (orig: Orig) => Orig) => {
    const k = tf.getKernel(name, 'wasm');
    if (!k) return;
    const orig = k.kernelFunc as unknown as Orig;
    out.push({ kernelName: name, backendName: 'wasm', setupFunc: k.setupFunc, disposeFunc: k.disposeFunc, kernelFunc: make(orig) as unknown as KernelFunc });
  };
  wrap('BatchMatMul', matmulOverride);
  wrap('_FusedMatMul', matmulOverride);
  wrap('Sum', (o) => reduceOverride(o, false));
  wrap('Mean', (o) => reduceOverride(o, true));
  wrap('Fill', fillOverride);
  wrap('Tile', tileOverride);
  wrap('Identity', (o) => shareOverride(o, false));
  wrap('Cast', (o) => shareOverride(o, true));
  wrap('FusedBatchNorm', batchNormOverride);
  for (const op of ['Multiply', 'Add', 'Sub', 'RealDiv']) wrap(op, widenedBinaryOverride);
  const mp = tf.getKernel('MaxPoolGrad', 'wasm');
  out.push({ kernelName: 'MaxPoolGrad', backendName: 'wasm', setupFunc: mp?.setupFunc, kernelFunc: maxPoolGrad as unknown as KernelFunc });
  return out;
}
