/** Small numeric helpers the tests share: seeded random arrays, an error measure against a reference, finite differences. */
import { mulberry32 } from '../../src/common/rng';

export type Arr = { data: Float32Array; shape: number[] };

/** A generator of seeded uniform arrays in offset ± scale. */
export function randomArrays(seed: number): (shape: number[], offset?: number, scale?: number) => Arr {
  const rng = mulberry32(seed);
  return (shape, offset = 0, scale = 1) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (rng() * 2 - 1) * scale + offset;
    return { data, shape };
  };
}

/** Largest error relative to the reference's largest magnitude (entries near zero come from cancelling sums). */
export function relError(a: Float32Array, b: Float32Array): number {
  let maxRef = 0, maxErr = 0;
  for (let i = 0; i < b.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(b[i]));
    maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
  }
  return maxRef === 0 ? maxErr : maxErr / maxRef;
}

/** Central differences of f at x along each coordinate (step h): the independent check of an analytic gradient. */
export function finiteDifferences(f: (x: number[]) => number, x: number[], h = 1e-5): number[] {
  return x.map((_, i) => {
    const xp = x.slice();
    xp[i] += h;
    const xm = x.slice();
    xm[i] -= h;
    return (f(xp) - f(xm)) / (2 * h);
  });
}
