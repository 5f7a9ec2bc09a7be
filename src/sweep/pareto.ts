/** Pareto fronts for multi-objective sweeps (accuracy against flash, RAM or latency). */

export type Goal = 'minimize' | 'maximize';

export interface ObjectiveSpec {
  /** A metric the trial returns, or a cost the constraint priced (flash, ram, latencyMs…). */
  metric: string;
  goal: Goal;
}

/** True when a is at least as good as b everywhere and better somewhere (values already oriented: lower is better). */
function dominates(a: number[], b: number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/** Indices of the non-dominated rows of `values` (rows with a non-finite entry are skipped). */
export function paretoFront(values: number[][], goals: Goal[]): number[] {
  const oriented = values.map((row) => row.map((v, i) => (goals[i] === 'maximize' ? -v : v)));
  const idx: number[] = [];
  for (let i = 0; i < oriented.length; i++) {
    if (!oriented[i].every(Number.isFinite)) continue;
    let dominated = false;
    for (let j = 0; j < oriented.length && !dominated; j++) {
      if (j !== i && oriented[j].every(Number.isFinite) && dominates(oriented[j], oriented[i])) dominated = true;
    }
    if (!dominated) idx.push(i);
  }
  return idx;
}

/**
 * ParEGO's augmented Chebyshev scalarisation: objectives normalised to [0, 1] over the observed range (oriented so
 * lower is better), value = max_i w_i f_i + ρ Σ w_i f_i. A fresh random weight vector per proposal walks the front.
 */
export function chebyshev(values: number[][], goals: Goal[], weights: number[], rho = 0.05): number[] {
  const k = goals.length;
  const lo = new Array<number>(k).fill(Infinity);
  const hi = new Array<number>(k).fill(-Infinity);
  const oriented = values.map((row) => row.map((v, i) => (goals[i] === 'maximize' ? -v : v)));
  for (const r of oriented)
    for (let i = 0; i < k; i++) {
      lo[i] = Math.min(lo[i], r[i]);
      hi[i] = Math.max(hi[i], r[i]);
    }
  return oriented.map((r) => {
    let mx = -Infinity;
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const f = hi[i] > lo[i] ? (r[i] - lo[i]) / (hi[i] - lo[i]) : 0;
      mx = Math.max(mx, weights[i] * f);
      sum += weights[i] * f;
    }
    return mx + rho * sum;
  });
}
