/**
 * TinylabBatchNormGradSums (wasm only): the two per-channel sums the whole FusedBatchNorm gradient needs,
 *   out[0, c] = Σ dy[…, c]        out[1, c] = Σ dy[…, c]·(x[…, c] − mean[c])
 * in one pass over dy and x (float64 accumulators). The composed gradient needs ~11 full-size passes (sub, six
 * multiplies, four reductions) for the same five results; see batchnorm-grad.ts for how they are assembled.
 */
import type { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32 } from './wasm-heap';

export const BATCHNORM_GRAD_SUMS = 'TinylabBatchNormGradSums';

export function batchNormGradSumsWasm(inputs: NamedTensorInfoMap, _attrs: unknown, b: unknown): TensorInfo {
  const backend = asWasm(b);
  const dy = inputs.dy as TensorInfo, x = inputs.x as TensorInfo, mean = inputs.mean as TensorInfo;
  const C = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((p, q) => p * q, 1) / C;
  const out = backend.makeOutput([2, C], 'float32');
  const G = f32(backend, dy), X = f32(backend, x), M = f32(backend, mean), O = f32(backend, out);
  const sg = new Float64Array(C), sgx = new Float64Array(C);
  // Σ dy·x first, then subtract mean·Σ dy per channel: one multiply-add per element instead of a subtract too.
  // Two rows per pass halves the accumulator loads/stores (V8 keeps them in memory, not registers).
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const o = r * C, o2 = o + C;
    for (let c = 0; c < C; c++) {
      const g0 = G[o + c], g1 = G[o2 + c];
      sg[c] += g0 + g1;
      sgx[c] += g0 * X[o + c] + g1 * X[o2 + c];
    }
  }
  for (; r < rows; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      sg[c] += G[o + c];
      sgx[c] += G[o + c] * X[o + c];
    }
  }
  for (let c = 0; c < C; c++) {
    O[c] = sg[c];
    O[C + c] = sgx[c] - M[c] * sg[c];
  }
  return out;
}
