/**
 * Per-channel broadcasts on narrow tensors. A binary op between an NHWC activation [.., C] and a per-channel vector
 * ([C] or [1, 1, 1, C]) runs XNNPACK's broadcast path, which works one row of C values at a time: at C = 16 that was
 * 5x slower than the same-shape op (2.5 ms vs 0.5 ms for a ResNet-8 activation), and BatchNorm does several per
 * layer. Viewing the activation's [rows, C] as [rows/k, k·C] and tiling the vector k times gives XNNPACK long rows;
 * the result is the same element for element. The same widening speeds up our leading-axis Sum (wasm-overrides.ts).
 */
import { backend_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { asWasm, f32, free, view } from './wasm-heap';

/** Rows shorter than this are widened (XNNPACK's per-row overhead stops mattering around 64 floats). */
export const MIN_ROW = 64;

const size = (shape: number[]) => shape.reduce((p, q) => p * q, 1);

/**
 * The smallest k that divides `rows` with k·rowLen ≥ MIN_ROW, or 1 when the rows are long enough already or no
 * small divisor exists (then widening is skipped).
 */
export function widenFactor(rows: number, rowLen: number): number {
  if (rowLen >= MIN_ROW || rowLen < 1) return 1;
  const k0 = Math.ceil(MIN_ROW / rowLen);
  for (let k = k0; k <= 4 * k0 && k <= rows; k++) if (rows % k === 0) return k;
  return 1;
}

type Args = { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown };
type Orig = (args: Args) => TensorInfo;

/** Multiply/Add/Sub/RealDiv override: widen full ⊙ per-channel-vector ops on narrow channels, else delegate. */
export function widenedBinaryOverride(orig: Orig): Orig {
  return (args) => {
    const a = args.inputs.a as TensorInfo, b = args.inputs.b as TensorInfo;
    if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return orig(args);
    const sa = size(a.shape), sb = size(b.shape);
    if (sa === sb) return orig(args);
    const vecIsA = sa < sb;
    const full = vecIsA ? b : a, vec = vecIsA ? a : b;
    const C = full.shape[full.shape.length - 1];
    if (C === undefined || size(vec.shape) !== C || vec.shape[vec.shape.length - 1] !== C) return orig(args);
    const rows = size(full.shape) / C;
    const k = widenFactor(rows, C);
    if (k === 1) return orig(args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (size(outShape) !== size(full.shape)) return orig(args);
    const backend = asWasm(args.backend);
    const tiled = backend.makeOutput([k * C], 'float32');
    const src = f32(backend, vec), dst = f32(backend, tiled);
    for (let i = 0; i < k; i++) dst.set(src.subarray(0, C), i * C);
    const wide = view(full, [rows / k, k * C]);
    const out = orig({ ...args, inputs: vecIsA ? { a: tiled, b: wide } : { a: wide, b: tiled } });
    free(backend, tiled);
    return view(out, outShape);
  };
}
