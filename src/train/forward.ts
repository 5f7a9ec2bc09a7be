/**
 * Forward passes that also expose the pre-softmax logits. Builders end in Dense(numClasses, softmax); for such a
 * model (or one ending in an Activation('softmax') layer) the logits are computed exactly from the last layer's
 * input, so cross-entropy is evaluated stably on logits and distillation gets true logits. Other models fall back
 * to their plain output (logits = null).
 */
import * as tf from '@tensorflow/tfjs';
import { Dataset } from '../data/types';
import { InputError } from '../common/errors';

interface Head {
  /** Model from the inputs to the last layer's input. */
  features: tf.LayersModel;
  /** Dense softmax head: kernel and optional bias variables. Absent for an Activation('softmax') last layer. */
  dense?: { kernel: tf.LayerVariable; bias?: tf.LayerVariable };
}

const heads = new WeakMap<tf.LayersModel, Head | null>();

function softmaxHead(model: tf.LayersModel): Head | null {
  if (heads.has(model)) return heads.get(model) ?? null;
  let head: Head | null = null;
  const last = model.layers[model.layers.length - 1];
  const cfg = last?.getConfig() ?? {};
  const input = last?.input;
  const isSoftmax = cfg.activation === 'softmax';
  if (last && isSoftmax && !Array.isArray(input) && model.outputs.length === 1 && model.outputs[0] === last.output) {
    if (last.getClassName() === 'Dense' && input.shape.length === 2) {
      const w = last.weights;
      const features = tf.model({ inputs: model.inputs, outputs: input, name: `${model.name}_features` });
      head = { features, dense: { kernel: w[0], bias: w[1] } };
    } else if (last.getClassName() === 'Activation') {
      head = { features: tf.model({ inputs: model.inputs, outputs: input, name: `${model.name}_features` }) };
    }
  }
  heads.set(model, head);
  return head;
}

export interface ForwardResult {
  /** The model's output (probabilities for classifiers). */
  output: tf.Tensor;
  /** Pre-softmax logits, or null when the model's last layer is not a softmax we can see through. */
  logits: tf.Tensor | null;
}

/** One forward pass; with training=true dropout is active and BatchNorm uses (and updates) batch statistics. */
export function forward(model: tf.LayersModel, x: tf.Tensor, training: boolean): ForwardResult {
  const head = softmaxHead(model);
  if (!head) return { output: model.apply(x, { training }) as tf.Tensor, logits: null };
  const feats = head.features.apply(x, { training }) as tf.Tensor;
  let logits = feats;
  if (head.dense) {
    logits = tf.matMul(feats, head.dense.kernel.read());
    if (head.dense.bias) logits = tf.add(logits, head.dense.bias.read());
  }
  return { output: tf.softmax(logits), logits };
}

/** Does this model have a softmax head whose logits we can compute exactly? */
export function hasLogits(model: tf.LayersModel): boolean {
  return softmaxHead(model) !== null;
}

export function checkInputShape(model: tf.LayersModel, d: Dataset): void {
  const want = model.inputs[0].shape.slice(1);
  const ok = want.length === d.sampleShape.length && want.every((w, i) => w === null || w === d.sampleShape[i]);
  if (!ok) {
    throw new InputError(
      `data '${d.name}' has samples of shape [${d.sampleShape}] but model '${model.name}' takes [${want}]; ` +
        `rebuild the model with inputShape: [${d.sampleShape}]`,
    );
  }
}

export function outputSize(model: tf.LayersModel): number {
  return model.outputs[0].shape.slice(1).reduce((a: number, b) => a * (b ?? 1), 1);
}
