/**
 * Activation scales keep 12 significant bits (calibrate.ts SCALE_BITS) so that a float32 runtime averages pool
 * windows exactly: checked here by simulating float32 arithmetic (Math.fround at every step) against exact integers.
 */
import { mulberry32 } from '../../src/common/rng';
import { SCALE_BITS, qparamsFromRange, roundToSignificantBits } from '../../src/quantize/calibrate';

test('roundToSignificantBits keeps that many bits and moves the value by at most half a unit in the last place', () => {
  const rng = mulberry32(11);
  for (let i = 0; i < 5000; i++) {
    const x = Math.exp((rng() - 0.5) * 40);
    const r = roundToSignificantBits(x, SCALE_BITS);
    const e = Math.floor(Math.log2(r)) - (SCALE_BITS - 1);
    expect(Number.isInteger(r / 2 ** e) || Number.isInteger(r / 2 ** (e + 1))).toBe(true);
    expect(Math.abs(r - x) / x).toBeLessThanOrEqual(2 ** -SCALE_BITS);
    expect(Math.fround(r)).toBe(r);
  }
  // Powers of two and values just below them.
  for (const x of [1, 0.5, 2 ** -20, 1 - 1e-9, 0.25 * (1 - 1e-7)]) expect(Math.abs(roundToSignificantBits(x, SCALE_BITS) - x) / x).toBeLessThanOrEqual(2 ** -SCALE_BITS);
});

test('with those scales a float32 mean of up to 16 dequantized int8 values is exact, so rounding ties survive', () => {
  const rng = mulberry32(12);
  let ties = 0;
  for (let i = 0; i < 20000; i++) {
    const q = qparamsFromRange(-rng() * 10, rng() * 50);
    const n = [2, 4, 8, 16][i % 4];
    let exact = 0;
    let f = 0;
    for (let k = 0; k < n; k++) {
      const v = Math.floor(rng() * 256) - 128;
      exact += v - q.zeroPoint;
      f = Math.fround(f + Math.fround((v - q.zeroPoint) * q.scale));
    }
    // What onnxruntime computes: the float32 mean, divided by the scale, in float32.
    const m = Math.fround(Math.fround(f / n) / q.scale);
    expect(m).toBe(exact / n);
    if ((2 * exact) % n === 0 && (exact * 2 / n) % 2 !== 0) ties++;
  }
  expect(ties).toBeGreaterThan(1000);
});
