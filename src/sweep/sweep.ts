/**
 * sweep(): propose → check constraints → train → record, with `parallel` trials in flight, every trial committed to
 * the experiment store as it finishes, and `resume` continuing a sweep from the store (completed trials kept, the
 * ones that were running re-run with the same parameters).
 *
 *   const r = await sweep({
 *     space: 'lr: loguniform(1e-4, 1e-1)\nfilters: int(4, 64)',
 *     objective: 'val_accuracy', direction: 'maximize', trials: 30, parallel: 2, seed: 1, name: 'mnist-a',
 *     constraints: (p) => ({ feasible: p.filters <= 48, reason: 'flash', costs: { flash: 1234 } }),
 *     trial: async (params, signal) => ({ val_accuracy: ... }),
 *   });
 */
import { AbortedError, InputError, TinylabError } from '../common/errors';
import type { LongRunOptions } from '../common/progress';
import { ExperimentStore, openStore } from '../store/store';
import type { TrialRow } from '../store/store';
import { makeOptimizer, proposalRng } from './optimizers';
import type { BayesOptions, Observation, Optimizer, SweepOptimizerName } from './optimizers';
import { chebyshev, paretoFront } from './pareto';
import type { Goal, ObjectiveSpec } from './pareto';
import { ProcessPool, resolveTrialRef } from './pool';
import type { TrialRef } from './pool';
import { toSpace } from './space';
import type { Params, SearchSpace, SpaceSpec } from './space';
import { sweepResultBundle } from './display';

export type Metrics = Record<string, number>;

export interface TrialContext {
  index: number;
  seed: number;
  sweep: string;
}

export type TrialFn = (params: Params, signal: AbortSignal, ctx: TrialContext) => Promise<Metrics | number> | Metrics | number;

export interface ConstraintResult {
  feasible: boolean;
  reason?: string;
  /** Priced costs (flash, ram, latencyMs…): stored with the trial, usable as objectives. */
  costs?: Record<string, number>;
}
export type ConstraintFn = (params: Params) => ConstraintResult | Promise<ConstraintResult>;

export interface SweepOptions extends LongRunOptions {
  space: SearchSpace | SpaceSpec | string;
  /** Metric to optimise (default 'objective'; a trial returning a number reports it under this name). */
  objective?: string;
  direction?: Goal;
  /** Shorthand for direction: 'maximize'. */
  maximize?: boolean;
  /** Multi-objective mode: these metrics (or constraint costs) span a Pareto front; the first is the headline. */
  objectives?: ObjectiveSpec[];
  trials: number;
  parallel?: number;
  constraints?: ConstraintFn;
  optimizer?: SweepOptimizerName | Optimizer;
  bayes?: BayesOptions;
  seed?: number;
  /** Name in the store (default: sweep-<timestamp>). */
  name?: string;
  /** Trial function run in this process. */
  trial?: TrialFn;
  /** Trial function loaded in child processes (one per parallel slot): needed for CPU-bound parallel speed-up. */
  worker?: TrialRef;
  /** A store, a file path, or false for none (default: the default store file). */
  store?: ExperimentStore | string | false;
  /** Continue the sweep `name` from the store. */
  resume?: boolean;
  /** Give up when the constraint rejects this many candidates in a row (default 200). */
  maxConsecutiveInfeasible?: number;
}

export interface SweepEvent {
  trial: TrialRow;
  best?: TrialRow;
}

export interface SweepResult {
  name: string;
  sweepId: number;
  storeFile?: string;
  objective: string;
  direction: Goal;
  objectives?: ObjectiveSpec[];
  /** Every trial by index (completed, infeasible, failed, and running ones if interrupted). */
  trials: TrialRow[];
  /** The reported best trial, chosen by `bestRule`. */
  best?: TrialRow;
  /**
   * How `best` was chosen: 'posterior-mean' — the optimizer's recommendation, the tried point with the lowest GP
   * posterior mean (bayes, single objective: noise-aware, a single lucky observation does not win on its own);
   * 'min-observed' — the lowest observed value (random, grid, multi-objective headline).
   */
  bestRule: BestRule;
  /** The completed trial with the best observed value (equal to `best` under 'min-observed'). */
  bestObserved?: TrialRow;
  /** Multi-objective mode: the non-dominated completed trials. */
  pareto?: TrialRow[];
  stopped: 'completed' | 'aborted' | 'exhausted';
  elapsedMs: number;
  toMimeBundle(): { data: Record<string, unknown> };
}

