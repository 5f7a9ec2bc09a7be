/**
 * Skipping the gradient with respect to the model input.
 *
 * tfjs-layers runs Conv2D and Dense through tf.fused.conv2d / tf.fused.matMul, whose customGrad computes the gradients
 * of *all* inputs eagerly, so the first layer's dx (w.r.t. the data batch, which nobody needs) is computed on every
 * step. For ResNet-8 that is a 16→3-channel convolution XNNPACK handles badly (it was the single slowest kernel of the
 * step); for MNIST's first conv and the autoencoder's first Dense it is smaller but still wasted.
 *
 * The training loop (src/train/loop.ts) declares, for the duration of one minimize() call, "the input gradient of
 * the layer whose weight has this dataId, for an input of this shape, is unused". Conv2DBackpropInput and the
 * transposed-B MatMul (Dense dx = dy·Wᵀ) check that declaration and return zeros without computing anything. The
 * weight is matched by data identity: the gradient function receives the variable's own data (saved by a zero-copy
 * clone/reshape), which changes every step as the optimizer assigns new values, so a stale declaration never matches.
 */
import type { TensorInfo } from '@tensorflow/tfjs';

interface Entry {
  dataId: object;
  inputShape: number[];
}

let active: Entry[] = [];
let skipped = 0;

/** Run fn with these input gradients declared unused (not re-entrant: nested calls replace the declaration). */
export function withUnusedInputGradients<T>(entries: Entry[], fn: () => T): T {
  const prev = active;
  active = entries;
  try {
    return fn();
  } finally {
    active = prev;
  }
}

const size = (s: number[]) => s.reduce((p, q) => p * q, 1);

/**
 * Is the gradient w.r.t. an input of `inputShape` of the layer with weight `weight` declared unused? Shapes match by
 * size and last axis (the Dense gradient sees the batch as [1, b, k] where the layer saw [b, k]).
 */
export function inputGradUnused(weight: TensorInfo, inputShape: number[]): boolean {
  if (active.length === 0) return false;
  for (const e of active) {
    if (e.dataId === weight.dataId && size(e.inputShape) === size(inputShape) && e.inputShape[e.inputShape.length - 1] === inputShape[inputShape.length - 1]) {
      skipped++;
      return true;
    }
  }
  return false;
}

/** How many input-gradient computations were skipped so far (tests, benchmarks). */
export function skippedInputGradients(): number {
  return skipped;
}
