/**
 * npm run bench:sweep — sample efficiency of our optimizers on the ../shared/sweep benchmark functions (Branin,
 * Hartmann6, the noisy mixed tinyML function), 20 seeds each: median best-so-far after 10/20/30/50 evaluations beside
 * the reference figures (Optuna TPE and random search), the Bayesian optimizer's proposal time at 50 observations,
 * and the wall-time speed-up of `parallel: 2` over `parallel: 1` on equal CPU-bound trials.
 *
 * For the noisy function the figure is the noise-free value of the trial reported as best. Two rules are printed:
 * "min-observed" (the lowest observed value: what Optuna's best_trial, hence the reference, reports) and, for the
 * Bayesian optimizer, "GP rec." (its recommendation, `BayesOpt.recommend`: the tried point with the lowest GP
 * posterior mean — what `sweep()` reports as `best`, %%sweep shows and the store keeps). Random search has no surrogate:
 * its reported best is min-observed, so it has one row. The goal compares our reported best (GP rec.) with TPE's
 * reported best (best_trial): each optimizer as its user sees it. On the deterministic functions the rules mostly agree.
 * Runs (problem, optimizer, seed) jobs on two child processes; the last line is one JSON object.
 */
import * as os from 'os';
import { BENCHMARKS } from '../src/sweep/benchmarks';
import { makeOptimizer } from '../src/sweep/optimizers';
import type { Observation, SweepOptimizerName } from '../src/sweep/optimizers';
import { ProcessPool } from '../src/sweep/pool';
import { sweep } from '../src/sweep/sweep';

