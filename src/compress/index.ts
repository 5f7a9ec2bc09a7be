/**
 * Compression: projection pruning (PCA of layer inputs), magnitude pruning with a sparsity schedule, structured
 * filter pruning by L1 norm, and the comparison report (params, MACs, int8 flash, accuracy).
 *
 *   const p = await projectModel(model, data.train, { reduction: 0.6 });   // or { variance: 0.95 }
 *   projectionTable(p).text;                                               // per layer: k, explained variance, params
 *   await train(p.model, data, { epochs: 2, learningRate: 5e-4 });         // fine-tune: a normal tf.LayersModel
 *   const r = await projectAndFineTune(model, data, { reduction: 0.6, finetuneEpochs: 2 });  // all of it + table
 *
 *   const m = await magnitudePrune(model, data, { sparsity: 0.5, epochs: 2 });  // TF-MOT polynomial schedule
 *   const f = pruneFilters(model, { fraction: 0.3 });                          // removes filters, shrinks next layers
 *   comparisonTable([compressionRow('original', model, data.test), ...]).text;
 *
 * Every function leaves the input model unchanged and returns a new model; the caller disposes it.
 * Only structured pruning and projection lower MCU flash and latency with dense int8 kernels; magnitude pruning
 * leaves zeros the runtimes store and multiply (see magnitude.ts).
 */
export * from './stats';
export * from './rebuild';
export * from './project';
export * from './structured';
export * from './magnitude';
export * from './report';
export * from './workflow';
