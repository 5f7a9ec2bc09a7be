/**
 * sweep() end to end with real components: the SQLite store, constraints (infeasible candidates never trained),
 * resume after a real SIGKILL of a child process mid-sweep, parallel child-process trials, multi-objective Pareto.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ExperimentStore } from '../../src/store/store';
import { sweep, loadSweep } from '../../src/sweep/sweep';
import { paretoFront } from '../../src/sweep/pareto';
import type { Params } from '../../src/sweep/space';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-sweep-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const FIX = path.join(__dirname, 'fixtures');

describe('sweep + experiment store', () => {
  test('bayes sweep minimises, every trial is in the store, names must be unique', async () => {
    const file = path.join(tmp, 'a.sqlite');
    const events: number[] = [];
    const r = await sweep({
      space: 'x: uniform(-3, 3)\nk: choice(a, b)',
      objective: 'loss',
      trials: 14,
      seed: 2,
      name: 'quad',
      store: file,
      trial: (p) => ({ loss: (Number(p.x) - 1) ** 2 + (p.k === 'b' ? 0 : 1) }),
      onProgress: (e) => events.push(e.done),
    });
    expect(r.trials.filter((t) => t.status === 'completed')).toHaveLength(14);
    expect(events[events.length - 1]).toBe(14);
    expect(r.best!.params.k).toBe('b');
    expect(r.best!.metrics.loss).toBeLessThan(0.05);
    const store = new ExperimentStore(file);
    const row = store.getSweep('quad')!;
    expect(row.status).toBe('completed');
    expect(store.trials(row.id, 'completed')).toHaveLength(14);
    // best: the GP recommendation, which the store's listing shows too; r.bestObserved is the lowest observed value
    expect(r.bestRule).toBe('posterior-mean');
    const completed = r.trials.filter((t) => t.status === 'completed');
    expect(r.bestObserved!.metrics.loss).toBe(Math.min(...completed.map((t) => t.metrics.loss)));
    expect(store.listSweeps()[0]).toMatchObject({ name: 'quad', completed: 14, best: r.best!.metrics.loss, bestRule: 'posterior-mean' });
    expect(row.config.recommended).toEqual({ index: r.best!.index, rule: 'posterior-mean', over: 14 });
    store.close();
    await expect(sweep({ space: 'x: uniform(0, 1)', trials: 1, name: 'quad', store: file, trial: () => 1 })).rejects.toThrow(/already exists.*--resume quad/);
    expect(loadSweep('quad', file).best!.index).toBe(r.best!.index);
  });

  test('constraints: infeasible candidates are skipped without training and the surrogate learns to avoid them', async () => {
    const trained: Params[] = [];
    let checked = 0;
    const r = await sweep({
      space: 'filters: int(4, 64)\nlr: loguniform(1e-4, 1e-1)',
      objective: 'acc',
      direction: 'maximize',
      trials: 16,
      seed: 4,
      store: false,
      // "flash" grows with filters: only filters <= 24 fit; accuracy would rise with filters
      constraints: (p) => {
        checked++;
        const flash = 1000 * Number(p.filters);
        return flash <= 24000 ? { feasible: true, costs: { flash } } : { feasible: false, reason: `flash ${flash} > 24000`, costs: { flash } };
      },
      trial: (p) => {
        trained.push(p);
        return { acc: Number(p.filters) / 64 - 0.1 * (Math.log10(Number(p.lr)) + 2.5) ** 2 };
      },
    });
    expect(trained).toHaveLength(16);
    expect(trained.every((p) => Number(p.filters) <= 24)).toBe(true);
    const inf = r.trials.filter((t) => t.status === 'infeasible');
    expect(inf.length).toBe(checked - 16);
    expect(inf.every((t) => Number(t.params.filters) > 24 && t.reason!.startsWith('flash'))).toBe(true);
    // coupled constraint: after the initial design most proposals are feasible
    const late = r.trials.filter((t) => t.index >= 10);
    expect(late.filter((t) => t.status === 'infeasible').length).toBeLessThan(late.length / 2);
    expect(r.best!.costs.flash).toBeLessThanOrEqual(24000);
    expect(Number(r.best!.params.filters)).toBeGreaterThanOrEqual(18);
  });

  test('a SIGKILLed sweep loses no committed trial; resume re-runs only the one in flight', async () => {
    const file = path.join(tmp, 'crash.sqlite');
    const log = path.join(tmp, 'crash.log');
    fs.writeFileSync(log, '');
    const child = spawn(process.execPath, ['-r', path.join(FIX, 'ts-register.js'), path.join(FIX, 'crash-sweep.ts'), file, log], { stdio: 'inherit' });
    // kill while a trial is running, after at least 4 commits
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const lines = fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
        const commits = lines.filter((l) => l.startsWith('commit')).length;
        if (commits >= 4 && lines[lines.length - 1].startsWith('start')) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 10);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('child exited before it was killed'));
      });
    });
    await new Promise((r) => child.once('exit', r));
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    const committed = lines.filter((l) => l.startsWith('commit')).map((l) => Number(l.split(' ')[1]));
    const lastStart = lines.filter((l) => l.startsWith('start')).pop()!.split(' ');
    const inflight = Number(lastStart[1]);
    const inflightParams = JSON.parse(lastStart.slice(2).join(' ')) as Params;
    const store = new ExperimentStore(file);
    const row = store.getSweep('crashy')!;
    const done = store.trials(row.id, 'completed').map((t) => t.index);
    expect(done).toEqual(expect.arrayContaining(committed));
    expect(store.trials(row.id, 'running').map((t) => t.index)).toEqual([inflight]);
    expect(row.status).toBe('running');

    const ran: Array<{ index: number; params: Params }> = [];
    const r = await sweep({
      space: 'ignored on resume: the stored space is used',
      objective: 'loss',
      trials: 8,
      optimizer: 'random',
      name: 'crashy',
      resume: true,
      store,
      trial: async (p, _s, ctx) => {
        ran.push({ index: ctx.index, params: p });
        return { loss: (Number(p.x) - 0.5) ** 2 + Number(p.y) / 10 };
      },
    });
    // the in-flight trial first, same index and parameters; no completed index repeated
    expect(ran[0]).toEqual({ index: inflight, params: inflightParams });
    expect(ran.some((x) => done.includes(x.index))).toBe(false);
    const completed = r.trials.filter((t) => t.status === 'completed');
    expect(completed).toHaveLength(8);
    expect(new Set(completed.map((t) => t.index)).size).toBe(8);
    expect(ran).toHaveLength(8 - done.length);
    expect(store.getSweep('crashy')!.status).toBe('completed');
    store.close();
  });

  test('parallel trials in child processes: distinct points, distinct workers', async () => {
    const r = await sweep({
      space: 'x: uniform(0, 1)\nwork: fixed(2000000)',
      objective: 'loss',
      trials: 6,
      parallel: 2,
      seed: 1,
      store: false,
      worker: { module: path.join(FIX, 'cpu-trial.js'), export: 'busy' },
    });
    const done = r.trials.filter((t) => t.status === 'completed');
    expect(done).toHaveLength(6);
    expect(new Set(done.map((t) => t.metrics.pid)).size).toBe(2);
    expect(new Set(done.map((t) => Number(t.params.x).toFixed(9))).size).toBe(6);
    expect(done.every((t) => t.metrics.pid !== process.pid)).toBe(true);
  });

  test('multi-objective: the Pareto front is the non-dominated set', async () => {
    const r = await sweep({
      space: 'filters: int(4, 64)\nlr: loguniform(1e-3, 1e-1)',
      objectives: [
        { metric: 'acc', goal: 'maximize' },
        { metric: 'flash', goal: 'minimize' },
      ],
      trials: 14,
      seed: 3,
      store: false,
      constraints: (p) => ({ feasible: true, costs: { flash: 1000 * Number(p.filters) } }),
      trial: (p) => ({ acc: 1 - Math.exp(-Number(p.filters) / 16) - 0.05 * (Math.log10(Number(p.lr)) + 2) ** 2 }),
    });
    const done = r.trials.filter((t) => t.status === 'completed');
    const front = new Set(r.pareto!.map((t) => t.index));
    // independent check: brute-force dominance
    for (const t of done) {
      const dominated = done.some((o) => o !== t && o.metrics.acc >= t.metrics.acc && o.costs.flash <= t.costs.flash && (o.metrics.acc > t.metrics.acc || o.costs.flash < t.costs.flash));
      expect(front.has(t.index)).toBe(!dominated);
    }
    expect(front.size).toBeGreaterThan(1);
    expect(paretoFront([[1, 3], [2, 4], [0.5, 6], [2, 6]], ['maximize', 'minimize'])).toEqual([0, 1]);
  });
});