export type BestRule = 'posterior-mean' | 'min-observed';

/** What the sweep persists in its config about its reported best (so loadSweep and the store agree with it). */
interface StoredRecommendation {
  index: number;
  rule: BestRule;
  /** Finished (non-running) trials it was computed over: a later resume that crashed leaves it stale. */
  over: number;
}

/**
 * The optimizer's recommended trial (single objective), or undefined when it has no recommendation rule. The history
 * is the finished trials as the optimizer saw them (maximised objectives negated, failed trials infeasible).
 */
export function recommendedTrial(trials: TrialRow[], objective: string, direction: Goal, optimizer: Optimizer): TrialRow | undefined {
  if (!optimizer.recommend) return undefined;
  const finished = trials.filter((t) => t.status !== 'running');
  const obs: Observation[] = finished.map((t) => {
    const v = t.status === 'completed' ? valueOf(t, objective) : undefined;
    return { params: t.params, value: v === undefined ? undefined : direction === 'maximize' ? -v : v, feasible: t.status === 'completed' };
  });
  const i = optimizer.recommend(obs);
  return i === undefined ? undefined : finished[i];
}

function trialSeed(seed: number, index: number): number {
  return (Math.imul(seed + 0x632be5ab, 0x9e3779b1) ^ Math.imul(index + 7, 0x27d4eb2f)) >>> 0;
}

