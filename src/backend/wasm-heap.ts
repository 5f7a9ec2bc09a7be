/**
 * Helpers for kernels that run inside the WASM backend: call other WASM kernels directly (no engine, no tape), read
 * and write tensors in place on the WASM heap, free intermediates immediately.
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm we use (its class is not exported from the package root). */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): backend_util.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function asWasm(backend: unknown): WasmBackend {
  return backend as WasmBackend;
}

/** Run a registered wasm kernel directly. The result is owned by the caller (free it with `free`). */
export function runWasm(
  backend: WasmBackend,
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const k = tf.getKernel(kernelName, 'wasm');
  if (!k) throw new Error(`wasm kernel ${kernelName} is not registered`);
  return k.kernelFunc({ inputs, attrs, backend: backend as unknown as tf.KernelBackend }) as TensorInfo;
}

/** Same data, another shape (no copy). Never free a view: free the tensor it came from. */
export function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

export function free(backend: WasmBackend, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

/** A zero-filled float32 output on the heap. */
export function zeros(backend: WasmBackend, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
  return out;
}

/** Float32 view of a tensor's heap memory. Take views after the last allocation (heap growth detaches them). */
export function f32(backend: WasmBackend, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasm(backend, 'Transpose', { x }, { perm });
}

/** Zero padding; paddings per axis [before, after]. */
export function pad(backend: WasmBackend, x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
  return runWasm(backend, 'PadV2', { x }, { paddings, constantValue: 0 });
}

export function slice(backend: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return runWasm(backend, 'Slice', { x }, { begin, size });
}

/** a·b (rank 3, batch-broadcast) via XNNPACK-backed _FusedMatMul. */
export function matmul(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo {
  return runWasm(backend, '_FusedMatMul', { a, b }, { transposeA, transposeB, activation: 'linear' });
}

export type Conv2DInfo = backend_util.Conv2DInfo;

/** NHWC only: convert an NCHW request to an InputError-like failure the caller can explain. */
export function isChannelsLast(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

/**
 * acc[j] += Σ_r src[r·len + j] for r < rows (acc is not cleared). Eight rows per pass into float64: ~3x faster
 * than a row at a time in V8 (fewer accumulator loads/stores) and more accurate than float32 accumulation.
 */
export function sumRows(src: Float32Array, rows: number, len: number, acc: Float64Array): void {
  let i = 0;
  for (; i + 8 <= rows; i += 8) {
    const o = i * len;
    for (let j = 0; j < len; j++) {
      const q = o + j;
      acc[j] +=
        src[q] + src[q + len] + (src[q + 2 * len] + src[q + 3 * len]) +
        (src[q + 4 * len] + src[q + 5 * len] + (src[q + 6 * len] + src[q + 7 * len]));
    }
  }
  for (; i < rows; i++) {
    const o = i * len;
    for (let j = 0; j < len; j++) acc[j] += src[o + j];
  }
}
