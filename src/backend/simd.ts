/**
 * A handful of WASM SIMD128 loops that run directly on tfjs-backend-wasm's heap (the module imports the backend's own
 * WebAssembly.Memory, so tensor data is read and written in place by pointer, no copies).
 *
 * Why: the elementwise and reduction loops our kernels ran in JS (Adam, per-channel sums for BatchNorm, depthwise
 * filter gradients) measured 10–35 ns per element here, 5–20x slower than the same loop in SIMD, and they were a
 * large share of a DS-CNN / autoencoder step. There is no compiler toolchain in this project, so the module is
 * assembled below from a few opcodes (WebAssembly core + SIMD128 binary encoding); it is tiny and validated by the
 * engine at load. Every loop processes 4 floats at a time; callers handle lengths that are not a multiple of 4.
 *
 * Exports (all pointers and lengths in bytes):
 *   adam(w, g, m, v, w1, m1, v1, nBytes, β1, β2, 1−β1, 1−β2, 1−β1ᵗ, 1−β2ᵗ, ε, −lr)   float32, stock op order
 *   colSum(x, xEnd, rowBytes, acc)                    acc[j] += x[r, j]
 *   colSumSq(x, xEnd, rowBytes, shift, accS, accQ)    d = x[r, j] − shift[j]; accS[j] += d; accQ[j] += d²
 *   colSumDot(g, x, gEnd, rowBytes, accS, accD)       accS[j] += g[r, j]; accD[j] += g[r, j]·x[r, j]
 *   gatherDot(xs, ds, count, X, DY, rowBytes, acc)    acc[j] += X[xs[k] + j]·DY[ds[k] + j] for k < count
 *                                                     (xs, ds: int32 byte offsets)
 *   scaleShift(x, xEnd, rowBytes, a, b, y)           y[r, j] = x[r, j]·a[j] + b[j]
 *   reluGrad(dy, x, dyEnd, out)                       out = x > 0 ? dy : 0
 *   affine2(x, y, xEnd, rowBytes, a, b, c, out)       out[r, j] = x[r, j]·a[j] + y[r, j]·b[j] + c[j]
 *   transpose(src, dst, R, C, rEnd, cEnd)             dst[c, r] = src[r, c] of an [R, C] matrix, r < rEnd, c < cEnd
 *                                                     (multiples of 4; R, C, rEnd, cEnd are element counts)
 */
import { WasmBackend } from './wasm-heap';

