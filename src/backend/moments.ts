/**
 * tf.moments over all axes but the last (every NHWC / dense BatchNormalization in training mode) as one op on wasm.
 *
 * Stock moments is mean → sub → square → mean, and its gradient walks the same chain backwards (mean grad broadcast,
 * square grad, sub grad with another reduction, mean grad broadcast again): ~10 full-size passes and ~20 kernel calls
 * per BatchNorm layer per step. Here the forward is one SIMD pass (TinylabMoments: shifted sums Σ(x−K), Σ(x−K)², K =
 * the first row, so no catastrophic cancellation; float64 totals), and the gradient, from the closed form
 *   ∂mean/∂x = 1/N,  ∂var/∂x = 2(x − mean)/N   →   dx = (x − mean)·(2·dVar/N) + dMean/N,
 * is one SIMD pass x·a + b with per-channel a, b (TinylabMomentsGrad).
 *
 * tfjs-layers calls `moments` through the tfjs-core module object at run time, so installMoments() swaps that export
 * for a wrapper that takes this path on wasm for float32 inputs reduced over all leading axes and calls the original
 * moments for everything else (other backends, other axes, other dtypes).
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32 } from './wasm-heap';
import { blockedColumnSums, simdKernels } from './simd';
import type { SimdKernels } from './simd';

export const MOMENTS = 'TinylabMoments';
export const MOMENTS_GRAD = 'TinylabMomentsGrad';

/** inputs {x} (float32, viewed as [rows, C], C = last axis, C % 4 = 0); outputs [mean [C], variance [C]]. */
export function momentsWasm(inputs: NamedTensorInfoMap, _attrs: unknown, b: unknown): TensorInfo[] {
  const backend = asWasm(b);
  const x = inputs.x as TensorInfo;
  const C = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((p, q) => p * q, 1) / C;
  const k = simdKernels(backend);
  if (!k || C % 4 !== 0 || rows < 1) throw new Error(`${MOMENTS}: needs SIMD and a last axis that is a multiple of 4`);
  const { mean, variance } = columnMoments(k, f32(backend, x).byteOffset, rows, C);
  const meanOut = backend.makeOutput([C], 'float32');
  const varOut = backend.makeOutput([C], 'float32');
  f32(backend, meanOut).set(mean);
  f32(backend, varOut).set(variance);
  return [meanOut, varOut];
}

/**
 * Mean and biased variance per column of the [rows, C] float32 matrix at heap byte offset x0, rounded to float32:
 * shifted sums Σ(x−K), Σ(x−K)² around K = the first row (no catastrophic cancellation when |mean| ≫ std), float64
 * totals. Shared by TinylabMoments and the fused dense-chain step, so both give BatchNorm the same statistics.
 */
export function columnMoments(k: SimdKernels, x0: number, rows: number, C: number): { mean: Float32Array; variance: Float32Array } {
  const shift = k.malloc(C * 4);
  try {
    const rowBytes = C * 4;
    new Float32Array(k.buffer(), shift, C).set(new Float32Array(k.buffer(), x0, C));
    const [s1, s2] = blockedColumnSums(k, rows, C, 2, (r0, r1, [a, q]) =>
      k.colSumSq(x0 + r0 * rowBytes, x0 + r1 * rowBytes, rowBytes, shift, a, q));
    const K = new Float32Array(k.buffer(), shift, C);
    const mean = new Float32Array(C), variance = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const d = s1[c] / rows;
      mean[c] = K[c] + d;
      variance[c] = Math.max(0, s2[c] / rows - d * d);
    }
    return { mean, variance };
  } finally {
    k.free(shift);
  }
}

/**
 * inputs {x, mean, dMean, dVar} (per-channel [C] or any shape of C elements), attrs {n}: the moments gradient
 * dx = x·a + b with a = 2·dVar/n, b = dMean/n − a·mean per channel (float64), in one SIMD pass.
 */
