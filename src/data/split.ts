/** Subsets, stratified seeded splits, normalisation, batching: all on flat typed arrays. */
import { InputError } from '../common/errors';
import { mulberry32, shuffleInPlace } from '../common/rng';
import { Dataset, DataSplits, datasetSize } from './types';

export function featureSize(d: Dataset): number {
  return d.sampleShape.reduce((a, b) => a * b, 1);
}

/** The samples at `indices`, in that order (copies). */
export function subset(d: Dataset, indices: ArrayLike<number>, name = d.name): Dataset {
  const f = featureSize(d);
  const x = new Float32Array(indices.length * f);
  const hasY = d.y.length > 0;
  const y = new Int32Array(hasY ? indices.length : 0);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    x.set(d.x.subarray(j * f, (j + 1) * f), i * f);
    if (hasY) y[i] = d.y[j];
  }
  return { ...d, x, y, name };
}

export interface SplitOptions {
  seed?: number;
  /** Fraction for training (default 0.8); validation gets valFraction (default 0.1); test the rest. */
  trainFraction?: number;
  valFraction?: number;
  /** Keep class proportions in every split (default true when labels exist). */
  stratify?: boolean;
}

/**
 * Deterministic split: per class (stratified) the indices are shuffled with the seed and cut by the fractions, then
 * each split is shuffled once more so classes are interleaved.
 */
export function splitDataset(d: Dataset, opts: SplitOptions = {}): DataSplits {
  const trainFraction = opts.trainFraction ?? 0.8;
  const valFraction = opts.valFraction ?? 0.1;
  if (trainFraction <= 0 || valFraction < 0 || trainFraction + valFraction > 1 + 1e-9) {
    throw new InputError(
      `split fractions train=${trainFraction}, val=${valFraction} are invalid: use 0 < train, 0 <= val, train + val <= 1`,
    );
  }
  const rng = mulberry32(opts.seed ?? 0);
  const n = datasetSize(d);
  const stratify = (opts.stratify ?? true) && d.y.length === n && d.numClasses > 0;
  const groups: number[][] = [];
  if (stratify) {
    for (let c = 0; c < d.numClasses; c++) groups.push([]);
    for (let i = 0; i < n; i++) groups[d.y[i]].push(i);
  } else {
    groups.push(Array.from({ length: n }, (_, i) => i));
  }
  const tr: number[] = [], va: number[] = [], te: number[] = [];
  for (const g of groups) {
    shuffleInPlace(g, rng);
    const nTr = Math.round(g.length * trainFraction);
    const nVa = Math.round(g.length * valFraction);
    tr.push(...g.slice(0, nTr));
    va.push(...g.slice(nTr, nTr + nVa));
    te.push(...g.slice(nTr + nVa));
  }
  shuffleInPlace(tr, rng);
  shuffleInPlace(va, rng);
  shuffleInPlace(te, rng);
  return {
    train: subset(d, tr, `${d.name}/train`),
    val: subset(d, va, `${d.name}/val`),
    test: subset(d, te, `${d.name}/test`),
  };
}

export interface NormStats {
  mean: number;
  std: number;
}

/** Per-dataset scalar mean/std (compute on train, apply to all splits). */
export function computeNormStats(d: Dataset): NormStats {
  let s = 0, s2 = 0;
  for (let i = 0; i < d.x.length; i++) {
    s += d.x[i];
    s2 += d.x[i] * d.x[i];
  }
  const n = Math.max(1, d.x.length);
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(s2 / n - mean * mean, 1e-12)) };
}

/** (x − mean) / std into a new dataset; stats default to the dataset's own. */
export function normalize(d: Dataset, stats: NormStats = computeNormStats(d)): Dataset {
  const x = new Float32Array(d.x.length);
  const inv = 1 / stats.std;
  for (let i = 0; i < x.length; i++) x[i] = (d.x[i] - stats.mean) * inv;
  return { ...d, x };
}

/** One-hot rows as a flat Float32Array [n, numClasses]. */
export function oneHot(y: Int32Array, numClasses: number): Float32Array {
  const out = new Float32Array(y.length * numClasses);
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0 || y[i] >= numClasses) throw new InputError(`label ${y[i]} at sample ${i} is outside [0, ${numClasses})`);
    out[i * numClasses + y[i]] = 1;
  }
  return out;
}

export interface Batch {
  /** Samples [size, ...sampleShape], flat. */
  x: Float32Array;
  y: Int32Array;
  size: number;
  /** Indices into the dataset. */
  indices: Int32Array;
}

/** Mini-batches; with `shuffle` a seeded permutation per call. The last batch may be smaller. */
export function* batches(d: Dataset, batchSize: number, opts: { shuffle?: boolean; seed?: number } = {}): Generator<Batch> {
  const n = datasetSize(d);
  const f = featureSize(d);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (opts.shuffle) shuffleInPlace(order, mulberry32(opts.seed ?? 0));
  const hasY = d.y.length > 0;
  for (let start = 0; start < n; start += batchSize) {
    const idx = order.subarray(start, Math.min(n, start + batchSize));
    const size = idx.length;
    const x = new Float32Array(size * f);
    const y = new Int32Array(hasY ? size : 0);
    for (let i = 0; i < size; i++) {
      const j = idx[i];
      x.set(d.x.subarray(j * f, (j + 1) * f), i * f);
      if (hasY) y[i] = d.y[j];
    }
    yield { x, y, size, indices: idx };
  }
}

/** Per-class counts (for display and stratification checks). */
export function classCounts(d: Dataset): number[] {
  const c = new Array<number>(d.numClasses).fill(0);
  for (let i = 0; i < d.y.length; i++) c[d.y[i]]++;
  return c;
}
