/**
 * TinylabBatchNormGradSums (wasm only): the two per-channel sums the whole FusedBatchNorm gradient needs,
 *   out[0, c] = Σ dy[…, c]        out[1, c] = Σ dy[…, c]·(x[…, c] − mean[c])
 * in one pass over dy and x (float64 accumulators). The composed gradient needs ~11 full-size passes (sub, six
 * multiplies, four reductions) for the same five results; see batchnorm-grad.ts for how they are assembled.
 */
import type { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32 } from './wasm-heap';
import { blockedColumnSums, simdKernels } from './simd';

export const BATCHNORM_GRAD_SUMS = 'TinylabBatchNormGradSums';

export function batchNormGradSumsWasm(inputs: NamedTensorInfoMap, _attrs: unknown, b: unknown): TensorInfo {
  // (Also the first step of TinylabBatchNormGradParams below.)
  const backend = asWasm(b);
  const dy = inputs.dy as TensorInfo, x = inputs.x as TensorInfo, mean = inputs.mean as TensorInfo;
  const C = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((p, q) => p * q, 1) / C;
  const out = backend.makeOutput([2, C], 'float32');
  const k = simdKernels(backend);
  if (k && C % 4 === 0) {
    // SIMD pass (float32 blocks of rows flushed into float64), ~4x faster than the JS loop below.
    const g0 = f32(backend, dy).byteOffset, x0 = f32(backend, x).byteOffset, rowBytes = C * 4;
    const [sg, sgx] = blockedColumnSums(k, rows, C, 2, (r0, r1, [a, d]) =>
      k.colSumDot(g0 + r0 * rowBytes, x0 + r0 * rowBytes, g0 + r1 * rowBytes, rowBytes, a, d));
    const M = f32(backend, mean), O = f32(backend, out);
    for (let c = 0; c < C; c++) {
      O[c] = sg[c];
      O[C + c] = sgx[c] - M[c] * sg[c];
    }
    return out;
  }
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

export const BATCHNORM_GRAD_PARAMS = 'TinylabBatchNormGradParams';
export const BATCHNORM_GRAD_X = 'TinylabBatchNormGradX';

/** Per-channel float32 view of an optional [C]-sized tensor (scale), or null. */
function perChannel(backend: ReturnType<typeof asWasm>, t: TensorInfo | undefined): Float32Array | null {
  return t ? f32(backend, t) : null;
}

/**
 * TinylabBatchNormGradParams (wasm): the four per-channel gradients of FusedBatchNorm in one kernel call,
 *   rows [dMean, dVariance, dScale, dOffset] of a [4, C] output, with rstd = 1/√(var + ε), s = scale (or 1):
 *   dMean = −rstd·s·Σdy,  dVariance = −½·rstd³·s·Σdy(x−mean),  dScale = rstd·Σdy(x−mean),  dOffset = Σdy
 * (the same formulas as tfjs' gradient, in float64). Replaces ~15 small per-channel ops per BatchNorm layer, whose
 * engine overhead dominated on the dense autoencoder. inputs {dy, x, mean, variance[, scale]}, attrs {varianceEpsilon}.
 */
export function batchNormGradParamsWasm(inputs: NamedTensorInfoMap, attrs: { varianceEpsilon?: unknown }, b: unknown): TensorInfo {
  const backend = asWasm(b);
  const sums = batchNormGradSumsWasm(inputs, attrs, b); // [2, C]: Σdy, Σdy·(x − mean)
  const C = sums.shape[1];
  const out = backend.makeOutput([4, C], 'float32');
  const S = f32(backend, sums), O = f32(backend, out), V = f32(backend, inputs.variance as TensorInfo);
  const G = perChannel(backend, inputs.scale as TensorInfo | undefined);
  const eps = attrs.varianceEpsilon as number;
  for (let c = 0; c < C; c++) {
    const rstd = 1 / Math.sqrt(V[c] + eps), s = G ? G[c] : 1;
    O[c] = -rstd * s * S[c];
    O[C + c] = -0.5 * rstd * rstd * rstd * s * S[C + c];
    O[2 * C + c] = rstd * S[C + c];
    O[3 * C + c] = S[c];
  }
  backend.disposeData(sums.dataId);
  return out;
}

/** TinylabBatchNormGradX (wasm): dx = dy·rstd·scale per channel in one SIMD pass. inputs {dy, variance[, scale]}. */
export function batchNormGradXWasm(inputs: NamedTensorInfoMap, attrs: { varianceEpsilon?: unknown }, b: unknown): TensorInfo {
  const backend = asWasm(b);
  const dy = inputs.dy as TensorInfo;
  const C = dy.shape[dy.shape.length - 1];
  const k = simdKernels(backend);
  if (!k || C % 4 !== 0) throw new Error(`${BATCHNORM_GRAD_X}: needs SIMD and a last axis that is a multiple of 4`);
  const out = backend.makeOutput(dy.shape, 'float32');
  const ab = k.malloc(2 * C * 4);
  try {
    const V = f32(backend, inputs.variance as TensorInfo), G = perChannel(backend, inputs.scale as TensorInfo | undefined);
    const eps = attrs.varianceEpsilon as number;
    const AB = new Float32Array(k.buffer(), ab, 2 * C);
    for (let c = 0; c < C; c++) {
      AB[c] = (G ? G[c] : 1) / Math.sqrt(V[c] + eps);
      AB[C + c] = 0;
    }
    const d0 = f32(backend, dy).byteOffset, size = dy.shape.reduce((p, q) => p * q, 1);
    k.scaleShift(d0, d0 + size * 4, C * 4, ab, ab + C * 4, f32(backend, out).byteOffset);
  } finally {
    k.free(ab);
  }
  return out;
}
