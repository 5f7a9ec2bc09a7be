/**
 * Adam with a fused per-variable update on the WASM backend (TinylabAdamUpdate, src/backend/adam-update.ts): one
 * kernel call per variable instead of ~12 ops. Same state, serialization and numbers as tf.train.adam (it *is* an
 * AdamOptimizer: class name 'Adam', same m/v slots, getWeights/setWeights); on other backends, or when a gradient is
 * not float32, it runs the stock update.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE } from '../backend/adam-update';

/** AdamOptimizer's private state (declared private in tfjs' typings; we keep exactly its layout so its own methods work). */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const list: Array<{ name: string; tensor: tf.Tensor | undefined }> = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] as tf.Tensor | undefined }));
    const fused =
      tf.getBackend() === 'wasm' &&
      tf.getKernel(ADAM_UPDATE, 'wasm') !== undefined &&
      list.every(({ name, tensor }) => !tensor || (tensor.dtype === 'float32' && tf.engine().registeredVariables[name]?.dtype === 'float32'));
    if (!fused) {
      super.applyGradients(variableGradients);
      return;
    }
    const s = this as unknown as AdamState;
    // f32 reads of the two scalars (cheap synchronous reads on wasm); 1 − βᵗ as tfjs computes it: a float32 subtraction.
    const acc1 = s.accBeta1.dataSync()[0], acc2 = s.accBeta2.dataSync()[0];
    const attrs = {
      beta1: this.beta1,
      beta2: this.beta2,
      oneMinusAccBeta1: Math.fround(1 - acc1),
      oneMinusAccBeta2: Math.fround(1 - acc2),
      epsilon: this.epsilon,
      learningRate: this.learningRate,
    };
    tf.tidy(() => {
      list.forEach(({ name, tensor: g }, i) => {
        const value = tf.engine().registeredVariables[name];
        // Slots are created lazily exactly as the stock optimizer does (same names, order and trainable=false).
        s.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        s.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        if (g == null) return;
        const m = s.accumulatedFirstMoment[i]!.variable, v = s.accumulatedSecondMoment[i]!.variable;
        const [w1, m1, v1] = tf.engine().runKernel(ADAM_UPDATE, { w: value, g, m, v }, attrs) as tf.Tensor[];
        m.assign(m1);
        v.assign(v1);
        value.assign(w1);
      });
      // accBeta ← accBeta·β as a float32 multiply, like the stock optimizer.
      s.accBeta1.assign(tf.scalar(Math.fround(acc1 * Math.fround(this.beta1))));
      s.accBeta2.assign(tf.scalar(Math.fround(acc2 * Math.fround(this.beta2))));
    });
    this.incrementIterations();
  }
}

/** tf.train.adam's signature, fused on wasm. */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
