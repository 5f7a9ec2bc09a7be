/**
 * Activation range selection from a calibration set. Two passes of the float graph: the first finds every tensor's
 * min/max, the second fills a histogram over that range; the methods then pick the clipping range [lo, hi]:
 * - minmax: the observed range;
 * - percentile: the p-th and (100−p)-th percentiles (p = 99.99 by default);
 * - mse: the range of the form α·[min, max] minimising the expected squared quantization error (rounding + clipping);
 * - kl: the range minimising KL(P‖Q) between the clipped histogram and its int8-quantized version (TensorRT's entropy
 *   calibration, with the histogram's own range and 256 levels instead of |x| and 128).
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfAborted } from '../common/errors';
import type { LongRunOptions } from '../common/progress';
import { runGraphTf } from './exec';
import type { CalibrationMethod, DeployedModel, QParams } from './types';

export interface TensorStats {
  min: number;
  max: number;
  /** Histogram over [min, max] (filled by the second pass). */
  hist: Float64Array;
  count: number;
  /** Exact zeros (ReLU outputs are mostly zeros; zero is exact in int8, so KL leaves that spike out). */
  zeros: number;
}

export interface CollectOptions extends LongRunOptions {
  batchSize?: number;
  /** Histogram bins (default 2048). */
  bins?: number;
}

/** Observe every activation tensor of the float graph over the samples. */
export function collectStats(
  dm: DeployedModel,
  x: Float32Array,
  sampleShape: number[],
  opts: CollectOptions = {},
): Record<string, TensorStats> {
  const f = sampleShape.reduce((p, q) => p * q, 1);
  const n = x.length / f;
  const bs = opts.batchSize ?? 128;
  const bins = opts.bins ?? 2048;
  const stats: Record<string, TensorStats> = {};
  const batches = Math.ceil(n / bs);
  for (let pass = 0; pass < 2; pass++) {
    for (let b = 0; b < batches; b++) {
      throwIfAborted(opts.signal, 'calibration interrupted');
      const s = b * bs;
      const e = Math.min(n, s + bs);
      const xb = tf.tensor(x.subarray(s * f, e * f), [e - s, ...sampleShape]);
      const y = runGraphTf(dm, xb, {
        collect: (name, t) => {
          const v = t.dataSync() as Float32Array;
          let st = stats[name];
          if (pass === 0) {
            if (!st) st = stats[name] = { min: Infinity, max: -Infinity, hist: new Float64Array(bins), count: 0, zeros: 0 };
            let mn = st.min, mx = st.max;
            for (let i = 0; i < v.length; i++) {
              const z = v[i];
              if (z < mn) mn = z;
              if (z > mx) mx = z;
            }
            st.min = mn;
            st.max = mx;
          } else {
            const lo = st.min, w = (st.max - st.min) / bins || 1;
            const h = st.hist;
            let zeros = 0;
            for (let i = 0; i < v.length; i++) {
              if (v[i] === 0) zeros++;
              let k = Math.floor((v[i] - lo) / w);
              if (k >= bins) k = bins - 1;
              else if (k < 0) k = 0;
              h[k]++;
            }
            st.count += v.length;
            st.zeros += zeros;
          }
        },
      });
      y.dispose();
      xb.dispose();
      opts.onProgress?.({ task: 'calibrate', done: pass * batches + b + 1, total: 2 * batches, message: `calibration pass ${pass + 1}/2, batch ${b + 1}/${batches}` });
    }
  }
  return stats;
}

/**
 * Significant bits kept in activation scales. A float runtime (onnxruntime on our QDQ export) averages a pool window
 * as Σ (q − zp)·s / n and then rounds; when s has at most 12 significant bits each (q − zp)·s (≤ 8 + 12 bits) and
 * the sum of up to 16 of them (≤ 24 bits) are exact float32 values, so a mean that lands exactly on a rounding tie
 * stays a tie and rounds half to even there as in our integer engine, instead of by float error (measured: 1.6 % of
 * a 2×2 pool's outputs a step apart, against none). The scale moves by at most 2^−13 of itself, far below a step.
 */
export const SCALE_BITS = 12;

/** x rounded to `bits` significant bits (a float32 value). */
export function roundToSignificantBits(x: number, bits: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return Math.fround(x);
  const e = Math.floor(Math.log2(x)) - (bits - 1);
  let m = Math.round(x / 2 ** e);
  // log2 can be off by one near powers of two: keep the mantissa below 2^bits.
  if (m >= 2 ** bits) m = Math.round(m / 2) * 2;
  return Math.fround(m * 2 ** e);
}

/** Asymmetric int8 parameters for a float range (widened to include 0, so zero is exact, as TFLite requires). */
export function qparamsFromRange(lo: number, hi: number): QParams {
  const a = Math.min(lo, 0);
  let b = Math.max(hi, 0);
  if (b - a < 1e-12) b = a + 1e-12;
  // float32, as .tflite/ONNX files store scales: every consumer sees the same value. Rounded to SCALE_BITS
  // significant bits, so that float runtimes average exactly: see SCALE_BITS.
  const scale = roundToSignificantBits((b - a) / 255, SCALE_BITS);
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - a / scale)));
  return { scale, zeroPoint, min: (-128 - zeroPoint) * scale, max: (127 - zeroPoint) * scale };
}

