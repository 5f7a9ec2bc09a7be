/**
 * The sweep benchmark functions of ../shared/sweep/objectives_reference.py, ported operation for operation in float64
 * (all minimised). The tinyML function's noise is mulberry32 + Box–Muller with `log(1 - u1)`, exactly as the reference
 * draws it (src/common/rng.ts `normal()` uses `log(u)`, so it is not reused here).
 */
import { mulberry32 } from '../common/rng';
import { SearchSpace } from './space';
import type { Params } from './space';

export const BRANIN_MIN = 0.39788735772973816;
export const HARTMANN6_MIN = -3.322368011415515;

export function branin(x1: number, x2: number): number {
  const a = 1.0;
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const r = 6.0;
  const s = 10.0;
  const t = 1 / (8 * Math.PI);
  return a * (x2 - b * x1 * x1 + c * x1 - r) ** 2 + s * (1 - t) * Math.cos(x1) + s;
}

const H6_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
  [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
  [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
  [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];

export function hartmann6(x: ArrayLike<number>): number {
  let total = 0.0;
  for (let i = 0; i < 4; i++) {
    let inner = 0.0;
    for (let j = 0; j < 6; j++) inner += H6_A[i][j] * (x[j] - H6_P[i][j]) ** 2;
    total += H6_ALPHA[i] * Math.exp(-inner);
  }
  return -total;
}

export const TINYML_ACTS = ['relu', 'relu6', 'swish', 'tanh'] as const;
export type TinyAct = (typeof TINYML_ACTS)[number];
const ACT_OFFSET: Record<TinyAct, number> = { relu: 0.0, relu6: 0.004, swish: -0.006, tanh: 0.02 };
export const TINYML_NOISE_SD = 0.005;

export function tinyParams(filters: number, depth: number): number {
  return 9 * filters + depth * (9 * filters + filters * filters);
}

export function tinymlClean(lr: number, filters: number, depth: number, act: TinyAct): number {
  const p = tinyParams(filters, depth);
  const underfit = 0.3 * Math.exp(-p / 2000.0);
  const lrOptLog10 = -2.5 - 0.15 * (depth - 1) + (act === 'tanh' ? 0.3 : 0.0);
  const lrPen = 0.06 * (Math.log10(lr) - lrOptLog10) ** 2;
  const actPen = ACT_OFFSET[act] + (act === 'tanh' ? 0.008 * (depth - 1) : 0.0);
  const depthPen = 0.004 * (depth - 3) ** 2;
  const sizePen = 0.03 * Math.log2(1.0 + p / 8000.0);
  return 0.05 + underfit + lrPen + actPen + depthPen + sizePen;
}

/** The reference's standard normal for (seed, trial index). */
export function tinymlNoise(seed: number, trialIndex: number): number {
  // Python: (seed * 1000003 + trial_index * 7919 + 12345) & 0xFFFFFFFF, in exact integer arithmetic.
  const key = BigInt.asUintN(32, BigInt(seed) * 1000003n + BigInt(trialIndex) * 7919n + 12345n);
  const r = mulberry32(Number(key));
  const u1 = r();
  const u2 = r();
  return Math.sqrt(-2.0 * Math.log(1.0 - u1)) * Math.cos(2.0 * Math.PI * u2);
}

export function tinymlObserved(lr: number, filters: number, depth: number, act: TinyAct, seed: number, trialIndex: number): number {
  return tinymlClean(lr, filters, depth, act) + TINYML_NOISE_SD * tinymlNoise(seed, trialIndex);
}

/** Exact optimum by enumeration (the lr term vanishes at its optimum, inside the range). */
export function tinymlOptimum(): { value: number; lr: number; filters: number; depth: number; act: TinyAct } {
  let best: { value: number; lr: number; filters: number; depth: number; act: TinyAct } | undefined;
  for (const act of TINYML_ACTS)
    for (let depth = 1; depth <= 6; depth++)
      for (let filters = 4; filters <= 64; filters++) {
        const lr = 10 ** (-2.5 - 0.15 * (depth - 1) + (act === 'tanh' ? 0.3 : 0.0));
        const v = tinymlClean(lr, filters, depth, act);
        if (best === undefined || v < best.value) best = { value: v, lr, filters, depth, act };
      }
  return best!;
}

/** A benchmark problem as the bench and tests use it: a space and a (possibly noisy) objective with its clean value. */
export interface BenchmarkProblem {
  name: string;
  space: SearchSpace;
  optimum: number;
  /** Observed value for trial `index` of run `seed`. */
  observe(p: Params, seed: number, index: number): number;
  /** Noise-free value (what the reference table reports). */
  clean(p: Params): number;
}

export const BENCHMARKS: BenchmarkProblem[] = [
  {
    name: 'Branin',
    space: new SearchSpace({ x1: { type: 'uniform', low: -5, high: 10 }, x2: { type: 'uniform', low: 0, high: 15 } }),
    optimum: BRANIN_MIN,
    observe: (p) => branin(Number(p.x1), Number(p.x2)),
    clean: (p) => branin(Number(p.x1), Number(p.x2)),
  },
  {
    name: 'Hartmann6',
    space: new SearchSpace(Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [`x${i + 1}`, { type: 'uniform' as const, low: 0, high: 1 }]))),
    optimum: HARTMANN6_MIN,
    observe: (p) => hartmann6([1, 2, 3, 4, 5, 6].map((i) => Number(p[`x${i}`]))),
    clean: (p) => hartmann6([1, 2, 3, 4, 5, 6].map((i) => Number(p[`x${i}`]))),
  },
  {
    name: 'tinyML mixed',
    space: new SearchSpace({
      lr: { type: 'loguniform', low: 1e-4, high: 1e-1 },
      filters: { type: 'int', low: 4, high: 64 },
      depth: { type: 'int', low: 1, high: 6 },
      act: { type: 'choice', values: [...TINYML_ACTS] },
    }),
    optimum: tinymlOptimum().value,
    observe: (p, seed, index) => tinymlObserved(Number(p.lr), Number(p.filters), Number(p.depth), p.act as TinyAct, seed, index),
    clean: (p) => tinymlClean(Number(p.lr), Number(p.filters), Number(p.depth), p.act as TinyAct),
  },
];
