/**
 * Fitting the instruction-count model (src/mcu/instructions.ts) to instructions counted under QEMU, and measuring
 * how well a fitted table predicts layers it was not fitted on.
 *
 * Least squares per (core, kernel family) on the features of kernelWork(): columns are scaled to unit RMS before
 * solving (MACs are ~1e5, 'calls' is 1) and a tiny ridge term keeps a family whose layers are all one shape (so two
 * features are proportional) solvable; it changes well-determined fits by far less than the timing granularity.
 */
import type { GraphNode } from '../../graph/types';
import { FAMILY_FEATURES, kernelWork, predictInstructions, type InstructionCosts, type KernelFamily } from '../../mcu/instructions';

export interface MeasuredLayer {
  model: string;
  core: string;
  node: GraphNode;
  /** Instructions counted under QEMU (mean over samples). */
  instructions: number;
}

/** Solve (AᵀA + λI) x = Aᵀb by Gaussian elimination with partial pivoting. */
export function ridgeSolve(rows: number[][], b: number[], lambda: number): number[] {
  const p = rows[0]?.length ?? 0;
  const m = Array.from({ length: p }, (_, i) => Array.from({ length: p + 1 }, (_, j) => (j === p ? rows.reduce((s, r, k) => s + r[i] * b[k], 0) : rows.reduce((s, r) => s + r[i] * r[j], 0) + (i === j ? lambda : 0))));
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    [m[c], m[piv]] = [m[piv], m[c]];
    if (m[c][c] === 0) continue;
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let j = c; j <= p; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row, i) => (row[i] === 0 ? 0 : row[p] / row[i]));
}

/** Fit coefficients per core and family from measured layers. */
export function fitInstructionCosts(layers: MeasuredLayer[]): InstructionCosts['cores'] {
  const groups = new Map<string, { core: string; family: KernelFamily; x: number[][]; y: number[] }>();
  for (const l of layers) {
    const w = kernelWork(l.node);
    if (!w) continue;
    const key = `${l.core}/${w.family}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { core: l.core, family: w.family, x: [], y: [] }));
    g.x.push(w.features);
    g.y.push(l.instructions);
  }
  const cores: InstructionCosts['cores'] = {};
  for (const g of [...groups.values()].sort((a, b) => a.core.localeCompare(b.core) || a.family.localeCompare(b.family))) {
    // With fewer distinct layer shapes than features the system is underdetermined: keep the leading features (the
    // per-work terms; 'calls', the per-layer constant, is last) rather than let the solver spread cost arbitrarily.
    const distinct = new Set(g.x.map((r) => r.join(','))).size;
    const p = Math.min(FAMILY_FEATURES[g.family].length, distinct);
    g.x = g.x.map((r) => r.slice(0, p));
    const scale = Array.from({ length: p }, (_, j) => Math.sqrt(g.x.reduce((s, r) => s + r[j] * r[j], 0) / g.x.length) || 1);
    const xs = g.x.map((r) => r.map((v, j) => v / scale[j]));
    const lambda = 1e-6 * g.x.length;
    const beta = ridgeSolve(xs, g.y, lambda).map((v, j) => v / scale[j]);
    const full = FAMILY_FEATURES[g.family].map((_, j) => beta[j] ?? 0);
    (cores[g.core] ??= {})[g.family] = full.map((v) => Number(v.toPrecision(5)));
  }
  return cores;
}

export interface FitError {
  /** Layers compared (those with at least minInstructions measured). */
  layers: number;
  maxPct: number;
  meanPct: number;
  /** Whole-model instructions (all layers): predicted vs measured, worst model. */
  worstModelPct: number;
  worst?: { model: string; layer: string; measured: number; predicted: number };
}

/**
 * Per-layer relative error of a cost table on measured layers of one core. Layers under minInstructions are left
 * out of the per-layer figures: at 40–50 instructions per timer tick their measurement itself is uncertain by more
 * than a few percent; they still count in the whole-model totals.
 */
export function fitError(costs: InstructionCosts, layers: MeasuredLayer[], minInstructions = 2000): FitError {
  let max = 0, sum = 0, n = 0;
  let worst: FitError['worst'];
  const totals = new Map<string, { m: number; p: number }>();
  for (const l of layers) {
    const pred = predictInstructions(l.node, l.core, costs);
    const t = totals.get(l.model) ?? { m: 0, p: 0 };
    t.m += l.instructions;
    t.p += pred;
    totals.set(l.model, t);
    if (l.instructions < minInstructions) continue;
    const e = (100 * Math.abs(pred - l.instructions)) / l.instructions;
    sum += e;
    n++;
    if (e >= max) {
      max = e;
      worst = { model: l.model, layer: l.node.name, measured: l.instructions, predicted: pred };
    }
  }
  let worstModelPct = 0;
  for (const t of totals.values()) if (t.m > 0) worstModelPct = Math.max(worstModelPct, (100 * Math.abs(t.p - t.m)) / t.m);
  return { layers: n, maxPct: max, meanPct: n ? sum / n : 0, worstModelPct, worst };
}
