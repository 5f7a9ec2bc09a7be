/**
 * FusedBatchNorm gradient, the same maths as tfjs-core's, with `tile(reshape(rsqrt(var+eps)), …)` replaced by a
 * broadcasting multiply. On WASM, Tile is a slow generic loop and was ~35 % of a DS-CNN training step; Mul broadcasts
 * natively (XNNPACK). Exact on every backend, so it is registered globally.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

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

export const fusedBatchNormGradConfig: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = dy as Tensor;
    const varianceEpsilon = attrs.varianceEpsilon as number;
    const [x, mean, variance, scale] = saved;
    const scaleValue: Tensor = scale == null ? tf.scalar(1) : scale;
    const axes = reductionAxes(mean.shape, x.shape);
    const reduce = (t: Tensor): Tensor => (axes.length ? tf.sum(t, axes) : t);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(g, scaleValue);
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
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
 * Sum and Mean gradients: tfjs-core multiplies dy by `ones(x.shape)`, which allocates and fills a JS array of the
 * full size on every call (~3 ms for a DS-CNN activation). `onesLike(x)` makes the same ones inside the backend.
 */
function onesF32(x: Tensor): Tensor {
  return x.dtype === 'float32' ? tf.onesLike(x) : tf.onesLike(x).asType('float32');
}

function expandedDy(dy: Tensor, x: Tensor, axisAttr: unknown): Tensor {
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}

export const sumGradConfig: GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    return { x: () => tf.mul(expandedDy(dy as Tensor, x, attrs.axis), onesF32(x)) };
  },
};

export const meanGradConfig: GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    return {
      x: () => tf.div(tf.mul(expandedDy(dy as Tensor, x, attrs.axis), onesF32(x)), reduceSize),
    };
  },
};
