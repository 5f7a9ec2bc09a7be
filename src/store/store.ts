/**
 * The experiment store: one SQLite file (better-sqlite3, WAL journal) holding sweeps and their trials. Every state
 * change is its own transaction, committed before the call returns, so a crash (kill -9, kernel restart) loses at most
 * the trial that was running; `resume` finds it by its 'running' status and runs it again.
 */
import * as fs from 'fs';
import * as path from 'path';
import Database from 'better-sqlite3';
import { InputError } from '../common/errors';

export type TrialStatus = 'running' | 'completed' | 'failed' | 'infeasible';
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface SweepRow {
  id: number;
  name: string;
  status: 'running' | 'completed' | 'interrupted' | 'failed';
  /** The sweep's configuration as given (space text, objective, optimizer, seed, trials, parallel, trial ref…). */
  config: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface TrialRow {
  id: number;
  sweepId: number;
  /** Position in the sweep (0-based, unique per sweep): what resume continues from. */
  index: number;
  status: TrialStatus;
  params: Record<string, string | number | boolean>;
  metrics: Record<string, number>;
  /** The objective value as reported (not negated), when completed. */
  objective?: number;
  /** Costs priced by the constraint (flash, RAM, latency…). */
  costs: Record<string, number>;
  reason?: string;
  seed: number;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  modelPath?: string;
  error?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sweeps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  config TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  status TEXT NOT NULL,
  params TEXT NOT NULL,
  metrics TEXT NOT NULL DEFAULT '{}',
  objective REAL,
  costs TEXT NOT NULL DEFAULT '{}',
  reason TEXT,
  seed INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  duration_ms REAL,
  model_path TEXT,
  error TEXT,
  UNIQUE (sweep_id, idx)
);
CREATE INDEX IF NOT EXISTS trials_by_sweep ON trials (sweep_id, idx);
`;

interface RawTrial {
  id: number;
  sweep_id: number;
  idx: number;
  status: TrialStatus;
  params: string;
  metrics: string;
  objective: number | null;
  costs: string;
  reason: string | null;
  seed: number;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  model_path: string | null;
  error: string | null;
}

interface RawSweep {
  id: number;
  name: string;
  status: SweepRow['status'];
  config: string;
  created_at: string;
  updated_at: string;
}

function now(): string {
  return new Date().toISOString();
}

/** NaN/Infinity do not survive JSON: store them as null. */
function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x));
}

export class ExperimentStore {
  readonly db: Database.Database;

  /** Open (creating) the store at `file`; ':memory:' for a throwaway store. */
  constructor(readonly file: string = defaultStorePath()) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash (only a power loss can drop the last commits)
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  createSweep(name: string, config: Record<string, unknown>): SweepRow {
    if (this.getSweep(name)) throw new InputError(`a sweep named '${name}' already exists in ${this.file}; use --resume ${name} to continue it or pick another --name`);
    const t = now();
    this.db.prepare('INSERT INTO sweeps (name, status, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(name, 'running', json(config), t, t);
    return this.getSweep(name)!;
  }

  getSweep(nameOrId: string | number): SweepRow | undefined {
    const r = (typeof nameOrId === 'number'
      ? this.db.prepare('SELECT * FROM sweeps WHERE id = ?').get(nameOrId)
      : this.db.prepare('SELECT * FROM sweeps WHERE name = ?').get(nameOrId)) as RawSweep | undefined;
    return r ? toSweep(r) : undefined;
  }

  setSweepStatus(id: number, status: SweepRow['status']): void {
    this.db.prepare('UPDATE sweeps SET status = ?, updated_at = ? WHERE id = ?').run(status, now(), id);
  }

  updateSweepConfig(id: number, config: Record<string, unknown>): void {
    this.db.prepare('UPDATE sweeps SET config = ?, updated_at = ? WHERE id = ?').run(json(config), now(), id);
  }

  deleteSweep(name: string): void {
    this.db.prepare('DELETE FROM sweeps WHERE name = ?').run(name);
  }

  /**
   * All sweeps with trial counts and best objective (direction taken from each sweep's config). The best is the
   * sweep's recommended trial when it stored one that is still current (Bayesian sweeps pick by GP posterior mean,
   * src/sweep/sweep.ts), else the best observed value; `bestRule` says which.
   */
  listSweeps(): Array<SweepRow & { completed: number; infeasible: number; failed: number; running: number; best?: number; bestRule?: string }> {
    const rows = this.db.prepare('SELECT * FROM sweeps ORDER BY id').all() as RawSweep[];
    const counts = this.db.prepare('SELECT status, COUNT(*) AS n FROM trials WHERE sweep_id = ? GROUP BY status');
    const best = this.db.prepare("SELECT MIN(objective) AS lo, MAX(objective) AS hi FROM trials WHERE sweep_id = ? AND status = 'completed'");
    const byIndex = this.db.prepare("SELECT objective FROM trials WHERE sweep_id = ? AND idx = ? AND status = 'completed'");
    return rows.map((r) => {
      const s = toSweep(r);
      const c: Record<string, number> = {};
      for (const x of counts.all(s.id) as Array<{ status: string; n: number }>) c[x.status] = x.n;
      const b = best.get(s.id) as { lo: number | null; hi: number | null };
      const maximize = s.config.direction === 'maximize';
      let bv = maximize ? b.hi : b.lo;
      let bestRule = bv === null ? undefined : 'min-observed';
      const rec = s.config.recommended as { index?: number; rule?: string; over?: number } | undefined;
      const finished = Object.entries(c).reduce((n, [status, k]) => (status === 'running' ? n : n + k), 0);
      if (rec && typeof rec.index === 'number' && rec.over === finished) {
        const t = byIndex.get(s.id, rec.index) as { objective: number | null } | undefined;
        if (t && t.objective !== null) {
          bv = t.objective;
          bestRule = rec.rule ?? 'posterior-mean';
        }
      }
      return { ...s, completed: c.completed ?? 0, infeasible: c.infeasible ?? 0, failed: c.failed ?? 0, running: c.running ?? 0, best: bv ?? undefined, bestRule };
    });
  }

  /** Record a trial as started (committed): it is what resume re-runs if the process dies now. */
  startTrial(sweepId: number, index: number, params: Record<string, unknown>, seed: number): number {
    const info = this.db
      .prepare(
        `INSERT INTO trials (sweep_id, idx, status, params, seed, started_at) VALUES (?, ?, 'running', ?, ?, ?)
         ON CONFLICT (sweep_id, idx) DO UPDATE SET status = 'running', params = excluded.params, seed = excluded.seed,
           started_at = excluded.started_at, finished_at = NULL, error = NULL`,
      )
      .run(sweepId, index, json(params), seed, now());
    const row = this.db.prepare('SELECT id FROM trials WHERE sweep_id = ? AND idx = ?').get(sweepId, index) as { id: number };
    void info;
    return row.id;
  }

  finishTrial(
    trialId: number,
    r: { status: Exclude<TrialStatus, 'running'>; metrics?: Record<string, number>; objective?: number; costs?: Record<string, number>; reason?: string; durationMs?: number; modelPath?: string; error?: string },
  ): void {
    this.db
      .prepare(
        `UPDATE trials SET status = ?, metrics = ?, objective = ?, costs = ?, reason = ?, finished_at = ?, duration_ms = ?,
           model_path = ?, error = ? WHERE id = ?`,
      )
      .run(
        r.status,
        json(r.metrics ?? {}),
        r.objective !== undefined && Number.isFinite(r.objective) ? r.objective : null,
        json(r.costs ?? {}),
        r.reason ?? null,
        now(),
        r.durationMs ?? null,
        r.modelPath ?? null,
        r.error ?? null,
        trialId,
      );
  }

  /** Record a candidate the constraint rejected: never trained, taught to the optimizer as infeasible. */
  recordInfeasible(sweepId: number, index: number, params: Record<string, unknown>, seed: number, reason: string | undefined, costs: Record<string, number> | undefined): void {
    const id = this.startTrial(sweepId, index, params, seed);
    this.finishTrial(id, { status: 'infeasible', reason, costs, durationMs: 0 });
  }

  trials(sweepId: number, status?: TrialStatus): TrialRow[] {
    const rows = (status
      ? this.db.prepare('SELECT * FROM trials WHERE sweep_id = ? AND status = ? ORDER BY idx').all(sweepId, status)
      : this.db.prepare('SELECT * FROM trials WHERE sweep_id = ? ORDER BY idx').all(sweepId)) as RawTrial[];
    return rows.map(toTrial);
  }
}

function toSweep(r: RawSweep): SweepRow {
  return { id: r.id, name: r.name, status: r.status, config: JSON.parse(r.config) as Record<string, unknown>, createdAt: r.created_at, updatedAt: r.updated_at };
}

function toTrial(r: RawTrial): TrialRow {
  return {
    id: r.id,
    sweepId: r.sweep_id,
    index: r.idx,
    status: r.status,
    params: JSON.parse(r.params) as TrialRow['params'],
    metrics: JSON.parse(r.metrics) as Record<string, number>,
    objective: r.objective ?? undefined,
    costs: JSON.parse(r.costs) as Record<string, number>,
    reason: r.reason ?? undefined,
    seed: r.seed,
    startedAt: r.started_at,
    finishedAt: r.finished_at ?? undefined,
    durationMs: r.duration_ms ?? undefined,
    modelPath: r.model_path ?? undefined,
    error: r.error ?? undefined,
  };
}

/** `$TINYLAB_STORE`, else `experiments/tinylab.sqlite` under the working directory. */
export function defaultStorePath(): string {
  return process.env.TINYLAB_STORE ?? path.resolve(process.cwd(), 'experiments', 'tinylab.sqlite');
}

const opened = new Map<string, ExperimentStore>();

/** One open store per file per process (better-sqlite3 connections are cheap but WAL wants few writers). */
export function openStore(file: string = defaultStorePath()): ExperimentStore {
  const key = file === ':memory:' ? file : path.resolve(file);
  let s = opened.get(key);
  if (!s || !s.db.open) {
    s = new ExperimentStore(file);
    if (file !== ':memory:') opened.set(key, s);
  }
  return s;
}
