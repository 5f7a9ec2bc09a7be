/**
 * TinylabDenseChainStep (wasm): forward pass, MSE loss and every gradient of a chain of Dense / BatchNormalization
 * (training mode) / ReLU layers in ONE kernel call, plus the BatchNorm moving-statistics updates.
 *
 * Why: through the generic path (tape + layers.apply) a dense autoencoder step was ~640 kernel calls and ~200
 * saved-tensor clones, and the tfjs engine's bookkeeping for them cost more than the kernels themselves. Here the
 * whole step runs at backend level: XNNPACK matmuls called directly through the kernel registry (no engine, no
 * tape), per-channel statistics and elementwise passes as SIMD loops on the heap (simd.ts), intermediates freed as
 * soon as the step ends. src/train/dense-chain.ts recognises the layer chains this handles and applies the gradients.
 *
 * Maths per op (B = batch rows, float32 storage, float64 per-channel reductions):
 *   dense      z = h·W (+ b) (+ ReLU fused)          dW = hᵀ·dz, db = Σ_rows dz, dh = dz·Wᵀ (skipped for the first op)
 *   batchnorm  μ, σ² = batch mean and (biased) variance, as tf.moments; u = (z − μ)·γ/√(σ²+ε) + β
 *              dβ = Σdu, dγ = r·Σdu·(z − μ) with r = 1/√(σ²+ε),
 *              dz = γr·(du − dβ/B − x̂·dγ/B), x̂ = (z − μ)·r    (the closed form of tfjs' batchNorm + moments gradient)
 *              moving ← moving − (moving − stat)·(1 − momentum)  (float32 ops in tfjs-layers' order)
 *   relu       y = max(u, 0)                          du = dy·[y > 0] (step(0) = 0, as tfjs)
 *   loss       L = Σ(out − t)²/n over all n elements (tf.losses.meanSquaredError), dout = 2(out − t)/n
 *
 * inputs {x [B, F], target (n = B·D elements), p0 … p(P−1)} where p_i are the layers' weights (the first
 * plan.trainable of them receive gradients), attrs {plan: DenseChainPlan}.
 * outputs [loss (scalar), d p0 … d p(trainable−1), then per batchnorm op (in order) new moving mean, new moving variance].
 * Requires SIMD128 (denseChainSupported) and every width (features, units) a multiple of 4 (src/train/dense-chain.ts
 * only builds plans that satisfy it).
 */
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32, runWasm, view, WasmBackend } from './wasm-heap';
import { blockedColumnSums, SimdKernels, simdKernels } from './simd';
import { columnMoments } from './moments';

export const DENSE_CHAIN_STEP = 'TinylabDenseChainStep';

export type DenseChainOp =
  /** Indices into the params; bias −1 when the layer has none. */
  | { kind: 'dense'; kernel: number; bias: number; relu: boolean }
  | { kind: 'batchnorm'; gamma: number; beta: number; movingMean: number; movingVariance: number; epsilon: number; momentum: number }
  | { kind: 'relu' };

export interface DenseChainPlan {
  ops: DenseChainOp[];
  /** Params p0 … p(trainable−1) get a gradient output each. */
  trainable: number;
}

/** What backward needs from each op's forward. */
type Saved =
  | { kind: 'dense'; input: TensorInfo; output: TensorInfo }
  | { kind: 'batchnorm'; input: TensorInfo; mean: Float32Array; rstd: Float64Array }
  | { kind: 'relu'; output: TensorInfo };

const fr = Math.fround;
const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
const addr = (backend: WasmBackend, t: TensorInfo) => f32(backend, t).byteOffset;

/** Can the kernel run on this backend (SIMD128 loaded)? Widths (multiples of 4) are checked by the caller. */
export function denseChainSupported(backend: unknown): boolean {
  return simdKernels(asWasm(backend)) !== null;
}

/** Per-step scratch on the heap for per-channel vectors (freed by `release`). */
class Scratch {
  private ptrs: number[] = [];
  constructor(private k: SimdKernels) {}
  /** `n` floats on the heap; returns the byte pointer. */
  alloc(n: number): number {
    const p = this.k.malloc(Math.max(1, n) * 4);
    this.ptrs.push(p);
    return p;
  }
  /** A view of floats at p (take it after the last allocation: heap growth detaches views). */
  at(p: number, n: number): Float32Array {
    return new Float32Array(this.k.buffer(), p, n);
  }
  release(): void {
    for (const p of this.ptrs) this.k.free(p);
    this.ptrs = [];
  }
}

