/**
 * Synthetic 3-axis accelerometer gestures, the time-series side of tinyML (think a wrist-worn IMU at 50 Hz).
 *
 * Each sample is `length` readings of (ax, ay, az) in g, sample shape [length, 3]. Every sample has:
 *  - gravity: 1 g, on a randomly tilted axis (tilt up to ±20°), so the class is not in the mean;
 *  - the gesture's motion pattern with random amplitude (±30 %), frequency (±20 %), phase and start time;
 *  - white noise (std `noise`, default 0.05 g) and a slow sensor drift (linear ramp up to ±`drift` g per axis).
 * Classes (in this order):
 *  0 idle    — nothing but gravity, noise, drift
 *  1 wave    — side to side: ax ≈ 0.8 sin(2π·2.0 Hz·t)
 *  2 circle  — ax, ay ≈ 0.6 (sin, cos)(2π·1.2 Hz·t): a circle in the x-y plane
 *  3 shake   — fast, small, all axes: 0.4 sin(2π·6 Hz·t) with per-axis phases
 *  4 punch   — one sharp forward jab: a Gaussian pulse (σ 0.06 s, +2.5 g) then a rebound (−1 g) on ax
 *  5 lift    — raise and lower: az ≈ 0.7 sin(2π·0.8 Hz·t) (a slow vertical oscillation)
 * Deterministic from `seed`: the same options give bit-identical data.
 */
import { InputError } from '../common/errors';
import { mulberry32, normal, Rng } from '../common/rng';
import { SplitOptions, splitDataset } from './split';
import { Dataset, DataSplits } from './types';

export const GESTURE_CLASSES = ['idle', 'wave', 'circle', 'shake', 'punch', 'lift'] as const;

export interface GestureOptions {
  seed?: number;
  samplesPerClass?: number;
  /** Readings per sample (default 128 = 2.56 s at 50 Hz). */
  length?: number;
  sampleRate?: number;
  /** White-noise std in g (default 0.05). */
  noise?: number;
  /** Max drift over a sample, g per axis (default 0.1). */
  drift?: number;
  /** Subset of GESTURE_CLASSES by name (default all six). */
  classes?: string[];
}

function motion(cls: string, t: number, p: { amp: number; freq: number; phase: number; t0: number }): [number, number, number] {
  const w = 2 * Math.PI * p.freq;
  switch (cls) {
    case 'idle':
      return [0, 0, 0];
    case 'wave':
      return [0.8 * p.amp * Math.sin(w * 2.0 * t + p.phase), 0.1 * p.amp * Math.sin(w * 4.0 * t), 0];
    case 'circle':
      return [0.6 * p.amp * Math.sin(w * 1.2 * t + p.phase), 0.6 * p.amp * Math.cos(w * 1.2 * t + p.phase), 0];
    case 'shake':
      return [
        0.4 * p.amp * Math.sin(w * 6 * t + p.phase),
        0.4 * p.amp * Math.sin(w * 6 * t + p.phase + 2.1),
        0.4 * p.amp * Math.sin(w * 6 * t + p.phase + 4.2),
      ];
    case 'punch': {
      const u = t - p.t0;
      const jab = 2.5 * p.amp * Math.exp(-(u * u) / (2 * 0.06 * 0.06));
      const r = u - 0.18;
      const rebound = -1.0 * p.amp * Math.exp(-(r * r) / (2 * 0.08 * 0.08));
      return [jab + rebound, 0.1 * jab, 0];
    }
    case 'lift':
      return [0, 0.1 * p.amp * Math.sin(w * 0.8 * t + p.phase), 0.7 * p.amp * Math.sin(w * 0.8 * t + p.phase)];
    default:
      throw new InputError(`unknown gesture class '${cls}': use ${GESTURE_CLASSES.join(', ')}`);
  }
}

function tiltedGravity(rng: Rng): [number, number, number] {
  const a = ((rng() * 2 - 1) * 20 * Math.PI) / 180;
  const b = ((rng() * 2 - 1) * 20 * Math.PI) / 180;
  return [Math.sin(a), Math.sin(b) * Math.cos(a), Math.cos(a) * Math.cos(b)];
}

/** The whole gesture set as one Dataset, sample shape [length, 3]. */
export function makeGestureDataset(opts: GestureOptions = {}): Dataset {
  const classes = opts.classes ?? [...GESTURE_CLASSES];
  for (const c of classes) {
    if (!(GESTURE_CLASSES as readonly string[]).includes(c)) {
      throw new InputError(`unknown gesture class '${c}': use ${GESTURE_CLASSES.join(', ')}`);
    }
  }
  const perClass = opts.samplesPerClass ?? 200;
  const length = opts.length ?? 128;
  const rate = opts.sampleRate ?? 50;
  const noise = opts.noise ?? 0.05;
  const drift = opts.drift ?? 0.1;
  const rng = mulberry32(opts.seed ?? 0);
  const n = perClass * classes.length;
  const x = new Float32Array(n * length * 3);
  const y = new Int32Array(n);
  let s = 0;
  for (let ci = 0; ci < classes.length; ci++) {
    for (let k = 0; k < perClass; k++, s++) {
      y[s] = ci;
      const g = tiltedGravity(rng);
      const p = {
        amp: 0.7 + 0.6 * rng(),
        freq: 0.8 + 0.4 * rng(),
        phase: rng() * 2 * Math.PI,
        t0: (0.2 + 0.6 * rng()) * (length / rate),
      };
      const d = [(rng() * 2 - 1) * drift, (rng() * 2 - 1) * drift, (rng() * 2 - 1) * drift];
      const base = s * length * 3;
      for (let i = 0; i < length; i++) {
        const t = i / rate;
        const m = motion(classes[ci], t, p);
        const frac = i / Math.max(1, length - 1);
        for (let a = 0; a < 3; a++) {
          x[base + i * 3 + a] = g[a] + m[a] + d[a] * frac + noise * normal(rng);
        }
      }
    }
  }
  return { x, y, sampleShape: [length, 3], numClasses: classes.length, classNames: [...classes], name: 'gestures' };
}

/** Gesture data as stratified seeded splits (default 80/10/10). */
export function makeGestureData(opts: GestureOptions & SplitOptions = {}): DataSplits {
  return splitDataset(makeGestureDataset(opts), { ...opts, seed: opts.seed });
}