function valueOf(t: Pick<TrialRow, 'metrics' | 'costs'>, metric: string): number | undefined {
  const v = t.metrics[metric] ?? t.costs[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Best completed trial for one objective. */
export function bestTrial(trials: TrialRow[], metric: string, direction: Goal): TrialRow | undefined {
  let best: TrialRow | undefined;
  for (const t of trials) {
    if (t.status !== 'completed') continue;
    const v = valueOf(t, metric);
    if (v === undefined) continue;
    const b = best ? valueOf(best, metric)! : undefined;
    if (b === undefined || (direction === 'maximize' ? v > b : v < b)) best = t;
  }
  return best;
}

export function paretoTrials(trials: TrialRow[], objectives: ObjectiveSpec[]): TrialRow[] {
  const done = trials.filter((t) => t.status === 'completed' && objectives.every((o) => valueOf(t, o.metric) !== undefined));
  const idx = paretoFront(done.map((t) => objectives.map((o) => valueOf(t, o.metric)!)), objectives.map((o) => o.goal));
  return idx.map((i) => done[i]).sort((a, b) => valueOf(a, objectives[0].metric)! - valueOf(b, objectives[0].metric)!);
}

export async function sweep(opts: SweepOptions): Promise<SweepResult> {
  const t0 = Date.now();
  if (!opts.trial && !opts.worker) throw new InputError('sweep needs a trial: pass `trial: async (params, signal) => metrics` or `worker: {module, export}`');
  if (!Number.isInteger(opts.trials) || opts.trials < 1) throw new InputError(`trials must be a positive whole number (got ${opts.trials})`);
  const parallel = Math.max(1, Math.floor(opts.parallel ?? 1));
  const objectives = opts.objectives?.length ? opts.objectives : undefined;
  const objective = objectives ? objectives[0].metric : opts.objective ?? 'objective';
  const direction: Goal = objectives ? objectives[0].goal : opts.direction ?? (opts.maximize ? 'maximize' : 'minimize');
  const store = opts.store === false ? new ExperimentStore(':memory:') : opts.store instanceof ExperimentStore ? opts.store : openStore(opts.store);
  const ownsStore = opts.store === false;

  let name = opts.name ?? `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  let seed = opts.seed ?? 0;
  let space: SearchSpace;
  let sweepRow = store.getSweep(name);
  const requeue: TrialRow[] = [];
  let existing: TrialRow[] = [];
  if (opts.resume) {
    if (!sweepRow) throw new InputError(`no sweep named '${name}' in ${store.file} to resume; %sweeps lists the sweeps there`);
    const cfg = sweepRow.config;
    space = toSpace(typeof cfg.space === 'string' ? cfg.space : opts.space);
    seed = typeof cfg.seed === 'number' ? cfg.seed : seed;
    existing = store.trials(sweepRow.id);
    requeue.push(...existing.filter((t) => t.status === 'running'));
    store.updateSweepConfig(sweepRow.id, { ...cfg, trials: opts.trials, parallel });
    store.setSweepStatus(sweepRow.id, 'running');
  } else {
    space = toSpace(opts.space);
    if (sweepRow) throw new InputError(`a sweep named '${name}' already exists in ${store.file}; pass resume: true (--resume ${name}) to continue it, or another name`);
    sweepRow = store.createSweep(name, {
      space: space.toString(),
      objective,
      direction,
      objectives,
      trials: opts.trials,
      parallel,
      optimizer: typeof opts.optimizer === 'object' ? opts.optimizer.name : opts.optimizer ?? 'bayes',
      seed,
      worker: opts.worker,
    });
  }
  name = sweepRow.name;
  const sweepId = sweepRow.id;
  const optimizer = makeOptimizer(opts.optimizer ?? 'bayes', space, { seed, trials: opts.trials, bayes: opts.bayes });

  // state rebuilt from the store: finished trials teach the optimizer; running ones are re-run first
  const finished: TrialRow[] = existing.filter((t) => t.status !== 'running');
  let nextIndex = existing.reduce((m, t) => Math.max(m, t.index + 1), 0);
  const countTrained = () => finished.filter((t) => t.status === 'completed' || t.status === 'failed').length;
  let proposals = existing.length;

  const observations = (): Observation[] => {
    if (!objectives) {
      return finished.map((t) => {
        const v = t.status === 'completed' ? valueOf(t, objective) : undefined;
        return { params: t.params, value: v === undefined ? undefined : direction === 'maximize' ? -v : v, feasible: t.status === 'completed' };
      });
    }
    // multi-objective: a fresh ParEGO weight vector per proposal
    const rng = proposalRng(seed ^ 0x7a11, proposals);
    const w = objectives.map(() => -Math.log(Math.max(rng(), 1e-12)));
    const sw = w.reduce((a, b) => a + b, 0);
    const done = finished.filter((t) => t.status === 'completed' && objectives.every((o) => valueOf(t, o.metric) !== undefined));
    const sc = chebyshev(done.map((t) => objectives.map((o) => valueOf(t, o.metric)!)), objectives.map((o) => o.goal), w.map((x) => x / sw));
    const byId = new Map(done.map((t, i) => [t.id, sc[i]]));
    return finished.map((t) => ({ params: t.params, value: byId.get(t.id), feasible: t.status === 'completed' }));
  };

  const pool = opts.worker ? new ProcessPool(parallel, resolveTrialRef(opts.worker)) : undefined;
  const inflight = new Map<number, { promise: Promise<void>; params: Params; ac: AbortController }>();
  const onAbort = () => {
    for (const f of inflight.values()) f.ac.abort();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let consecutiveInfeasible = 0;
  const maxInf = opts.maxConsecutiveInfeasible ?? 200;
  let stopped: SweepResult['stopped'] = 'completed';
  let fatal: Error | undefined;

  const report = (t: TrialRow) => {
    // during the sweep: the best observed value (a GP fit per finished trial would cost more than fast trials do);
    // the result's best is the optimizer's recommendation, computed once at the end
    const best = bestTrial(finished, objective, direction);
    const bv = best ? valueOf(best, objective) : undefined;
    opts.onProgress?.({
      task: 'sweep',
      done: countTrained(),
      total: opts.trials,
      message: `trial ${t.index} ${t.status}${t.objective !== undefined ? ` ${objective}=${fmt(t.objective)}` : t.reason ? ` (${t.reason})` : ''}${bv !== undefined ? `; best observed ${fmt(bv)}` : ''}`,
      metrics: { trial: t.index, ...(t.objective !== undefined ? { value: t.objective } : {}), ...(bv !== undefined ? { best: bv } : {}), infeasible: finished.filter((x) => x.status === 'infeasible').length },
    });
  };

  const launch = (index: number, params: Params) => {
    const tseed = trialSeed(seed, index);
    const trialId = store.startTrial(sweepId, index, params, tseed);
    const ac = new AbortController();
    const started = Date.now();
    const ctx: TrialContext = { index, seed: tseed, sweep: name };
    const run = async (): Promise<void> => {
      let raw: unknown;
      try {
        raw = pool ? await pool.run(params, ctx, ac.signal) : await opts.trial!(params, ac.signal, ctx);
      } catch (e) {
        if (ac.signal.aborted || e instanceof AbortedError) return; // left 'running': resume re-runs it
        store.finishTrial(trialId, { status: 'failed', error: e instanceof Error ? e.message : String(e), durationMs: Date.now() - started });
        pushFinished(trialId);
        return;
      }
      const metrics: Metrics = typeof raw === 'number' ? { [objective]: raw } : sanitize(raw);
      const ov = metrics[objective];
      const costs = constraintCosts.get(index);
      const modelPath = typeof (raw as { modelPath?: unknown })?.modelPath === 'string' ? (raw as { modelPath: string }).modelPath : undefined;
      if (ov === undefined && !(objectives && costs && objective in costs)) {
        store.finishTrial(trialId, {
          status: 'failed',
          metrics,
          costs,
          error: `the trial returned no '${objective}' metric (it returned: ${Object.keys(metrics).join(', ') || 'nothing'}); set the objective to one of those`,
          durationMs: Date.now() - started,
        });
      } else {
        store.finishTrial(trialId, { status: 'completed', metrics, objective: ov, costs, durationMs: Date.now() - started, modelPath });
      }
      pushFinished(trialId);
    };
    inflight.set(index, { promise: run().finally(() => inflight.delete(index)), params, ac });
  };
  const constraintCosts = new Map<number, Record<string, number>>();
  const pushFinished = (trialId: number) => {
    const row = store.db.prepare('SELECT idx FROM trials WHERE id = ?').get(trialId) as { idx: number };
    const t = store.trials(sweepId).find((x) => x.index === row.idx)!;
    finished.push(t);
    report(t);
  };

  try {
    for (const t of requeue) {
      if (inflight.size >= parallel) await Promise.race([...inflight.values()].map((f) => f.promise));
      if (opts.signal?.aborted) break;
      if (t.costs && Object.keys(t.costs).length) constraintCosts.set(t.index, t.costs);
      launch(t.index, t.params);
    }
    while (!opts.signal?.aborted) {
      const budget = opts.trials - countTrained() - inflight.size;
      if (budget <= 0) break;
      const want = Math.min(parallel - inflight.size, budget);
      if (want > 0) {
        const pending = [...inflight.values()].map((f) => f.params);
        const proposed = optimizer.ask(observations(), pending, want, proposals);
        proposals += proposed.length;
        if (proposed.length === 0 && inflight.size === 0) {
          stopped = 'exhausted';
          break;
        }
        for (const p of proposed) {
          const index = nextIndex++;
          if (opts.constraints) {
            const c = await opts.constraints(p);
            if (!c.feasible) {
              // priced and rejected in milliseconds: never trained, taught to the surrogate as infeasible
              store.recordInfeasible(sweepId, index, p, trialSeed(seed, index), c.reason, c.costs);
              finished.push(store.trials(sweepId).find((x) => x.index === index)!);
              report(finished[finished.length - 1]);
              if (++consecutiveInfeasible >= maxInf)
                throw new TinylabError(
                  `the constraints rejected ${consecutiveInfeasible} candidates in a row (last: ${c.reason ?? 'infeasible'}); relax them (--max-latency, a bigger --board) or narrow the space to models that fit`,
                );
              continue;
            }
            if (c.costs) constraintCosts.set(index, c.costs);
          }
          consecutiveInfeasible = 0;
          launch(index, p);
        }
        if (proposed.length && inflight.size === 0) continue; // all rejected: propose again
      }
      if (inflight.size) await Promise.race([...inflight.values()].map((f) => f.promise));
    }
    await Promise.all([...inflight.values()].map((f) => f.promise));
    if (opts.signal?.aborted) stopped = 'aborted';
  } catch (e) {
    fatal = e as Error;
    onAbort();
    await Promise.allSettled([...inflight.values()].map((f) => f.promise));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    pool?.close();
  }
  store.setSweepStatus(sweepId, fatal ? 'failed' : stopped === 'aborted' ? 'interrupted' : 'completed');
  const trials = store.trials(sweepId);
  const bestObserved = bestTrial(trials, objective, direction);
  let best = bestObserved;
  let bestRule: BestRule = 'min-observed';
  if (!fatal && !objectives) {
    const rec = recommendedTrial(trials, objective, direction, optimizer);
    if (rec) {
      best = rec;
      bestRule = 'posterior-mean';
      const stored: StoredRecommendation = { index: rec.index, rule: bestRule, over: trials.filter((t) => t.status !== 'running').length };
      store.updateSweepConfig(sweepId, { ...(store.getSweep(sweepId)?.config ?? {}), recommended: stored });
    }
  }
  if (ownsStore) store.close();
  if (fatal) throw fatal;
  const result: SweepResult = {
    name,
    sweepId,
    storeFile: ownsStore ? undefined : store.file,
    objective,
    direction,
    objectives,
    trials,
    best,
    bestRule,
    bestObserved,
    pareto: objectives ? paretoTrials(trials, objectives) : undefined,
    stopped,
    elapsedMs: Date.now() - t0,
    toMimeBundle: () => sweepResultBundle(result),
  };
  return result;
}

function sanitize(raw: unknown): Metrics {
  const out: Metrics = {};
  if (raw && typeof raw === 'object')
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (typeof v === 'number') out[k] = v;
  return out;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}

/** Load a finished (or interrupted) sweep from the store as a result. */
export function loadSweep(name: string, store: ExperimentStore | string = openStore()): SweepResult {
  const s = store instanceof ExperimentStore ? store : openStore(store);
  const row = s.getSweep(name);
  if (!row) throw new InputError(`no sweep named '${name}' in ${s.file}; %sweeps lists the sweeps there`);
  const trials = s.trials(row.id);
  const objectives = row.config.objectives as ObjectiveSpec[] | undefined;
  const objective = String(row.config.objective ?? 'objective');
  const direction = (row.config.direction as Goal) ?? 'minimize';
  const bestObserved = bestTrial(trials, objective, direction);
  let best = bestObserved;
  let bestRule: BestRule = 'min-observed';
  if (!objectives?.length) {
    // the recommendation the sweep stored when it ended; if trials finished after it (a resumed sweep that was killed),
    // a bayes sweep recomputes it with default options (custom `bayes` options are not stored), others keep min-observed
    const stored = row.config.recommended as StoredRecommendation | undefined;
    const over = trials.filter((t) => t.status !== 'running').length;
    let rec: TrialRow | undefined;
    if (stored && stored.over === over) rec = trials.find((t) => t.index === stored.index && t.status === 'completed');
    else if (row.config.optimizer === 'bayes' && typeof row.config.space === 'string') {
      const seed = typeof row.config.seed === 'number' ? row.config.seed : 0;
      rec = recommendedTrial(trials, objective, direction, makeOptimizer('bayes', toSpace(row.config.space), { seed }));
    }
    if (rec) {
      best = rec;
      bestRule = 'posterior-mean';
    }
  }
  const result: SweepResult = {
    name,
    sweepId: row.id,
    storeFile: s.file,
    objective,
    direction,
    objectives: objectives ?? undefined,
    trials,
    best,
    bestRule,
    bestObserved,
    pareto: objectives?.length ? paretoTrials(trials, objectives) : undefined,
    stopped: row.status === 'completed' ? 'completed' : 'aborted',
    elapsedMs: 0,
    toMimeBundle: () => sweepResultBundle(result),
  };
  return result;
}