const CHECKPOINTS = [10, 20, 30, 50];
const SEEDS = Number(process.env.SWEEP_BENCH_SEEDS ?? 20);
// development knobs (defaults give the full bench): the first seed (tune on seeds other than the bench's 0..19, e.g.
// SWEEP_BENCH_SEED0=100, so the reported figures are not fitted to their noise), restrict functions (comma-separated
// name prefixes), optimizers, the evaluation budget (checkpoints beyond it are dropped) and skip the parallel speed-up
const SEED0 = Number(process.env.SWEEP_BENCH_SEED0 ?? 0);
const FUNCS = (process.env.SWEEP_BENCH_FUNCS ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
const OPTS = (process.env.SWEEP_BENCH_OPTS ?? 'bayes,random').split(',').map((s) => s.trim()).filter(Boolean) as Array<'bayes' | 'random'>;
const EVALS = Number(process.env.SWEEP_BENCH_EVALS ?? 50);
const SKIP_PARALLEL = process.env.SWEEP_BENCH_NO_PARALLEL === '1';
const PROBLEMS = BENCHMARKS.filter((b) => !FUNCS.length || FUNCS.some((f) => b.name.toLowerCase().startsWith(f)));
const CKS = CHECKPOINTS.filter((c) => c <= EVALS);

const REFERENCE: Record<string, Record<string, number[]>> = {
  Branin: { 'TPE (default)': [5.8, 1.37, 0.95, 0.57], 'TPE (multivariate)': [5.8, 1.58, 0.82, 0.558], random: [5.8, 1.86, 1.46, 1.144] },
  Hartmann6: { 'TPE (default)': [-0.71, -1.51, -2.22, -2.76], 'TPE (multivariate)': [-0.71, -2.21, -2.69, -3.0], random: [-0.71, -1.01, -1.18, -1.77] },
  'tinyML mixed': { 'TPE (default)': [0.1114, 0.0937, 0.0896, 0.0841], 'TPE (multivariate)': [0.1114, 0.0928, 0.0877, 0.0842], random: [0.1114, 0.0958, 0.094, 0.0934] },
};

export interface RunResult {
  problem: string;
  optimizer: string;
  seed: number;
  bestAt: number[];
  /** Noise-free value of the optimizer's reported best at each checkpoint (bayes: GP recommendation; random: min-observed). */
  recAt: number[];
  /** Proposal times (ms) for the asks at 45..49 observations: wall and this process's CPU. */
  askWallMs: number[];
  askCpuMs: number[];
}

/** One optimisation run (called in a child process through ProcessPool). */
export async function runOne(p: { problem: string; optimizer: SweepOptimizerName; seed: number; evals: number }): Promise<RunResult> {
  const prob = BENCHMARKS.find((b) => b.name === p.problem)!;
  const opt = makeOptimizer(p.optimizer, prob.space, { seed: p.seed, trials: p.evals });
  const hist: Observation[] = [];
  let bestObs = Infinity;
  let bestClean = Infinity;
  const bestAt: number[] = [];
  const recAt: number[] = [];
  const askWallMs: number[] = [];
  const askCpuMs: number[] = [];
  for (let i = 0; i < p.evals; i++) {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    const [x] = opt.ask(hist, [], 1, i);
    const c = process.cpuUsage(c0);
    if (i >= p.evals - 5) {
      askWallMs.push(performance.now() - w0);
      askCpuMs.push((c.user + c.system) / 1000);
    }
    const v = prob.observe(x, p.seed, i);
    hist.push({ params: x, value: v, feasible: true });
    if (v < bestObs) {
      bestObs = v;
      bestClean = prob.clean(x);
    }
    if (CHECKPOINTS.includes(i + 1)) {
      bestAt.push(bestClean);
      const r = opt.recommend?.(hist);
      recAt.push(r === undefined ? bestClean : prob.clean(hist[r].params));
    }
  }
  return { problem: p.problem, optimizer: p.optimizer, seed: p.seed, bestAt, recAt, askWallMs, askCpuMs };
}

/** A fixed amount of arithmetic: equal CPU-bound trials for the parallel speed-up figure. */
export async function busy(params: Record<string, unknown>): Promise<Record<string, number>> {
  const n = Number(params.work ?? 4e7);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.sin(i * 1e-3);
  return { loss: (Number(params.x) - 0.3) ** 2 + s * 1e-30 };
}

function median(a: number[]): number {
  const s = a.slice().sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(v: number): string {
  return Math.abs(v) < 0.2 ? v.toFixed(4) : v.toFixed(2);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const workers = Math.max(1, Math.min(2, os.cpus().length));
  const pool = new ProcessPool(workers, { module: __filename, export: 'runOne' });
  const jobs: Array<Parameters<typeof runOne>[0]> = [];
  for (const b of PROBLEMS) for (const o of OPTS) for (let s = SEED0; s < SEED0 + SEEDS; s++) jobs.push({ problem: b.name, optimizer: o, seed: s, evals: EVALS });
  // bayes jobs first: they are the long ones
  jobs.sort((a, b) => (a.optimizer === b.optimizer ? 0 : a.optimizer === 'bayes' ? -1 : 1));
  const results: RunResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < jobs.length) {
        const j = jobs[next++];
        results.push((await pool.run(j, {})) as RunResult);
        if (results.length % 20 === 0) process.stderr.write(`  ${results.length}/${jobs.length} runs (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      }
    }),
  );
  pool.close();

  const summary: Record<string, Record<string, number[]>> = {};
  const lines: string[] = [];
  lines.push(`median best-so-far over ${SEEDS} seeds${SEED0 ? ` (${SEED0}..${SEED0 + SEEDS - 1})` : ''} after ${CKS.join(' / ')} evaluations (minimised)`);
  lines.push(`${'function'.padEnd(14)} ${'optimizer, best rule'.padEnd(22)} ${CKS.map((c) => `@${c}`.padStart(9)).join('')}`);
  for (const b of PROBLEMS) {
    summary[b.name] = {};
    for (const o of OPTS) {
      const rs = results.filter((r) => r.problem === b.name && r.optimizer === o);
      const med = CKS.map((_, k) => median(rs.map((r) => r.bestAt[k])));
      summary[b.name][`ours ${o} min-observed`] = med;
      lines.push(`${b.name.padEnd(14)} ${`ours ${o} min-obs.`.padEnd(22)} ${med.map((v) => fmt(v).padStart(9)).join('')}`);
      if (o !== 'bayes') continue;
      const rec = CKS.map((_, k) => median(rs.map((r) => r.recAt[k])));
      summary[b.name][`ours ${o} GP rec`] = rec;
      lines.push(`${b.name.padEnd(14)} ${`ours ${o} GP rec.`.padEnd(22)} ${rec.map((v) => fmt(v).padStart(9)).join('')}`);
    }
    for (const [k, v] of Object.entries(REFERENCE[b.name])) lines.push(`${''.padEnd(14)} ${`ref ${k}`.padEnd(22)} ${v.map((x) => fmt(x).padStart(9)).join('')}`);
  }
  const goal: Record<string, { ours20: number; ours20MinObserved: number; tpe50: number; met: boolean; runsAtLeastTpe50: number; runs: number }> = {};
  for (const b of PROBLEMS) {
    if (!summary[b.name]['ours bayes GP rec'] || EVALS < 20) continue;
    const ours20 = summary[b.name]['ours bayes GP rec'][1];
    const ours20MinObserved = summary[b.name]['ours bayes min-observed'][1];
    const tpe50 = REFERENCE[b.name]['TPE (default)'][3];
    // how many runs' reported best @20 is at least as good as TPE's median @50: a median of 20 runs moves with a
    // few runs, so this count says how firmly the goal is met
    const rs = results.filter((r) => r.problem === b.name && r.optimizer === 'bayes');
    goal[b.name] = { ours20, ours20MinObserved, tpe50, met: ours20 <= tpe50, runsAtLeastTpe50: rs.filter((r) => r.recAt[1] <= tpe50).length, runs: rs.length };
  }
  lines.push('');
  lines.push('goal: our BO median @20 <= reference TPE (default) median @50, each by its reported best trial (ours: GP rec., TPE: best_trial)');
  for (const [k, g] of Object.entries(goal))
    lines.push(`  ${k.padEnd(14)} ours@20 ${fmt(g.ours20)} (min-observed ${fmt(g.ours20MinObserved)})  TPE@50 ${fmt(g.tpe50)}  ${g.met ? 'met' : 'NOT met'}; ${g.runsAtLeastTpe50} of ${g.runs} runs @20 at least as good as TPE's median @50`);

  const bo = results.filter((r) => r.optimizer === 'bayes');
  const askWall = median(bo.flatMap((r) => r.askWallMs));
  const askCpu = median(bo.flatMap((r) => r.askCpuMs));
  const askByProblem = Object.fromEntries(PROBLEMS.map((b) => [b.name, median(bo.filter((r) => r.problem === b.name).flatMap((r) => r.askCpuMs))]));
  lines.push('');
  lines.push(`BO proposal time at ${EVALS - 5}-${EVALS} observations: median ${askWall.toFixed(0)} ms wall, ${askCpu.toFixed(0)} ms CPU (goal < 200 ms); CPU by function: ${Object.entries(askByProblem).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ')}`);

  // parallel speed-up: the same 8 equal CPU-bound trials with parallel 1 and 2 (child processes), within this run
  const speed: Record<string, number> = {};
  for (const par of SKIP_PARALLEL ? [] : [1, 2]) {
    const w0 = Date.now();
    await sweep({ space: 'x: uniform(0, 1)\nwork: fixed(40000000)', objective: 'loss', trials: 8, parallel: par, optimizer: 'random', seed: 1, store: false, worker: { module: __filename, export: 'busy' } });
    speed[`parallel${par}`] = (Date.now() - w0) / 1000;
  }
  const speedup = speed.parallel1 / speed.parallel2;
  if (!SKIP_PARALLEL) lines.push(`parallel trials (8 equal CPU-bound trials, child processes): parallel 1 ${speed.parallel1.toFixed(1)} s, parallel 2 ${speed.parallel2.toFixed(1)} s, speed-up ${speedup.toFixed(2)}x (machine load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);
  lines.push(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      seeds: SEEDS,
      firstSeed: SEED0,
      checkpoints: CKS,
      medians: summary,
      reference: REFERENCE,
      goal,
      askMsWall: Number(askWall.toFixed(1)),
      askMsCpu: Number(askCpu.toFixed(1)),
      askMsCpuByProblem: askByProblem,
      parallel: { ...speed, speedup: Number(speedup.toFixed(2)) },
      load: os.loadavg()[0],
    }),
  );
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
