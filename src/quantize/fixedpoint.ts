/**
 * Fixed-point arithmetic exactly as TFLite's reference kernels (tensorflow/lite/kernels/internal/common.h) and
 * CMSIS-NN do it: a real multiplier becomes an int32 Q31 mantissa and a power-of-two shift, and requantisation is
 * SaturatingRoundingDoublingHighMul followed by RoundingDivideByPOT.
 *
 * JavaScript numbers are doubles (exact to 2^53), so the 64-bit product in the high-mul is split into 16-bit halves
 * to stay exact; test/quantize/fixedpoint.test.ts checks every function against a BigInt transcription of the C code.
 */

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const TWO31 = 2147483648;

/** QuantizeMultiplier: real m ≥ 0 → [int32 mantissa in [2^30, 2^31), shift] with m ≈ mantissa · 2^(shift−31). */
export function quantizeMultiplier(m: number): { multiplier: number; shift: number } {
  if (!(m > 0) || !Number.isFinite(m)) return { multiplier: 0, shift: 0 };
  // frexp: m = q · 2^shift with q in [0.5, 1).
  let shift = Math.floor(Math.log2(m)) + 1;
  let q = m / 2 ** shift;
  // log2 rounding can be off by one at exact powers of two.
  if (q >= 1) {
    q /= 2;
    shift++;
  } else if (q < 0.5) {
    q *= 2;
    shift--;
  }
  let qFixed = Math.round(q * TWO31);
  if (qFixed === TWO31) {
    qFixed /= 2;
    shift++;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  // TFLite caps left shifts at 30 (a multiplier that large means the scales are broken, not a real model).
  if (shift > 30) return { multiplier: INT32_MAX, shift: 30 };
  return { multiplier: qFixed, shift };
}

/** (a · b · 2 + 2^31 rounding nudge) / 2^31 truncated, saturating the single overflow case, for int32 a and b. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  // Fast path: |a| < 2^22 keeps |a·b| < 2^53, so the double product, the nudge and the division by 2^31 are exact.
  if (a < 4194304 && a > -4194304) {
    const ab = a * b;
    return ((ab + (ab >= 0 ? 1073741824 : -1073741823)) / TWO31) | 0; // | 0 truncates toward zero, like C
  }
  // ab = a·b exactly, as p1·2^16 + p2' where p1 = a·bh and p2' = a·bl (|p1| < 2^46, |p2'| < 2^47).
  const bl = b & 0xffff;
  const bh = (b - bl) / 65536;
  const p1 = a * bh;
  const p2 = a * bl;
  // Sign of ab decides the nudge (the C code tests ab >= 0).
  const abNonNeg = (a >= 0) === (b >= 0) || a === 0 || b === 0;
  const nudge = abNonNeg ? 1 << 30 : 1 - (1 << 30);
  // total = ab + nudge = q1·2^31 + s where p1 = q1·2^15 + r1, s = r1·2^16 + p2 + nudge (exact, < 2^49).
  const q1 = Math.floor(p1 / 32768);
  const r1 = p1 - q1 * 32768;
  const s = r1 * 65536 + p2 + nudge;
  const fs = Math.floor(s / TWO31);
  const rem = s - fs * TWO31;
  const floorDiv = q1 + fs;
  // C integer division truncates toward zero.
  return floorDiv < 0 && rem !== 0 ? floorDiv + 1 : floorDiv;
}

/** Round-half-away-from-zero division by 2^exponent (gemmlowp RoundingDivideByPOT), int32 x, 0 ≤ exponent ≤ 31. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = exponent >= 31 ? 0x7fffffff : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** MultiplyByQuantizedMultiplier(x, multiplier, shift): x · multiplier · 2^(shift−31) with TFLite's rounding. */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  // Left shift in int32 arithmetic (wraps like the C code on the rare overflow).
  const xs = left ? (x * 2 ** left) | 0 : x;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(xs, multiplier), right);
}

/**
 * MultiplyByQuantizedMultiplier with a single rounding: round(x · multiplier / 2^(31−shift)), ties away from zero,
 * from the exact 64-bit product (TFLite's TFLITE_SINGLE_ROUNDING and CMSIS-NN's CMSIS_NN_USE_SINGLE_ROUNDING form,
 * which round ties upwards; exact ties need x·multiplier ≡ 2^(30−shift) mod 2^(31−shift), which the accumulators of a
 * real layer essentially never hit). This is tinylab's default (QuantizeOptions.rounding). TFLite's default, the
 * double rounding above, rounds twice, so a value within 2^−(right shift) of a tie can land one step away from
 * round(real value); across a deep net those steps add up (measured on a residual test net against onnxruntime's
 * float QDQ run: 20 % of logits a step off with double rounding, 3 % with single, none once the activation scales
 * also keep 12 significant bits: calibrate.ts SCALE_BITS).
 */
export function multiplyByQuantizedMultiplierSingle(x: number, multiplier: number, shift: number): number {
  const ts = 31 - shift; // 1..62 for shift in [−31, 30]
  const neg = x < 0;
  const ax = neg ? -x : x;
  let q: number;
  let rem: number;
  if (ax < 4194304 || ts < 16 || ts > 47) {
    if (ax >= 4194304) return singleRoundingBig(x, multiplier, ts);
    // |x·m| < 2^53: exact in a double.
    const p = ax * multiplier;
    const d = 2 ** ts;
    q = Math.floor(p / d);
    rem = p - q * d;
  } else {
    // x·m = p1·2^16 + p2 with p1 = x·mh < 2^46 and p2 = x·ml < 2^47; p1 = q1·2^(ts−16) + r1, so
    // x·m = q1·2^ts + s with s = r1·2^16 + p2 < 2^48 (all exact in doubles).
    const ml = multiplier & 0xffff;
    const mh = (multiplier - ml) / 65536;
    const p1 = ax * mh;
    const p2 = ax * ml;
    const d1 = 2 ** (ts - 16);
    const q1 = Math.floor(p1 / d1);
    const r1 = p1 - q1 * d1;
    const sum = r1 * 65536 + p2;
    const d = 2 ** ts;
    const q2 = Math.floor(sum / d);
    q = q1 + q2;
    rem = sum - q2 * d;
  }
  const r = q + (rem >= 2 ** (ts - 1) ? 1 : 0);
  return (neg ? -r : r) | 0;
}

function singleRoundingBig(x: number, multiplier: number, ts: number): number {
  const p = BigInt(x) * BigInt(multiplier);
  const t = BigInt(ts);
  const half = 1n << (t - 1n);
  const r = p >= 0n ? (p + half) >> t : -((-p + half) >> t);
  return Number(BigInt.asIntN(32, r));
}

/** Wrap a double holding an integer to int32 (what an int32 accumulator would hold). */
export function toInt32(x: number): number {
  return x | 0;
}

/** Round half away from zero (TfLiteRound / std::round). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
