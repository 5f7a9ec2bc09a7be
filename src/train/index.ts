/**
 * Training engine.
 *
 *   const info = await initBackend();                 // src/backend: tfjs-node > wasm (+ our kernels) > cpu
 *   const data = loadMnist({ size: 28, seed: 1 });     // src/data: DataSplits {train, val, test}
 *   const model = buildCnn({ inputShape: [28, 28, 1], numClasses: 10, filters: 16, depth: 2, seed: 1 });
 *   const r = await train(model, data, { epochs: 5, batchSize: 64, optimizer: 'adam', learningRate: 2e-3,
 *                                        schedule: 'cosine', earlyStopping: { patience: 3 }, seed: 1,
 *                                        signal, onProgress });
 *   const e = evaluate(model, data.test);              // {accuracy, loss, perClass, confusion}
 *   const logits = predictLogits(model, data.test);    // Float32Array [n, classes], exact pre-softmax logits
 *   await saveModel(model, 'mnist-cnn');               // experiments/mnist-cnn/{model.json, weights.bin}
 *
 * Reusing the loop (distillation, pruning fine-tunes):
 *  - `loss: (ctx: LossContext) => tf.Scalar` replaces the loss; ctx has x, labels, yTrue (one-hot), yPred
 *    (probabilities), logits (pre-softmax, when the model ends in a softmax Dense), indices (batch sample indices
 *    into data.train), epoch, batch. It runs inside the gradient tape: build the scalar from ctx tensors; teacher
 *    forward passes may be computed inside it (wrap teacher calls so they do not require gradients: the teacher's
 *    variables are not in the trained list, so they are not updated).
 *  - `customStep(ctx) => number` replaces forward+loss+update for a batch (ctx: model, optimizer, variables, x,
 *    labels, yTrue, indices, epoch, batch); return the batch loss.
 *  - Pruning masks: pass a customStep that calls the default-like minimize and re-applies masks after it, or call
 *    train() with `epochs: 1` repeatedly.
 * Conventions: every call leaves tf.memory().numTensors unchanged (the optimizer it creates is disposed; pass your own
 * tf.Optimizer to keep its state). Abort (signal) stops at the next batch and returns stopReason 'aborted' with the
 * best weights so far restored.
 */
export * from './loop';
export * from './evaluate';
export * from './forward';
export * from './schedule';
export * from './io';
export { FusedAdamOptimizer, fusedAdam } from './adam';
export { recogniseDenseChain, denseChainStepsRun } from './dense-chain';