// ---- binary encoding ----------------------------------------------------------------------------------------------
const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Instructions (operands are encoded by the helpers).
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const I32_ADD = [0x6a], I32_MUL = [0x6c], I32_GE_U = [0x4f];
const I32_LOAD = [0x28, 2, 0];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const V_LOAD = simd(0, 0, 0); // align hint 2^0: tensors are 4-byte aligned only when viewed with offsets
const V_STORE = simd(11, 0, 0);
const F32X4_GT = simd(68), V128_AND = simd(78), F32_ZERO = [0x43, 0, 0, 0, 0];
const SPLAT = simd(19), SQRT = simd(227), ADD = simd(228), SUB = simd(229), MUL = simd(230), DIV = simd(231);
/** i8x16.shuffle picking float lanes (0–3 from the first operand, 4–7 from the second). */
const SHUF = (lanes: number[]) => simd(13, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = [0x0b], BR = (d: number) => [0x0c, d], BR_IF = (d: number) => [0x0d, d];

/** `while (get(i) < get(end)) { body; i += step }` */
function whileLt(i: number, end: number, step: number, body: number[]): number[] {
  return [...BLOCK, ...LOOP, ...get(i), ...get(end), ...I32_GE_U, ...BR_IF(1), ...body,
    ...get(i), ...i32c(step), ...I32_ADD, ...set(i), ...BR(0), ...END, ...END];
}
/** Address a + b on the stack. */
const addr = (a: number, b: number) => [...get(a), ...get(b), ...I32_ADD];
/** v128 at a + b. */
const load = (a: number, b: number) => [...addr(a, b), ...V_LOAD];

interface Fn {
  name: string;
  params: number[];
  locals: number[];
  body: number[];
}

// adam: params 0..7 i32 (w, g, m, v, w1, m1, v1, n), 8..15 f32 constants; locals 16 i; 17..24 splats; 25 g; 26 m; 27 v.
function adamFn(): Fn {
  const [w, g, m, v, w1, m1, v1, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const i = 16, S = (k: number) => 17 + k, G = 25, M = 26, V = 27;
  const [B1, B2, OMB1, OMB2, OMA1, OMA2, EPS, NLR] = [0, 1, 2, 3, 4, 5, 6, 7].map(S);
  const splats = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [...get(8 + k), ...SPLAT, ...set(S(k))]);
  const body = [
    ...load(g, i), ...set(G),
    // m' = m·β1 + g·(1−β1)
    ...addr(m1, i), ...load(m, i), ...get(B1), ...MUL, ...get(G), ...get(OMB1), ...MUL, ...ADD, ...tee(M), ...V_STORE,
    // v' = v·β2 + g²·(1−β2)
    ...addr(v1, i), ...load(v, i), ...get(B2), ...MUL, ...get(G), ...get(G), ...MUL, ...get(OMB2), ...MUL, ...ADD, ...tee(V), ...V_STORE,
    // w' = ((m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε))·(−lr) + w
    ...addr(w1, i),
    ...get(M), ...get(OMA1), ...DIV,
    ...get(V), ...get(OMA2), ...DIV, ...SQRT, ...get(EPS), ...ADD,
    ...DIV, ...get(NLR), ...MUL, ...load(w, i), ...ADD, ...V_STORE,
  ];
  return {
    name: 'adam',
    params: [I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32],
    locals: [I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128],
    body: [...splats, ...whileLt(i, n, 16, body)],
  };
}

/**
 * `while (x < end) { for (j = 0; j < rowBytes; j += 16) { body; x += 16 } }`: a row loop with the column byte index
 * j (per-channel vectors are addressed by j); body must not change x.
 */
function rows(x: number, end: number, rowBytes: number, j: number, body: number[]): number[] {
  const inner = whileLt(j, rowBytes, 16, [...body, ...get(x), ...i32c(16), ...I32_ADD, ...set(x)]);
  return [...BLOCK, ...LOOP, ...get(x), ...get(end), ...I32_GE_U, ...BR_IF(1), ...i32c(0), ...set(j), ...inner, ...BR(0), ...END, ...END];
}

// colSum(x, xEnd, rowBytes, acc); locals 4 j
function colSumFn(): Fn {
  const [x, end, rb, acc, j] = [0, 1, 2, 3, 4];
  const body = [...addr(acc, j), ...load(acc, j), ...get(x), ...V_LOAD, ...ADD, ...V_STORE];
  return { name: 'colSum', params: [I32, I32, I32, I32], locals: [I32], body: rows(x, end, rb, j, body) };
}

// colSumSq(x, xEnd, rowBytes, shift, accS, accQ); locals 6 j, 7 d
function colSumSqFn(): Fn {
  const [x, end, rb, shift, accS, accQ, j, d] = [0, 1, 2, 3, 4, 5, 6, 7];
  const body = [
    ...get(x), ...V_LOAD, ...load(shift, j), ...SUB, ...set(d),
    ...addr(accS, j), ...load(accS, j), ...get(d), ...ADD, ...V_STORE,
    ...addr(accQ, j), ...load(accQ, j), ...get(d), ...get(d), ...MUL, ...ADD, ...V_STORE,
  ];
  return { name: 'colSumSq', params: [I32, I32, I32, I32, I32, I32], locals: [I32, V128], body: rows(x, end, rb, j, body) };
}

// colSumDot(g, x, gEnd, rowBytes, accS, accD); locals 6 j, 7 gv; x advances with g (x − g is constant).
function colSumDotFn(): Fn {
  const [g, x, end, rb, accS, accD, j, gv] = [0, 1, 2, 3, 4, 5, 6, 7];
  const body = [
    ...get(g), ...V_LOAD, ...set(gv),
    ...addr(accS, j), ...load(accS, j), ...get(gv), ...ADD, ...V_STORE,
    ...addr(accD, j), ...load(accD, j), ...get(gv), ...get(x), ...V_LOAD, ...MUL, ...ADD, ...V_STORE,
    ...get(x), ...i32c(16), ...I32_ADD, ...set(x),
  ];
  return { name: 'colSumDot', params: [I32, I32, I32, I32, I32, I32], locals: [I32, V128], body: rows(g, end, rb, j, body) };
}

// gatherDot(xs, ds, count, X, DY, rowBytes, acc); locals 7 k (byte index into xs/ds), 8 xo, 9 dyo, 10 j, 11 kEnd
function gatherDotFn(): Fn {
  const [xs, ds, count, X, DY, rb, acc, k, xo, dyo, j, kEnd] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const inner = whileLt(j, rb, 16, [
    ...addr(acc, j), ...load(acc, j), ...load(xo, j), ...load(dyo, j), ...MUL, ...ADD, ...V_STORE,
  ]);
  const outer = whileLt(k, kEnd, 4, [
    ...addr(xs, k), ...I32_LOAD, ...get(X), ...I32_ADD, ...set(xo),
    ...addr(ds, k), ...I32_LOAD, ...get(DY), ...I32_ADD, ...set(dyo),
    ...i32c(0), ...set(j),
    ...inner,
  ]);
  return {
    name: 'gatherDot',
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32],
    // kEnd = count·4 (count ≥ 0 and small: no overflow).
    body: [...get(count), ...get(count), ...I32_ADD, ...get(count), ...I32_ADD, ...get(count), ...I32_ADD, ...set(kEnd), ...outer],
  };
}

