/**
 * TinylabAdamUpdate (wasm): one Adam step for one variable in a single pass over its heap memory.
 *
 * Stock tf.train.adam runs ~12 tfjs ops per variable per step (mul, add, square, div, sqrt, … each a kernel call with
 * engine bookkeeping, plus full-size temporaries); on the dense autoencoder that was ~450 kernel calls per step for
 * a few hundred thousand weights, i.e. overhead-bound. This kernel reproduces the stock op sequence element by element
 * in float32 (Math.fround after every operation, IEEE-exact like the WASM kernels it replaces), so results are the
 * same bit for bit, and returns fresh [w', m', v'] the optimizer assigns (no in-place writes: tensors may share data
 * after our zero-copy Identity/Cast, see wasm-overrides.ts).
 *
 *   inputs {w, g, m, v}, attrs {beta1, beta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon, learningRate}
 *   m' = m·β1 + g·(1−β1)              v' = v·β2 + g²·(1−β2)
 *   w' = (m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε) · (−lr) + w
 */
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32 } from './wasm-heap';
import { simdKernels } from './simd';

export const ADAM_UPDATE = 'TinylabAdamUpdate';

export function adamUpdateWasm(inputs: NamedTensorInfoMap, attrs: NamedAttrMap, b: unknown): TensorInfo[] {
  const backend = asWasm(b);
  const w = inputs.w as TensorInfo, g = inputs.g as TensorInfo, m = inputs.m as TensorInfo, v = inputs.v as TensorInfo;
  for (const t of [w, g, m, v]) if (t.dtype !== 'float32') throw new Error(`${ADAM_UPDATE}: float32 only, got ${t.dtype}`);
  const fr = Math.fround;
  // Every constant as the float32 scalar tensor tfjs would have made of it.
  const b1 = fr(attrs.beta1 as number), b2 = fr(attrs.beta2 as number);
  const omb1 = fr(1 - (attrs.beta1 as number)), omb2 = fr(1 - (attrs.beta2 as number));
  const oma1 = fr(attrs.oneMinusAccBeta1 as number), oma2 = fr(attrs.oneMinusAccBeta2 as number);
  const eps = fr(attrs.epsilon as number), nlr = fr(-(attrs.learningRate as number));
  const wOut = backend.makeOutput(w.shape, 'float32');
  const mOut = backend.makeOutput(w.shape, 'float32');
  const vOut = backend.makeOutput(w.shape, 'float32');
  // Views after the last allocation (heap growth detaches earlier ones).
  const W = f32(backend, w), G = f32(backend, g), M = f32(backend, m), V = f32(backend, v);
  const W1 = f32(backend, wOut), M1 = f32(backend, mOut), V1 = f32(backend, vOut);
  const n = W.length;
  // SIMD128 loop for the multiple-of-4 prefix (the same IEEE float32 operations, 4 lanes; ~25x faster than the JS
  // loop below), JS for the rest.
  const k = simdKernels(backend);
  const n4 = k ? n & ~3 : 0;
  if (k && n4 > 0) {
    k.adam(W.byteOffset, G.byteOffset, M.byteOffset, V.byteOffset, W1.byteOffset, M1.byteOffset, V1.byteOffset, n4 * 4,
      b1, b2, omb1, omb2, oma1, oma2, eps, nlr);
  }
  for (let i = n4; i < n; i++) {
    const gi = G[i];
    const mi = fr(fr(M[i] * b1) + fr(gi * omb1));
    const vi = fr(fr(V[i] * b2) + fr(fr(gi * gi) * omb2));
    M1[i] = mi;
    V1[i] = vi;
    const den = fr(fr(Math.sqrt(fr(vi / oma2))) + eps);
    W1[i] = fr(fr(fr(fr(mi / oma1) / den) * nlr) + W[i]);
  }
  return [wOut, mOut, vOut];
}