function fq(v: number, q: QParams): number {
  const r = Math.round(v / q.scale) + q.zeroPoint;
  return ((r < -128 ? -128 : r > 127 ? 127 : r) - q.zeroPoint) * q.scale;
}

/** Candidate shrink factors α for ranges α·[min, max]: dense near 1, geometric down to 1 %. */
function candidates(): number[] {
  const out: number[] = [];
  for (let k = 0; k < 160; k++) out.push(0.97 ** k);
  return out.filter((a) => a >= 0.01);
}

function mseOf(st: TensorStats, q: QParams): number {
  const bins = st.hist.length;
  const w = (st.max - st.min) / bins;
  let e = 0;
  for (let k = 0; k < bins; k++) {
    const c = st.hist[k];
    if (!c) continue;
    const v = st.min + (k + 0.5) * w;
    const d = v - fq(v, q);
    e += c * d * d;
  }
  return e;
}

function klOf(st: TensorStats, q: QParams): number {
  const bins = st.hist.length;
  const w = (st.max - st.min) / bins;
  const lo = Math.max(0, Math.floor((q.min - st.min) / w));
  const hi = Math.min(bins - 1, Math.ceil((q.max - st.min) / w) - 1);
  if (hi < lo) return Infinity;
  // P: the in-range histogram with the clipped mass added to its edge bins (what clipping does to the values).
  const m = hi - lo + 1;
  const hist = Float64Array.from(st.hist);
  const zeroBin = Math.min(bins - 1, Math.max(0, Math.floor((0 - st.min) / w)));
  hist[zeroBin] = Math.max(0, hist[zeroBin] - st.zeros);
  const p = new Float64Array(m);
  for (let k = 0; k < bins; k++) p[Math.min(hi, Math.max(lo, k)) - lo] += hist[k];
  // Q: the in-range histogram WITHOUT the clipped mass, each int8 level's mass spread evenly over its non-empty bins
  // (TensorRT's construction: clipping costs divergence at the edges, rounding costs it inside).
  const level = new Int32Array(m);
  const levelMass = new Map<number, number>();
  const levelBins = new Map<number, number>();
  for (let j = 0; j < m; j++) {
    const v = st.min + (lo + j + 0.5) * w;
    const l = Math.max(-128, Math.min(127, Math.round(v / q.scale) + q.zeroPoint));
    level[j] = l;
    const h = hist[lo + j];
    if (h > 0) {
      levelMass.set(l, (levelMass.get(l) ?? 0) + h);
      levelBins.set(l, (levelBins.get(l) ?? 0) + 1);
    }
  }
  let pTotal = 0;
  let qTotal = 0;
  for (let j = 0; j < m; j++) pTotal += p[j];
  const qv = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    qv[j] = hist[lo + j] > 0 ? levelMass.get(level[j])! / levelBins.get(level[j])! : 0;
    qTotal += qv[j];
  }
  const eps = 1e-4;
  let kl = 0;
  for (let j = 0; j < m; j++) {
    if (!(p[j] > 0)) continue;
    const pj = p[j] / pTotal;
    const qj = Math.max(qv[j] / qTotal, eps / m);
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}

function percentileRange(st: TensorStats, pct: number): [number, number] {
  const bins = st.hist.length;
  const w = (st.max - st.min) / bins;
  const tail = (st.count * (100 - pct)) / 100;
  let acc = 0;
  let lo = st.min;
  for (let k = 0; k < bins; k++) {
    acc += st.hist[k];
    if (acc > tail) {
      lo = st.min + k * w;
      break;
    }
  }
  acc = 0;
  let hi = st.max;
  for (let k = bins - 1; k >= 0; k--) {
    acc += st.hist[k];
    if (acc > tail) {
      hi = st.min + (k + 1) * w;
      break;
    }
  }
  return [st.min >= 0 ? 0 : Math.max(st.min, lo), Math.min(st.max, hi)];
}

/** Choose a tensor's int8 parameters from its statistics with the given method. */
export function chooseQParams(st: TensorStats, method: CalibrationMethod, opts: { percentile?: number } = {}): QParams {
  const base = { observedMin: st.min, observedMax: st.max };
  if (!Number.isFinite(st.min) || !Number.isFinite(st.max)) return { ...qparamsFromRange(0, 1), ...base };
  if (method === 'minmax' || st.max - st.min < 1e-12 || st.count === 0) return { ...qparamsFromRange(st.min, st.max), ...base };
  if (method === 'percentile') {
    const [lo, hi] = percentileRange(st, opts.percentile ?? 99.99);
    return { ...qparamsFromRange(lo, hi), ...base };
  }
  const score = method === 'mse' ? mseOf : klOf;
  let best = qparamsFromRange(st.min, st.max);
  let bestScore = score(st, best);
  // KL needs every int8 level to span at least one histogram bin, else the comparison is vacuous.
  const minAlpha = method === 'kl' ? 256 / st.hist.length : 0;
  for (const a of candidates()) {
    if (a < minAlpha) break;
    const q = qparamsFromRange(st.min * a, st.max * a);
    const s = score(st, q);
    if (s < bestScore) {
      bestScore = s;
      best = q;
    }
  }
  return { ...best, ...base };
}
