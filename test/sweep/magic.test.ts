/** %%sweep and %sweeps run against a real store with a plain context object (the kernel provides the real one). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { magics } from '../../kernel/magics/sweep';
import type { ParsedArgs } from '../../kernel/magics/types';
import { recordingContext } from '../helpers/magic-context';
import { sweepParallelCoordinates, sweepParamChart, sweepParetoChart } from '../../src/charts/sweep';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-sweep-magic-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function context(body: string | undefined, vars: Record<string, unknown>) {
  const r = recordingContext({ body, vars: new Map(Object.entries(vars)), cwd: tmp });
  return { ...r, updates: () => r.shown.filter((d) => d.update).map((d) => d.id) };
}

const sweepMagic = magics.find((m) => m.name === 'sweep')!;
const sweepsMagic = magics.find((m) => m.name === 'sweeps')!;

describe('%%sweep / %sweeps', () => {
  test('runs a session trial function, updates the display live, stores the result, lists it', async () => {
    const vars: Record<string, unknown> = { f: async (p: Record<string, number>) => ({ loss: (p.x - 0.2) ** 2 + p.n / 100 }) };
    const c = context('x: uniform(-1, 1)\nn: int(0, 5)', vars);
    const args: ParsedArgs = { trials: 8, trial: 'f', objective: 'loss', name: 'm1', store: 'store.sqlite', optimizer: 'bayes', seed: 1, out: 'res' };
    const best = (await sweepMagic.run(args, c.ctx)) as { data: Record<string, unknown> };
    expect(c.updates().length).toBeGreaterThanOrEqual(2);
    const res = c.vars.get('res') as { trials: unknown[]; best: { metrics: { loss: number } } };
    expect(res.trials).toHaveLength(8);
    expect(JSON.parse(String(best.data['text/plain']))).toHaveProperty('x');
    expect(c.printed.join('')).toMatch(/sweep m1: best loss = /);
    const list = sweepsMagic.run({ store: 'store.sqlite' }, context(undefined, {}).ctx) as { data: Record<string, string> };
    expect(list.data['text/plain']).toMatch(/m1\s+completed\s+8/);
    // resume with a larger budget keeps the 8 and adds 2
    const c2 = context('', vars);
    await sweepMagic.run({ ...args, name: undefined, resume: 'm1', trials: 10 }, c2.ctx);
    expect((c2.vars.get('res') as { trials: unknown[] }).trials).toHaveLength(10);
  });

  test('errors name the fix', async () => {
    await expect(Promise.resolve(sweepMagic.run({ trials: 2, trial: 'nope', store: 's2.sqlite' }, context('x: uniform(0, 1)', {}).ctx))).rejects.toThrow(/no function named 'nope'/);
    await expect(Promise.resolve(sweepMagic.run({ trials: 2, trial: 'f', store: 's2.sqlite' }, context('x: unifrom(0, 1)', { f: () => 1 }).ctx))).rejects.toThrow(/line 1 .*did you mean 'uniform'/);
  });

  test('chart specs carry the data they plot', () => {
    const trials = [0, 1, 2, 3].map((i) => ({ index: i, status: 'completed', params: { lr: 10 ** -(i + 1), act: i % 2 ? 'relu' : 'tanh' }, metrics: { acc: 0.5 + 0.1 * i }, costs: { flash: 1000 * (i + 1) } }));
    const pc = sweepParamChart(trials, 'acc', ['lr']) as { hconcat: Array<{ data: { values: unknown[] }; encoding: { x: { scale?: { type?: string } } } }> };
    expect(pc.hconcat).toHaveLength(2);
    expect(pc.hconcat[0].encoding.x.scale?.type).toBe('log');
    const par = sweepParallelCoordinates(trials, 'acc') as { data: { values: Array<{ pos: number }> } };
    expect(par.data.values).toHaveLength(4 * 3);
    expect(par.data.values.every((v) => v.pos >= 0 && v.pos <= 1)).toBe(true);
    const pf = sweepParetoChart(trials, 'acc', 'flash', { paretoIndices: [0, 1, 2, 3], limit: 3500 }) as { layer: unknown[]; data: { values: unknown[] } };
    expect(pf.layer).toHaveLength(4);
    expect(pf.data.values).toHaveLength(4);
  });
});