// scaleShift(x, xEnd, rowBytes, a, b, y): y[r, j] = x[r, j]·a[j] + b[j]; locals 6 j; y advances with x.
function scaleShiftFn(): Fn {
  const [x, end, rb, a, b, y, j] = [0, 1, 2, 3, 4, 5, 6];
  const body = [
    ...get(y), ...get(x), ...V_LOAD, ...load(a, j), ...MUL, ...load(b, j), ...ADD, ...V_STORE,
    ...get(y), ...i32c(16), ...I32_ADD, ...set(y),
  ];
  return { name: 'scaleShift', params: [I32, I32, I32, I32, I32, I32], locals: [I32], body: rows(x, end, rb, j, body) };
}

// affine2(x, y, xEnd, rowBytes, a, b, c, out): out[r, j] = x[r, j]·a[j] + y[r, j]·b[j] + c[j] (the BatchNorm input
// gradient as one pass over dy and the BatchNorm input); locals 8 j; y and out advance with x. out may alias x or y.
function affine2Fn(): Fn {
  const [x, y, end, rb, a, b, c, out, j] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const body = [
    ...get(out), ...get(x), ...V_LOAD, ...load(a, j), ...MUL, ...get(y), ...V_LOAD, ...load(b, j), ...MUL, ...ADD,
    ...load(c, j), ...ADD, ...V_STORE,
    ...get(y), ...i32c(16), ...I32_ADD, ...set(y),
    ...get(out), ...i32c(16), ...I32_ADD, ...set(out),
  ];
  return { name: 'affine2', params: [I32, I32, I32, I32, I32, I32, I32, I32], locals: [I32], body: rows(x, end, rb, j, body) };
}

// reluGrad(dy, x, dyEnd, out): out = x > 0 ? dy : 0 (lane mask); x and out advance with dy. locals 4 zero.
function reluGradFn(): Fn {
  const [dy, x, end, out, zero] = [0, 1, 2, 3, 4];
  const body = [
    ...get(out), ...get(dy), ...V_LOAD, ...get(x), ...V_LOAD, ...get(zero), ...F32X4_GT, ...V128_AND, ...V_STORE,
    ...get(x), ...i32c(16), ...I32_ADD, ...set(x),
    ...get(out), ...i32c(16), ...I32_ADD, ...set(out),
  ];
  return {
    name: 'reluGrad',
    params: [I32, I32, I32, I32],
    locals: [V128],
    body: [...F32_ZERO, ...SPLAT, ...set(zero), ...whileLt(dy, end, 16, body)],
  };
}

