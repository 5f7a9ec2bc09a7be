// Regenerates notebooks/assets/ds-cnn-kws.onnx (committed; this documents it): `npm run build && node notebooks/assets/make-ds-cnn-kws.mjs`.
// The MLPerf Tiny keyword-spotting DS-CNN (49×10 MFCC input, 64 channels, 4 depthwise-separable blocks, 12 classes),
// built with tinylab's buildDsCnn in TensorFlow.js and written by tinylab's own float ONNX exporter. The weights are the
// seeded initial ones (untrained): notebook 03 prices the architecture, which does not depend on the weight values.
import { createRequire } from 'module';
import * as path from 'path';
import { fileURLToPath } from 'url';

const require = createRequire(import.meta.url);
const dir = path.dirname(fileURLToPath(import.meta.url));
const t = require(path.join(dir, '..', '..', 'dist', 'src', 'index.js'));
await t.initBackend();
const model = t.buildDsCnn({ inputShape: [49, 10, 1], numClasses: 12, filters: 64, blocks: 4, seed: 1 });
const files = await t.exportModel(model, path.join(dir, 'ds-cnn-kws'), {
  formats: ['onnx'],
  description: 'MLPerf Tiny keyword-spotting DS-CNN (untrained, seeded weights), exported by tinylab',
});
console.log(files.map((f) => `${f.path}: ${f.bytes} bytes`).join('\n'));
