/**
 * ReLU gradient in one kernel on wasm. tfjs' gradient is mul(dy, cast(step(x))): three kernel calls and two
 * full-size temporaries per ReLU layer per step; TinylabReluGrad is one SIMD pass (out = x > 0 ? dy : 0, the same
 * values: step(0) = 0). Registered globally (the gradient registry is not per backend): other backends, other dtypes
 * and sizes that are not a multiple of 4 keep the stock formula. (Stock propagates NaN from x; this gives 0 there.)
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedTensorInfoMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32 } from './wasm-heap';
import { simdKernels } from './simd';

export const RELU_GRAD = 'TinylabReluGrad';

export function reluGradWasm(inputs: NamedTensorInfoMap, _attrs: unknown, b: unknown): TensorInfo {
  const backend = asWasm(b);
  const dy = inputs.dy as TensorInfo, x = inputs.x as TensorInfo;
  const n = dy.shape.reduce((p, q) => p * q, 1);
  const k = simdKernels(backend);
  if (!k || n % 4 !== 0) throw new Error(`${RELU_GRAD}: needs SIMD and a size that is a multiple of 4`);
  const out = backend.makeOutput(dy.shape, 'float32');
  const d0 = f32(backend, dy).byteOffset;
  k.reluGrad(d0, f32(backend, x).byteOffset, d0 + n * 4, f32(backend, out).byteOffset);
  return out;
}

export const reluGradConfig: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    const g = dy as Tensor;
    if (
      tf.getBackend() === 'wasm' && tf.getKernel(RELU_GRAD, 'wasm') && g.dtype === 'float32' && x.dtype === 'float32' &&
      g.size % 4 === 0 && g.size === x.size && simdKernels(asWasm(tf.backend()))
    ) {
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }, {}) as Tensor };
    }
    return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
  },
};
