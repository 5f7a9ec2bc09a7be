/**
 * Export: ONNX (float32 and int8 QDQ), tfjs layers format, and the quantized graph as JSON for the C generator.
 *
 *   fs.writeFileSync('m.onnx', toOnnxFloat(deployModel(model)));
 *   fs.writeFileSync('m.int8.onnx', toOnnxQdq(quantizeModel(model, data, { method: 'mse' })));
 *   await exportModel(model, 'out/m', { format: 'all', data });   // every format at once
 */
export * from './onnx';
export * from './qjson';
export * from './tfjs';
export * from './files';
