/**
 * The fixed-point helpers against a BigInt transcription of TFLite's reference C++ (common.h / gemmlowp), on edge
 * cases and on random int32 operands.
 */
import { mulberry32 } from '../../src/common/rng';
import {
  multiplyByQuantizedMultiplier,
  multiplyByQuantizedMultiplierSingle,
  quantizeMultiplier,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../../src/quantize/fixedpoint';

const I32MIN = -2147483648;
const I32MAX = 2147483647;

/** gemmlowp SaturatingRoundingDoublingHighMul, literally, in 64-bit integers. */
function refSrdhm(a: number, b: number): number {
  if (a === I32MIN && b === I32MIN) return I32MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C
}

function refRdbpot(x: number, e: number): number {
  const mask = (1n << BigInt(e)) - 1n;
  const bx = BigInt(x);
  const rem = bx & mask;
  const threshold = (mask >> 1n) + (bx < 0n ? 1n : 0n);
  return Number((bx >> BigInt(e)) + (rem > threshold ? 1n : 0n));
}

function refMbqm(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return refRdbpot(refSrdhm(Number(BigInt.asIntN(32, BigInt(x) << BigInt(left))), m), right);
}

describe('fixed point (TFLite reference rounding)', () => {
  test('SaturatingRoundingDoublingHighMul matches 64-bit integer arithmetic', () => {
    const rng = mulberry32(3);
    const edge = [0, 1, -1, 2, -2, I32MIN, I32MAX, 1 << 30, -(1 << 30), 12345, -12345, 65535, -65536, 65536];
    for (const a of edge) for (const b of edge) expect(saturatingRoundingDoublingHighMul(a, b)).toBe(refSrdhm(a, b));
    for (let i = 0; i < 20000; i++) {
      const a = Math.floor(rng() * 4294967296) - 2147483648;
      const b = Math.floor(rng() * 4294967296) - 2147483648;
      expect(saturatingRoundingDoublingHighMul(a, b)).toBe(refSrdhm(a, b));
      // Accumulator-sized operands (the fast path), including around its 2^22 boundary.
      const small = Math.floor((rng() - 0.5) * 2 ** (1 + Math.floor(rng() * 24)));
      expect(saturatingRoundingDoublingHighMul(small, b)).toBe(refSrdhm(small, b));
    }
    for (const a of [4194303, 4194304, -4194303, -4194304]) for (const b of [I32MAX, I32MIN, 1 << 30, -12345678]) expect(saturatingRoundingDoublingHighMul(a, b)).toBe(refSrdhm(a, b));
  });

  test('RoundingDivideByPOT rounds half away from zero', () => {
    expect(roundingDivideByPOT(5, 1)).toBe(3); // 2.5 → 3
    expect(roundingDivideByPOT(-5, 1)).toBe(-3); // −2.5 → −3
    expect(roundingDivideByPOT(7, 2)).toBe(2); // 1.75 → 2
    expect(roundingDivideByPOT(-6, 2)).toBe(-2); // −1.5 → −2
    const rng = mulberry32(4);
    for (let i = 0; i < 20000; i++) {
      const x = Math.floor(rng() * 4294967296) - 2147483648;
      const e = Math.floor(rng() * 31);
      expect(roundingDivideByPOT(x, e)).toBe(refRdbpot(x, e));
    }
  });

  test('QuantizeMultiplier reproduces the real multiplier to 2^-31 relative precision', () => {
    const rng = mulberry32(5);
    for (let i = 0; i < 2000; i++) {
      const m = Math.exp((rng() - 0.8) * 20);
      const { multiplier, shift } = quantizeMultiplier(m);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplier * 2 ** (shift - 31) - m) / m).toBeLessThan(2 ** -30);
    }
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
  });

  test('MultiplyByQuantizedMultiplier matches the reference and approximates x·m', () => {
    const rng = mulberry32(6);
    for (let i = 0; i < 20000; i++) {
      const x = Math.floor((rng() - 0.5) * 2 ** 24);
      const m = Math.exp((rng() - 0.9) * 12);
      const { multiplier, shift } = quantizeMultiplier(m);
      const got = multiplyByQuantizedMultiplier(x, multiplier, shift);
      expect(got).toBe(refMbqm(x, multiplier, shift));
      // Two roundings (high-mul, then shift): within one unit of the exact product.
      expect(Math.abs(got - x * m)).toBeLessThanOrEqual(1 + Math.abs(x * m) * 2 ** -29);
    }
  });

  test('single-rounding MultiplyByQuantizedMultiplier is round(x·multiplier/2^(31−shift)), ties away, from the exact product', () => {
    // Reference: the 64-bit product in BigInt, one rounding.
    const ref = (x: number, m: number, shift: number): number => {
      const p = BigInt(x) * BigInt(m);
      const t = BigInt(31 - shift);
      const half = 1n << (t - 1n);
      return Number(BigInt.asIntN(32, p >= 0n ? (p + half) >> t : -((-p + half) >> t)));
    };
    const rng = mulberry32(7);
    for (let i = 0; i < 40000; i++) {
      // Operands of every size: accumulators (fast path), full int32 (split path), every shift (BigInt path).
      const bits = 1 + Math.floor(rng() * 31);
      const x = Math.floor((rng() - 0.5) * 2 ** bits);
      const shift = i % 5 === 0 ? Math.floor(rng() * 62) - 31 : -Math.floor(rng() * 16);
      const multiplier = 2 ** 30 + Math.floor(rng() * 2 ** 30);
      expect(multiplyByQuantizedMultiplierSingle(x, multiplier, shift)).toBe(ref(x, multiplier, shift));
    }
    // Exact ties round away from zero: 3·2^30 / 2^31 = 1.5 and −1.5.
    expect(multiplyByQuantizedMultiplierSingle(3, 2 ** 30, 0)).toBe(2);
    expect(multiplyByQuantizedMultiplierSingle(-3, 2 ** 30, 0)).toBe(-2);
    // One rounding: within half a unit of the real product, where double rounding can be a whole unit off.
    for (let i = 0; i < 20000; i++) {
      const x = Math.floor((rng() - 0.5) * 2 ** 24);
      const m = Math.exp((rng() - 0.9) * 12);
      const { multiplier, shift } = quantizeMultiplier(m);
      const exact = (x * multiplier) / 2 ** (31 - shift);
      expect(Math.abs(multiplyByQuantizedMultiplierSingle(x, multiplier, shift) - exact)).toBeLessThanOrEqual(0.5);
    }
  });
});