export function momentsGradWasm(inputs: NamedTensorInfoMap, attrs: { n?: unknown }, b: unknown): TensorInfo {
  const backend = asWasm(b);
  const x = inputs.x as TensorInfo;
  const C = x.shape[x.shape.length - 1];
  const n = attrs.n as number;
  const k = simdKernels(backend);
  if (!k || C % 4 !== 0) throw new Error(`${MOMENTS_GRAD}: needs SIMD and a last axis that is a multiple of 4`);
  const out = backend.makeOutput(x.shape, 'float32');
  const ab = k.malloc(2 * C * 4);
  try {
    const M = f32(backend, inputs.mean as TensorInfo), DM = f32(backend, inputs.dMean as TensorInfo);
    const DV = f32(backend, inputs.dVar as TensorInfo);
    const AB = new Float32Array(k.buffer(), ab, 2 * C);
    for (let c = 0; c < C; c++) {
      const a = (2 * DV[c]) / n;
      AB[c] = a;
      AB[C + c] = DM[c] / n - a * M[c];
    }
    const x0 = f32(backend, x).byteOffset, size = x.shape.reduce((p, q) => p * q, 1);
    k.scaleShift(x0, x0 + size * 4, C * 4, ab, ab + C * 4, f32(backend, out).byteOffset);
  } finally {
    k.free(ab);
  }
  return out;
}

type Moments = typeof tf.moments;

/** Can this call take the fused path? */
function fusable(x: tf.Tensor, axis: number | number[] | undefined): boolean {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(MOMENTS, 'wasm') || x.dtype !== 'float32' || x.rank < 2) return false;
  const C = x.shape[x.rank - 1];
  if (C % 4 !== 0 || x.size === 0) return false;
  if (!simdKernels(asWasm(tf.backend()))) return false;
  const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape).slice().sort((p, q) => p - q);
  return axes.length === x.rank - 1 && axes.every((a, i) => a === i);
}

function fusedMoments(x: tf.Tensor, keepDims: boolean): { mean: tf.Tensor; variance: tf.Tensor } {
  const C = x.shape[x.rank - 1];
  const [mean, variance] = tf.engine().runKernel(MOMENTS, { x }, {}) as tf.Tensor[];
  if (!keepDims) return { mean, variance };
  const shape = [...new Array<number>(x.rank - 1).fill(1), C];
  const out = { mean: tf.reshape(mean, shape), variance: tf.reshape(variance, shape) };
  tf.dispose([mean, variance]);
  return out;
}

/** Gradient of TinylabMoments (registered globally; the kernel only exists on wasm). */
export const momentsGradConfig: tf.GradConfig = {
  kernelName: MOMENTS,
  inputsToSave: ['x'],
  outputsToSave: [true, false],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [dMean, dVar] = dy as tf.Tensor[];
    const [x, mean] = saved;
    const C = x.shape[x.rank - 1];
    const n = x.size / C;
    return {
      x: () => {
        if (tf.getBackend() === 'wasm' && tf.getKernel(MOMENTS_GRAD, 'wasm')) {
          return tf.engine().runKernel(MOMENTS_GRAD, { x, mean, dMean, dVar }, { n }) as tf.Tensor;
        }
        const a = tf.mul(tf.reshape(dVar, [C]), 2 / n);
        const c = tf.div(tf.reshape(dMean, [C]), n);
        return tf.add(tf.mul(tf.sub(x, mean), a), c);
      },
    };
  },
};

let installed = false;

/** Route tfjs-core's `moments` (and so tfjs-layers' BatchNormalization) through the fused op where it applies. */
export function installMoments(): void {
  if (installed) return;
  // tfjs-core's CommonJS exports object: tfjs-layers and the tfjs union package read `moments` from it at call time.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const core = require('@tensorflow/tfjs-core') as { moments: Moments };
  const original = core.moments;
  const wrapped = ((x: tf.Tensor | tf.TensorLike, axis?: number | number[], keepDims = false) => {
    if (x instanceof tf.Tensor && fusable(x, axis)) return fusedMoments(x, keepDims);
    return original(x, axis, keepDims);
  }) as Moments;
  core.moments = wrapped;
  installed = true;
}