export function denseChainStepWasm(inputs: NamedTensorInfoMap, attrs: NamedAttrMap, b: unknown): TensorInfo[] {
  const backend = asWasm(b);
  const k = simdKernels(backend);
  if (!k) throw new Error(`${DENSE_CHAIN_STEP}: needs WebAssembly SIMD128`);
  const plan = attrs.plan as unknown as DenseChainPlan;
  const x = inputs.x as TensorInfo, target = inputs.target as TensorInfo;
  const param = (i: number) => inputs[`p${i}`] as TensorInfo;
  const B = x.shape[0];
  const temps: TensorInfo[] = []; // activations and gradients we own; freed at the end
  const scratch = new Scratch(k);
  const grads: TensorInfo[] = new Array<TensorInfo>(plan.trainable);
  const stats: TensorInfo[] = [];
  const saved: Saved[] = [];
  const own = (t: TensorInfo) => {
    temps.push(t);
    return t;
  };
  try {
    // ---- forward ------------------------------------------------------------------------------------------------
    let h = x;
    for (const op of plan.ops) {
      const C = h.shape[1];
      if (op.kind === 'dense') {
        const W = param(op.kernel);
        const units = W.shape[1];
        const mm: NamedTensorInfoMap = { a: view(h, [1, B, C]), b: view(W, [1, C, units]) };
        if (op.bias >= 0) mm.bias = param(op.bias);
        const z = own(runWasm(backend, '_FusedMatMul', mm, { transposeA: false, transposeB: false, activation: op.relu ? 'relu' : 'linear' }));
        const out = view(z, [B, units]);
        saved.push({ kind: 'dense', input: h, output: out });
        h = out;
      } else if (op.kind === 'batchnorm') {
        const { mean, variance } = columnMoments(k, addr(backend, h), B, C);
        const rstd = new Float64Array(C);
        // y = z·a + c with a = γ/√(σ²+ε), c = β − μ·a: the per-channel fold the FusedBatchNorm kernels use.
        const pa = scratch.alloc(C), pc = scratch.alloc(C);
        const u = own(backend.makeOutput([B, C], 'float32'));
        const G = f32(backend, param(op.gamma)), Be = f32(backend, param(op.beta));
        const A = scratch.at(pa, C), Cc = scratch.at(pc, C);
        for (let c = 0; c < C; c++) {
          rstd[c] = 1 / Math.sqrt(variance[c] + op.epsilon);
          A[c] = G[c] * rstd[c];
          Cc[c] = Be[c] - mean[c] * A[c];
        }
        const h0 = addr(backend, h);
        k.scaleShift(h0, h0 + B * C * 4, C * 4, pa, pc, addr(backend, u));
        saved.push({ kind: 'batchnorm', input: h, mean, rstd });
        stats.push(movingAverage(backend, param(op.movingMean), mean, op.momentum));
        stats.push(movingAverage(backend, param(op.movingVariance), variance, op.momentum));
        h = u;
      } else {
        // In place when h is ours: no earlier op saved h (ops save their inputs, and ReLU's own output is this mask).
        const y = h === x ? own(backend.makeOutput([B, C], 'float32')) : h;
        const h0 = addr(backend, h);
        k.reluGrad(h0, h0, h0 + B * C * 4, addr(backend, y));
        saved.push({ kind: 'relu', output: y });
        h = y;
      }
    }

    // ---- loss ---------------------------------------------------------------------------------------------------
    const D = h.shape[1], n = B * D;
    if (size(target.shape) !== n) throw new Error(`${DENSE_CHAIN_STEP}: target has ${size(target.shape)} values, output ${n}`);
    const diff = own(runWasm(backend, 'Sub', { a: h, b: view(target, [B, D]) }));
    // Σ(out − t)² in float64 (column sums of squares, shift 0), then dout = diff·(2/n) in place.
    const zero = scratch.alloc(D), two = scratch.alloc(D);
    scratch.at(zero, D).fill(0);
    scratch.at(two, D).fill(2 / n);
    const d0 = addr(backend, diff);
    const [, sq] = blockedColumnSums(k, B, D, 2, (r0, r1, [s, q]) => k.colSumSq(d0 + r0 * D * 4, d0 + r1 * D * 4, D * 4, zero, s, q));
    let sum = 0;
    for (let j = 0; j < D; j++) sum += sq[j];
    const loss = backend.makeOutput([], 'float32');
    f32(backend, loss)[0] = sum / n;
    k.scaleShift(d0, d0 + n * 4, D * 4, two, zero, d0);

    // ---- backward -----------------------------------------------------------------------------------------------
    let g = view(diff, [B, D]); // gradient w.r.t. the current op's output; always a buffer we own
    for (let i = plan.ops.length - 1; i >= 0; i--) {
      const op = plan.ops[i], s = saved[i];
      const C = g.shape[1];
      const g0 = addr(backend, g), gEnd = g0 + B * C * 4;
      if (op.kind === 'relu' && s.kind === 'relu') {
        k.reluGrad(g0, addr(backend, s.output), gEnd, g0);
      } else if (op.kind === 'batchnorm' && s.kind === 'batchnorm') {
        const z0 = addr(backend, s.input);
        const [sg, sgz] = blockedColumnSums(k, B, C, 2, (r0, r1, [a, d]) =>
          k.colSumDot(g0 + r0 * C * 4, z0 + r0 * C * 4, g0 + r1 * C * 4, C * 4, a, d));
        const dGamma = backend.makeOutput([C], 'float32'), dBeta = backend.makeOutput([C], 'float32');
        grads[op.gamma] = dGamma;
        grads[op.beta] = dBeta;
        const pa = scratch.alloc(C), pb = scratch.alloc(C), pc = scratch.alloc(C);
        const G = f32(backend, param(op.gamma)), DG = f32(backend, dGamma), DB = f32(backend, dBeta);
        const A = scratch.at(pa, C), Bz = scratch.at(pb, C), Cc = scratch.at(pc, C);
        for (let c = 0; c < C; c++) {
          const r = s.rstd[c], mu = s.mean[c];
          const dBeta64 = sg[c], dGamma64 = r * (sgz[c] - mu * sg[c]);
          DB[c] = dBeta64;
          DG[c] = dGamma64;
          // dz = du·γr + z·(−γr²·dγ/B) + (−γr·dβ/B + γr²·μ·dγ/B)
          const gr = G[c] * r, bz = (-gr * r * dGamma64) / B;
          A[c] = gr;
          Bz[c] = bz;
          Cc[c] = (-gr * dBeta64) / B - bz * mu;
        }
        k.affine2(g0, z0, gEnd, C * 4, pa, pb, pc, g0);
      } else if (op.kind === 'dense' && s.kind === 'dense') {
        if (op.relu) k.reluGrad(g0, addr(backend, s.output), gEnd, g0);
        const W = param(op.kernel);
        const K = W.shape[0];
        const dW = runWasm(backend, '_FusedMatMul', { a: view(s.input, [1, B, K]), b: view(g, [1, B, C]) },
          { transposeA: true, transposeB: false, activation: 'linear' });
        grads[op.kernel] = view(dW, [K, C]);
        if (op.bias >= 0) {
          const [acc] = blockedColumnSums(k, B, C, 1, (r0, r1, [a]) => k.colSum(g0 + r0 * C * 4, g0 + r1 * C * 4, C * 4, a));
          const db = backend.makeOutput([C], 'float32');
          f32(backend, db).set(acc);
          grads[op.bias] = db;
        }
        if (i === 0) break; // the gradient w.r.t. the data batch is never needed
        const dh = own(runWasm(backend, '_FusedMatMul', { a: view(g, [1, B, C]), b: view(W, [1, K, C]) },
          { transposeA: false, transposeB: true, activation: 'linear' }));
        g = view(dh, [B, K]);
      } else {
        throw new Error(`${DENSE_CHAIN_STEP}: saved state does not match op ${i}`);
      }
    }
    for (let i = 0; i < plan.trainable; i++) {
      if (!grads[i]) throw new Error(`${DENSE_CHAIN_STEP}: param ${i} is trainable but no op uses it`);
    }
    return [loss, ...grads, ...stats];
  } finally {
    scratch.release();
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** tfjs-layers' doMovingAverage in float32: moving − (moving − value)·fround(1 − momentum), one rounding per op. */
function movingAverage(backend: WasmBackend, moving: TensorInfo, value: Float32Array, momentum: number): TensorInfo {
  const out = backend.makeOutput(moving.shape, 'float32');
  const M = f32(backend, moving), O = f32(backend, out);
  const decay = fr(1 - momentum);
  for (let c = 0; c < value.length; c++) O[c] = fr(M[c] - fr(fr(M[c] - value[c]) * decay));
  return out;
}
