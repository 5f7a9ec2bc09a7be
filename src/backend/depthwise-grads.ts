/**
 * Depthwise conv gradients for the WASM backend (missing upstream), NHWC, channel multiplier M, any stride, dilation,
 * padding. Depthwise work is memory-bound (KH·KW MACs per element), so tight JS loops over the WASM heap, contiguous
 * along channels, beat composing XNNPACK ops (which would need transposes of the whole activation).
 * The input gradient at stride 1 (any dilation) with M = 1 is a forward XNNPACK depthwise conv with the flipped filter.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { filterGradArgs, inputGradArgs, transposedPadding } from './conv-info';
import { f32, runWasm, free, zeros } from './wasm-heap';
import { blockedColumnSums, simdKernels } from './simd';

/**
 * Visit every (input pixel, output pixel, filter tap) triple of a depthwise conv that lies inside the image, as
 * flat offsets: xo into x [N, H, W, C], dyo into dy [N, OH, OW, C·M], wOff into the filter [KH, KW, C, M]. The
 * visitor runs the channel loop; the direct (general-case) filter and input gradients share this walk.
 */
function forEachWindowPair(c: backend_util.Conv2DInfo, M: number, visit: (xo: number, dyo: number, wOff: number) => void): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = c;
  const KH = c.filterHeight, KW = c.filterWidth, sh = c.strideHeight, sw = c.strideWidth;
  const dh = c.dilationHeight, dw = c.dilationWidth, pt = c.padInfo.top, pl = c.padInfo.left;
  const CM = C * M;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh + kh * dh - pt;
        if (ih < 0 || ih >= H) continue;
        const xrow = ((n * H + ih) * W) * C;
        const dyrow = ((n * OH + oh) * OW) * CM;
        for (let kw = 0; kw < KW; kw++) {
          const wOff = (kh * KW + kw) * CM;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * sw + kw * dw - pl;
            if (iw < 0 || iw >= W) continue;
            visit(xrow + iw * C, dyrow + ow * CM, wOff);
          }
        }
      }
    }
  }
}

/** DepthwiseConv2dNativeBackpropFilter: inputs {x, dy}, attrs {strides, dilations, pad, dimRoundingMode, filterShape}. */
export function depthwiseBackpropFilterWasm(inputs: NamedTensorInfoMap, attrs: NamedAttrMap, b: unknown): TensorInfo {
  const { backend, x, dy, filterShape, c } = filterGradArgs(inputs, attrs, b, true);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = c;
  const KH = c.filterHeight, KW = c.filterWidth, sh = c.strideHeight, sw = c.strideWidth;
  const dh = c.dilationHeight, dw = c.dilationWidth, pt = c.padInfo.top, pl = c.padInfo.left;
  const M = filterShape[3];
  const out = zeros(backend, filterShape);
  const X = f32(backend, x), DY = f32(backend, dy), DW = f32(backend, out);
  if (M === 1) {
    // Per filter tap: list the (x, dy) offsets of every valid output position, then accumulate four positions per
    // pass into a float64 per-channel accumulator (V8 runs this ~3x faster than one position per pass). Gathering
    // each tap's inputs and multiplying with XNNPACK, then summing rows, measured the same (memory-bound either way).
    const xs = new Int32Array(N * OH * OW), ds = new Int32Array(N * OH * OW);
    const acc = new Float64Array(C);
    // SIMD: the same per-tap (x, dy) offset lists, copied to the heap as byte offsets, then a 4-lane gather-dot loop
    // (float32 blocks flushed into float64). ~5x faster than the JS loop below at C = 64.
    const k = C % 4 === 0 ? simdKernels(backend) : null;
    const idx = k ? k.malloc(2 * 4 * N * OH * OW) : 0;
    const xBase = X.byteOffset, dyBase = DY.byteOffset;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        let cnt = 0;
        for (let n = 0; n < N; n++) {
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sh + kh * dh - pt;
            if (ih < 0 || ih >= H) continue;
            for (let ow = 0; ow < OW; ow++) {
              const iw = ow * sw + kw * dw - pl;
              if (iw < 0 || iw >= W) continue;
              xs[cnt] = ((n * H + ih) * W + iw) * C;
              ds[cnt++] = ((n * OH + oh) * OW + ow) * C;
            }
          }
        }
        if (k) {
          const I = new Int32Array(k.buffer(), idx, 2 * N * OH * OW);
          for (let q = 0; q < cnt; q++) {
            I[q] = xs[q] * 4;
            I[cnt + q] = ds[q] * 4;
          }
          const [sum] = blockedColumnSums(k, cnt, C, 1, (r0, r1, [a]) =>
            k.gatherDot(idx + r0 * 4, idx + (cnt + r0) * 4, r1 - r0, xBase, dyBase, C * 4, a));
          const dst = f32(backend, out), w = (kh * KW + kw) * C;
          for (let ch = 0; ch < C; ch++) dst[w + ch] = sum[ch];
          continue;
        }
        acc.fill(0);
        let i = 0;
        for (; i + 4 <= cnt; i += 4) {
          const x0 = xs[i], x1 = xs[i + 1], x2 = xs[i + 2], x3 = xs[i + 3];
          const d0 = ds[i], d1 = ds[i + 1], d2 = ds[i + 2], d3 = ds[i + 3];
          for (let ch = 0; ch < C; ch++) {
            acc[ch] += X[x0 + ch] * DY[d0 + ch] + X[x1 + ch] * DY[d1 + ch] + (X[x2 + ch] * DY[d2 + ch] + X[x3 + ch] * DY[d3 + ch]);
          }
        }
        for (; i < cnt; i++) {
          const x0 = xs[i], d0 = ds[i];
          for (let ch = 0; ch < C; ch++) acc[ch] += X[x0 + ch] * DY[d0 + ch];
        }
        const w = (kh * KW + kw) * C;
        for (let ch = 0; ch < C; ch++) DW[w + ch] = acc[ch];
      }
    }
    if (k) k.free(idx);
    return out;
  }
  // Channel multiplier > 1: direct loop.
  forEachWindowPair(c, M, (xo, dyo, wOff) => {
    for (let ch = 0; ch < C; ch++) {
      const xv = X[xo + ch];
      const base = ch * M;
      for (let m = 0; m < M; m++) DW[wOff + base + m] += xv * DY[dyo + base + m];
    }
  });
  return out;
}

