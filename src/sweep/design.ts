/**
 * Initial designs for the Bayesian optimizer: a scrambled (random digital shift) Sobol sequence with Joe–Kuo direction
 * numbers for up to 21 dimensions, and Latin hypercube sampling (any dimension). Both fill the unit cube evenly
 * so the first surrogate sees the whole space.
 */
import type { Rng } from '../common/rng';

// Joe & Kuo (2008) new-joe-kuo-6.21201, dimensions 2..21: [s, a, m_1..m_s]. Dimension 1 is the van der Corput sequence.
const JOE_KUO: number[][] = [
  [1, 0, 1],
  [2, 1, 1, 3],
  [3, 1, 1, 3, 1],
  [3, 2, 1, 1, 1],
  [4, 1, 1, 1, 3, 3],
  [4, 4, 1, 3, 5, 13],
  [5, 2, 1, 1, 5, 5, 17],
  [5, 4, 1, 1, 5, 5, 5],
  [5, 7, 1, 1, 7, 11, 19],
  [5, 11, 1, 1, 5, 1, 1],
  [5, 13, 1, 1, 1, 3, 11],
  [5, 14, 1, 3, 5, 5, 31],
  [6, 1, 1, 3, 3, 9, 7, 49],
  [6, 13, 1, 1, 1, 15, 21, 21],
  [6, 16, 1, 3, 1, 13, 27, 49],
  [6, 19, 1, 1, 1, 15, 7, 5],
  [6, 22, 1, 3, 1, 15, 13, 25],
  [6, 25, 1, 1, 5, 5, 19, 61],
  [7, 1, 1, 3, 7, 11, 23, 15, 103],
  [7, 4, 1, 3, 7, 13, 13, 15, 69],
];
export const SOBOL_MAX_DIM = JOE_KUO.length + 1;
const BITS = 30;

function directionNumbers(dim: number): Uint32Array[] {
  const V: Uint32Array[] = [];
  const v0 = new Uint32Array(BITS);
  for (let i = 0; i < BITS; i++) v0[i] = 1 << (BITS - 1 - i);
  V.push(v0);
  for (let d = 1; d < dim; d++) {
    const [s, a, ...m] = JOE_KUO[d - 1];
    const v = new Uint32Array(BITS);
    for (let i = 0; i < Math.min(s, BITS); i++) v[i] = m[i] << (BITS - 1 - i);
    for (let i = s; i < BITS; i++) {
      let x = v[i - s] ^ (v[i - s] >>> s);
      for (let k = 1; k < s; k++) if ((a >>> (s - 1 - k)) & 1) x ^= v[i - k];
      v[i] = x;
    }
    V.push(v);
  }
  return V;
}

/** The first `n` points of a `dim`-dimensional Sobol sequence, digitally shifted by `rng` (unshifted without rng). */
export function sobol(n: number, dim: number, rng?: Rng): number[][] {
  if (dim > SOBOL_MAX_DIM) throw new RangeError(`sobol: at most ${SOBOL_MAX_DIM} dimensions (got ${dim}); use lhs()`);
  const V = directionNumbers(dim);
  const shift = new Uint32Array(dim);
  if (rng) for (let d = 0; d < dim; d++) shift[d] = Math.floor(rng() * (1 << BITS));
  const x = new Uint32Array(dim);
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      // Gray-code order: flip the direction number of the lowest zero bit of i-1
      let c = 0;
      let v = i - 1;
      while (v & 1) {
        v >>>= 1;
        c++;
      }
      for (let d = 0; d < dim; d++) x[d] ^= V[d][c];
    }
    out.push(Array.from(x, (xd, d) => ((xd ^ shift[d]) >>> 0) / (1 << BITS)));
  }
  return out;
}

/** Latin hypercube: each dimension cut into n strata, one point per stratum, strata paired at random. */
export function lhs(n: number, dim: number, rng: Rng): number[][] {
  const out = Array.from({ length: n }, () => new Array<number>(dim));
  for (let d = 0; d < dim; d++) {
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    for (let i = 0; i < n; i++) out[i][d] = (perm[i] + rng()) / n;
  }
  return out;
}
