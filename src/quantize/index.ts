/**
 * int8 post-training quantization.
 *
 *   const qm = quantizeModel(model, data, { method: 'mse', calibrationSize: 500 });   // data.train calibrates
 *   const e = evaluateQuantized(qm, data.test);        // float vs int8 (integer engine) accuracy
 *   const layers = layerErrors(qm, data.test);         // per-layer ranges and SQNR
 *   const r = await quantize(model, data, { method: 'mse', board: 'NUCLEO-F446RE' });  // all of it, displayable
 */
export * from './types';
export * from './fixedpoint';
export * from './deploy';
export * from './exec';
export * from './calibrate';
export * from './quantize';
export * from './engine';
export * from './evaluate';
export * from './report';