// transpose(src, dst, R, C, rEnd, cEnd): dst[c, r] = src[r, c] for r < rEnd, c < cEnd (multiples of 4) of an [R, C]
// matrix, in 4x4 register blocks (lane shuffles). locals 6 r, 7 c, 8 rowBytes (C·4), 9 colBytes (R·4), 10 s, 11 d,
// 12..15 a b c d, 16..19 t0..t3
function transposeFn(): Fn {
  const [src, dst, R, C, rEnd, cEnd, r, c, rowB, colB, sp, dp] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const A = 12, B = 13, Cc = 14, D = 15, T0 = 16, T1 = 17, T2 = 18, T3 = 19;
  const four = (x: number) => [...get(x), ...i32c(4), ...I32_MUL];
  const ldRow = (k: number, into: number) => [...get(sp), ...get(rowB), ...i32c(k), ...I32_MUL, ...I32_ADD, ...V_LOAD, ...set(into)];
  const stRow = (k: number, expr: number[]) => [...get(dp), ...get(colB), ...i32c(k), ...I32_MUL, ...I32_ADD, ...expr, ...V_STORE];
  const inner = [
    // s = src + r·rowBytes + c·4 (r, c are element indices; r advances by 4)
    ...get(src), ...get(r), ...get(rowB), ...I32_MUL, ...I32_ADD, ...four(c), ...I32_ADD, ...set(sp),
    // d = dst + c·colBytes + r·4
    ...get(dst), ...get(c), ...get(colB), ...I32_MUL, ...I32_ADD, ...four(r), ...I32_ADD, ...set(dp),
    ...ldRow(0, A), ...ldRow(1, B), ...ldRow(2, Cc), ...ldRow(3, D),
    ...get(A), ...get(B), ...SHUF([0, 4, 1, 5]), ...set(T0),
    ...get(A), ...get(B), ...SHUF([2, 6, 3, 7]), ...set(T1),
    ...get(Cc), ...get(D), ...SHUF([0, 4, 1, 5]), ...set(T2),
    ...get(Cc), ...get(D), ...SHUF([2, 6, 3, 7]), ...set(T3),
    ...stRow(0, [...get(T0), ...get(T2), ...SHUF([0, 1, 4, 5])]),
    ...stRow(1, [...get(T0), ...get(T2), ...SHUF([2, 3, 6, 7])]),
    ...stRow(2, [...get(T1), ...get(T3), ...SHUF([0, 1, 4, 5])]),
    ...stRow(3, [...get(T1), ...get(T3), ...SHUF([2, 3, 6, 7])]),
  ];
  const body = [
    ...four(C), ...set(rowB), ...four(R), ...set(colB),
    ...whileLt(r, rEnd, 4, [...i32c(0), ...set(c), ...whileLt(c, cEnd, 4, inner)]),
  ];
  return {
    name: 'transpose',
    params: [I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, V128, V128],
    body,
  };
}

function assemble(fns: Fn[]): Uint8Array {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]);
  const imports = vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x01]]);
  const funcs = vec(fns.map((_, i) => uleb(i)));
  const exports = vec(fns.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]));
  const codes = vec(
    fns.map((f) => {
      const locals = vec(f.locals.map((t) => [1, t]));
      const body = [...locals, ...f.body, ...END];
      return [...uleb(body.length), ...body];
    }),
  );
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, codes),
  ]);
}

// ---- runtime --------------------------------------------------------------------------------------------------------
export interface SimdKernels {
  adam(w: number, g: number, m: number, v: number, w1: number, m1: number, v1: number, nBytes: number,
    b1: number, b2: number, omb1: number, omb2: number, oma1: number, oma2: number, eps: number, nlr: number): void;
  colSum(x: number, xEnd: number, rowBytes: number, acc: number): void;
  colSumSq(x: number, xEnd: number, rowBytes: number, shift: number, accS: number, accQ: number): void;
  colSumDot(g: number, x: number, gEnd: number, rowBytes: number, accS: number, accD: number): void;
  gatherDot(xs: number, ds: number, count: number, X: number, DY: number, rowBytes: number, acc: number): void;
  /** dst[c, r] = src[r, c] of an [R, C] matrix for r < rEnd, c < cEnd (multiples of 4); byte pointers. */
  transpose(src: number, dst: number, R: number, C: number, rEnd: number, cEnd: number): void;
  scaleShift(x: number, xEnd: number, rowBytes: number, a: number, b: number, y: number): void;
  reluGrad(dy: number, x: number, dyEnd: number, out: number): void;
  affine2(x: number, y: number, xEnd: number, rowBytes: number, a: number, b: number, c: number, out: number): void;
  /** malloc/free on the backend's heap (scratch buffers). */
  malloc(bytes: number): number;
  free(ptr: number): void;
  /** The heap's current ArrayBuffer (changes when the heap grows). */
  buffer(): ArrayBuffer;
}