/** DepthwiseConv2dNativeBackpropInput: inputs {dy, filter}, attrs {strides, dilations, pad, dimRoundingMode, inputShape}. */
export function depthwiseBackpropInputWasm(inputs: NamedTensorInfoMap, attrs: NamedAttrMap, b: unknown): TensorInfo {
  const { backend, dy, filter, inputShape, c } = inputGradArgs(inputs, attrs, b, true);
  const C = c.inChannels, KH = c.filterHeight, KW = c.filterWidth;
  const M = filter.shape[3];

  if (M === 1 && c.strideHeight === 1 && c.strideWidth === 1) {
    const tp = transposedPadding(c);
    if (tp) {
      const [padT, padB, padL, padR] = tp;
      const wf = backend.makeOutput([KH, KW, C, 1], 'float32');
      const src = f32(backend, filter), dst = f32(backend, wf);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const s = (kh * KW + kw) * C, d = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * C;
          for (let ch = 0; ch < C; ch++) dst[d + ch] = src[s + ch];
        }
      }
      const out = runWasm(
        backend,
        'DepthwiseConv2dNative',
        { x: dy, filter: wf },
        {
          strides: [1, 1],
          dilations: [c.dilationHeight, c.dilationWidth],
          pad: [[0, 0], [padT, padB], [padL, padR], [0, 0]],
          dimRoundingMode: undefined,
        } as unknown as NamedAttrMap,
      );
      free(backend, wf);
      return out;
    }
  }

  const dx = zeros(backend, inputShape);
  const DX = f32(backend, dx), DY = f32(backend, dy), F = f32(backend, filter);
  forEachWindowPair(c, M, (xo, dyo, wOff) => {
    if (M === 1) {
      for (let ch = 0; ch < C; ch++) DX[xo + ch] += DY[dyo + ch] * F[wOff + ch];
    } else {
      for (let ch = 0; ch < C; ch++) {
        const base = ch * M;
        let acc = 0;
        for (let m = 0; m < M; m++) acc += DY[dyo + base + m] * F[wOff + base + m];
        DX[xo + ch] += acc;
      }
    }
  });
  return dx;
}
