/**
 * FusedBatchNorm, Sum and Mean gradients, the same maths as tfjs-core's with fewer full-size passes (registered
 * globally: the gradient registry is not per backend, and these are exact everywhere).
 *  - FusedBatchNorm: `tile(reshape(rsqrt(var+eps)), …)` becomes a broadcasting multiply (WASM Tile was ~35 % of a
 *    DS-CNN step); on wasm the whole gradient is two kernel calls (per-channel gradients from one fused two-sum pass,
 *    dx in one SIMD pass; batchnorm-stats.ts), else (C not a multiple of 4) the per-channel sums are fused.
 *  - Sum/Mean: broadcast dy instead of multiplying it by a full-size ones tensor.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import { BATCHNORM_GRAD_PARAMS, BATCHNORM_GRAD_SUMS, BATCHNORM_GRAD_X } from './batchnorm-stats';
import { simdKernels } from './simd';
import { asWasm } from './wasm-heap';

function reductionAxes(meanShape: number[], xShape: number[]): number[] {
  // Axes of x the (broadcast) mean does not have: for rank-1 mean over NHWC, all but the last.
  const axes: number[] = [];
  const off = xShape.length - meanShape.length;
  for (let i = 0; i < xShape.length; i++) {
    const m = i - off < 0 ? 1 : meanShape[i - off];
    if (m === 1 && xShape[i] !== 1) axes.push(i);
  }
  return axes;
}

/** Is mean (and so variance) one value per channel of the last axis of x, as in every NHWC / dense BatchNorm? */
function perLastAxis(meanShape: number[], xShape: number[]): boolean {
  const C = xShape[xShape.length - 1];
  return meanShape.length > 0 && meanShape[meanShape.length - 1] === C && meanShape.reduce((p, q) => p * q, 1) === C;
}

export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = dy as Tensor;
    const varianceEpsilon = attrs.varianceEpsilon as number;
    const [x, mean, variance, scale] = saved;
    const C = x.shape[x.shape.length - 1];
    if (
      tf.getBackend() === 'wasm' && tf.getKernel(BATCHNORM_GRAD_PARAMS, 'wasm') && tf.getKernel(BATCHNORM_GRAD_X, 'wasm') &&
      x.dtype === 'float32' && g.dtype === 'float32' && C % 4 === 0 && perLastAxis(mean.shape, x.shape) &&
      variance.size === C && (scale == null || scale.size === C) && simdKernels(asWasm(tf.backend())) !== null
    ) {
      // Two kernel calls for the whole gradient: the four per-channel gradients from one fused pass
      // (TinylabBatchNormGradParams), and dx = dy·rstd·scale in one SIMD pass (TinylabBatchNormGradX).
      const inputs: Record<string, Tensor> = { dy: g, x, mean, variance };
      if (scale != null) inputs.scale = scale;
      const params = tf.engine().runKernel(BATCHNORM_GRAD_PARAMS, inputs, { varianceEpsilon }) as Tensor;
      const [dMean, dVar, dScale, dOffset] = tf.unstack(params);
      const gx: Record<string, Tensor> = { dy: g, variance };
      if (scale != null) gx.scale = scale;
      return {
        x: () => tf.reshape(tf.engine().runKernel(BATCHNORM_GRAD_X, gx, { varianceEpsilon }) as Tensor, x.shape),
        mean: () => tf.reshape(dMean, mean.shape),
        variance: () => tf.reshape(dVar, mean.shape),
        scale: () => tf.reshape(dScale, mean.shape),
        offset: () => tf.reshape(dOffset, mean.shape),
      };
    }
    const scaleValue: Tensor = scale == null ? tf.scalar(1) : scale;
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
    if (
      tf.getBackend() === 'wasm' && tf.getKernel(BATCHNORM_GRAD_SUMS, 'wasm') &&
      x.dtype === 'float32' && g.dtype === 'float32' && perLastAxis(mean.shape, x.shape)
    ) {
      // Every gradient but x's is a per-channel combination of Σdy and Σdy·(x − mean): one fused pass computes
      // both (see batchnorm-stats.ts), so only dx = dy·rstd·scale touches full-size data again.
      const sums = tf.engine().runKernel(BATCHNORM_GRAD_SUMS, { dy: g, x, mean }, {}) as Tensor;
      const [sumDy, sumDyXc] = tf.unstack(sums);
      const perChannel = (t: Tensor) => tf.reshape(t, mean.shape);
      return {
        x: () => tf.reshape(tf.mul(g, tf.mul(rstd, scaleValue)), x.shape),
        mean: () => perChannel(tf.mul(tf.neg(tf.mul(rstd, scaleValue)), perChannel(sumDy))),
        variance: () => perChannel(tf.mul(tf.mul(minusHalfRCube, scaleValue), perChannel(sumDyXc))),
        scale: () => perChannel(tf.mul(rstd, perChannel(sumDyXc))),
        offset: () => perChannel(sumDy),
      };
    }
    const axes = reductionAxes(mean.shape, x.shape);
    const reduce = (t: Tensor): Tensor => (axes.length ? tf.sum(t, axes) : t);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(g, scaleValue);
    return {
      x: () => tf.reshape(tf.mul(g, tf.mul(rstd, scaleValue)), x.shape),
      mean: () => tf.reshape(reduce(tf.mul(tf.neg(rstd), dyTimesScale)), mean.shape),
      variance: () => tf.reshape(reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)), mean.shape),
      scale: () => tf.reshape(reduce(tf.mul(g, tf.mul(xMinusMean, rstd))), mean.shape),
      offset: () => tf.reshape(reduce(g), mean.shape),
    };
  },
};

/**
 * Sum and Mean gradients: tfjs-core multiplies dy by `ones(x.shape)` (a full-size JS array filled on every call,
 * ~3 ms for a DS-CNN activation) and, for Mean, divides the full-size product. Broadcasting the (small) dy — divided
 * first for Mean — writes the same values in one pass (Tile on wasm is block copies). Same values bit for bit:
 * dy·1 = dy, and (dy·1)/n = dy/n.
 */
function broadcastDy(dy: Tensor, x: Tensor, axisAttr: unknown): Tensor {
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  const g = dy.dtype === 'float32' ? dy : tf.cast(dy, 'float32');
  return tf.broadcastTo(tf.reshape(g, shape), x.shape);
}

export const sumGradConfig: GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    return { x: () => broadcastDy(dy as Tensor, x, attrs.axis) };
  },
};

export const meanGradConfig: GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    const g = (dy as Tensor).dtype === 'float32' ? (dy as Tensor) : tf.cast(dy as Tensor, 'float32');
    return { x: () => broadcastDy(tf.div(g, reduceSize), x, attrs.axis) };
  },
};