/**
 * The WebAssembly JS API as far as we use it (tsconfig has no DOM lib, and @types/node does not declare it; the global
 * exists in Node >= 8).
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
};

/** The parts of the Emscripten module inside BackendWasm we use. */
interface EmscriptenModule {
  asm?: { memory?: WasmMemory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

let cached: { memory: WasmMemory; kernels: SimdKernels } | null | undefined;

/** The SIMD kernels bound to this backend's memory, or null when unavailable (no SIMD, memory not reachable). */
let lastBackend: unknown;
let lastKernels: SimdKernels | null = null;

export function simdKernels(backend: WasmBackend): SimdKernels | null {
  // Hot path (called by every kernel that may use SIMD): same backend object → same module and memory.
  if (backend === lastBackend) return lastKernels;
  lastKernels = bindKernels(backend);
  lastBackend = backend;
  return lastKernels;
}

function bindKernels(backend: WasmBackend): SimdKernels | null {
  const mod = (backend as unknown as { wasm?: EmscriptenModule }).wasm;
  const memory = mod?.asm?.memory;
  if (!mod || !(memory instanceof WebAssembly.Memory)) return null;
  if (cached !== undefined && (cached === null || cached.memory === memory)) return cached?.kernels ?? null;
  try {
    const bytes = assemble([adamFn(), colSumFn(), colSumSqFn(), colSumDotFn(), gatherDotFn(), transposeFn(), scaleShiftFn(), reluGradFn(), affine2Fn()]);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const e = inst.exports as unknown as Omit<SimdKernels, 'malloc' | 'free'>;
    cached = {
      memory,
      kernels: { ...e, malloc: (n: number) => mod._malloc(n), free: (p: number) => mod._free(p), buffer: () => memory.buffer },
    };
  } catch {
    // No SIMD128 in this engine (or an encoding this engine rejects): callers fall back to their JS loops.
    cached = null;
  }
  return cached?.kernels ?? null;
}

/** Byte address of a tensor's data on the heap (its Float32Array view's offset). */
export function ptr(view: { byteOffset: number }): number {
  return view.byteOffset;
}

/** Rows per float32 partial sum before it is flushed into float64 (keeps long column sums at float64 accuracy). */
const BLOCK_ROWS = 128;

/**
 * Column sums over `rows` rows of `rowLen` floats with a SIMD loop, in blocks of BLOCK_ROWS rows whose float32 partial
 * sums are added into float64 accumulators. `run(r0, r1, accPtrs)` must accumulate rows [r0, r1) into the nAcc
 * float32 accumulators at accPtrs (each rowLen floats, zeroed before every block) and must not allocate on the heap.
 * rowLen must be a multiple of 4.
 */
export function blockedColumnSums(
  k: SimdKernels,
  rows: number,
  rowLen: number,
  nAcc: number,
  run: (r0: number, r1: number, accPtrs: number[]) => void,
): Float64Array[] {
  const scratch = k.malloc(nAcc * rowLen * 4);
  const ptrs = Array.from({ length: nAcc }, (_, a) => scratch + a * rowLen * 4);
  const out = Array.from({ length: nAcc }, () => new Float64Array(rowLen));
  try {
    for (let r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
      const r1 = Math.min(rows, r0 + BLOCK_ROWS);
      const acc = new Float32Array(k.buffer(), scratch, nAcc * rowLen);
      acc.fill(0);
      run(r0, r1, ptrs);
      for (let a = 0; a < nAcc; a++) {
        const o = out[a], base = a * rowLen;
        for (let j = 0; j < rowLen; j++) o[j] += acc[base + j];
      }
    }
  } finally {
    k.free(scratch);
  }
  return out;
}

/**
 * dst[C, R] = src[R, C]ᵀ for float32 views on the WASM heap: the SIMD kernel on the multiple-of-4 block, JS for the
 * leftover rows and columns. Returns false (nothing done) without SIMD or when the views are not on the heap.
 */
export function transposeOnHeap(k: SimdKernels | null, src: Float32Array, dst: Float32Array, R: number, C: number): boolean {
  if (!k || src.buffer !== k.buffer() || dst.buffer !== k.buffer()) return false;
  const R4 = R & ~3, C4 = C & ~3;
  if (R4 > 0 && C4 > 0) k.transpose(src.byteOffset, dst.byteOffset, R, C, R4, C4);
  for (let r = 0; r < R; r++) {
    const c0 = r < R4 ? C4 : 0;
    const ro = r * C;
    for (let c = c0; c < C; c++) dst[c * R + r] = src[ro + c];
  }
  return true;
}
