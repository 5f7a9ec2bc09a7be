/**
 * The knowledge-distillation loss (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network"):
 *
 *   L = alpha · CE(y, softmax(s)) + (1 − alpha) · T² · CE(softmax(t / T), softmax(s / T))
 *
 * on student logits s, teacher logits t, one-hot labels y and temperature T, averaged over the batch.
 *
 * Why T²: the gradient of the soft term with respect to a student logit is (softmax(s/T) − softmax(t/T)) / T, and
 * for large T that difference itself shrinks like 1/T (both softmaxes flatten towards uniform), so the soft
 * gradients scale as 1/T². Multiplying by T² keeps their magnitude roughly independent of T, so changing the
 * temperature does not silently re-weight the hard and soft terms and alpha keeps its meaning.
 *
 * The soft term is the cross-entropy, not the KL divergence: they differ by the teacher's entropy, a constant for
 * the student, so gradients are identical; the reported loss value is the cross-entropy (what the issue specifies).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';

export interface DistillLossOptions {
  /** Softmax temperature T (> 0). Higher spreads the teacher's probability over the wrong classes ("dark knowledge"). */
  temperature: number;
  /** Weight of the hard-label cross-entropy, in [0, 1]; 1 − alpha goes to the soft (teacher) term. */
  alpha: number;
}

export function checkDistillOptions(o: DistillLossOptions): void {
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) {
    throw new InputError(`temperature must be a positive number (got ${o.temperature}); typical values are 2–8`);
  }
  if (!(o.alpha >= 0 && o.alpha <= 1)) {
    throw new InputError(`alpha must be in [0, 1] (got ${o.alpha}); it is the weight of the hard-label loss, e.g. 0.3`);
  }
}

/**
 * The distillation loss as a tf scalar (differentiable in `studentLogits`).
 * @param yTrue one-hot labels [b, classes]
 * @param studentLogits [b, classes] pre-softmax
 * @param teacherLogits [b, classes] pre-softmax (treated as constants)
 */
export function distillationLoss(
  yTrue: tf.Tensor,
  studentLogits: tf.Tensor,
  teacherLogits: tf.Tensor,
  opts: DistillLossOptions,
): tf.Scalar {
  checkDistillOptions(opts);
  if (studentLogits.shape.length !== 2 || teacherLogits.shape.length !== 2) {
    throw new InputError(`distillation needs [batch, classes] logits; got student [${studentLogits.shape}] and teacher [${teacherLogits.shape}]`);
  }
  if (studentLogits.shape[1] !== teacherLogits.shape[1]) {
    throw new InputError(
      `teacher has ${teacherLogits.shape[1]} classes but the student has ${studentLogits.shape[1]}: build the student with the teacher's numClasses`,
    );
  }
  const { temperature: T, alpha } = opts;
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    if (alpha > 0) {
      terms.push(tf.mul(alpha, tf.losses.softmaxCrossEntropy(yTrue, studentLogits)) as tf.Scalar);
    }
    if (alpha < 1) {
      const soft = tf.softmax(tf.div(teacherLogits, T));
      // -Σ p_t · log softmax(s/T), mean over the batch.
      const ce = tf.mean(tf.neg(tf.sum(tf.mul(soft, tf.logSoftmax(tf.div(studentLogits, T))), -1)));
      terms.push(tf.mul((1 - alpha) * T * T, ce) as tf.Scalar);
    }
    return (terms.length === 1 ? terms[0] : tf.add(terms[0], terms[1])) as tf.Scalar;
  });
}
