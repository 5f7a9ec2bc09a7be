/**
 * %%sweep and %sweeps: thin adapters over src/sweep and src/store.
 *
 *   %%sweep --trials 30 --parallel 2 --objective val_accuracy --maximize --board nucleo-l4r5zi --max-latency 50 --name mnist-a
 *   learningRate: loguniform(1e-4, 1e-1)
 *   filters: int(4, 64)
 *
 * The trial is `--trial <variable>` (a `(params, signal) => metrics` function defined in an earlier cell; runs in the
 * kernel process), `--trial recipe:cnn` (the library's CNN recipe), or `--module file.js --export fn` (loaded in child
 * processes, one per parallel slot: the way to a real speed-up on CPU-bound trials). With --board the candidate model is
 * priced by src/mcu before training (cnn recipe) and skipped if it does not fit or misses --max-latency.
 */
import * as path from 'path';
import { InputError } from '../../src/common/errors';
import { openStore } from '../../src/store/store';
import { sweepConvergenceChart, sweepParamChart, sweepParetoChart } from '../../src/charts/sweep';
import { bestLine, tableHtml, tableText, trialTable } from '../../src/sweep/display';
import { parseSpace } from '../../src/sweep/space';
import { loadSweep, sweep } from '../../src/sweep/sweep';
import type { ConstraintFn, SweepResult, TrialFn } from '../../src/sweep/sweep';
import type { TrialRow } from '../../src/store/store';
import { bundle } from '../display/bundle';
import { vegaLite } from '../display/vegalite';
import type { MagicContext, MagicSpec, ParsedArgs } from './types';

function liveBundle(name: string, trials: TrialRow[], objective: string, direction: 'minimize' | 'maximize', done: number, total: number) {
  const { header, rows } = trialTable(trials, objective);
  const head = `sweep ${name}: ${done}/${total} trials`;
  return bundle({ 'text/plain': `${head}\n${tableText(header, rows.slice(-15))}`, 'text/html': `<p>${head}</p>${tableHtml(header, rows.slice(-15))}` });
}

async function resolveTrial(args: ParsedArgs, ctx: MagicContext): Promise<{ trial?: TrialFn; worker?: { module: string; export?: string }; recipe?: string }> {
  if (args.module) return { worker: { module: path.resolve(ctx.cwd, String(args.module)), export: args.export ? String(args.export) : undefined } };
  const t = String(args.trial ?? 'recipe:cnn');
  if (t.startsWith('recipe:')) {
    const recipe = t.slice('recipe:'.length);
    if (recipe !== 'cnn') throw new InputError(`unknown recipe '${recipe}'; the library has recipe:cnn (or pass --trial <your function variable>)`);
    if (Number(args.parallel ?? 1) > 1) return { worker: { module: 'recipe:cnn' }, recipe };
    const { cnn } = await import('../../src/sweep/recipes');
    return { trial: cnn, recipe };
  }
  const fn = ctx.getVariable(t);
  if (typeof fn !== 'function') throw new InputError(`--trial ${t}: no function named '${t}' in the session; define \`const ${t} = async (params, signal) => ({ val_accuracy: ... })\` in a cell first, or use --trial recipe:cnn`);
  return { trial: fn as TrialFn };
}

export const magics: MagicSpec[] = [
  {
    name: 'sweep',
    kind: 'cell',
    summary: 'hyperparameter sweep (Bayesian optimization, random, grid), hardware-aware, parallel, resumable',
    help:
      'The body declares the search space, one `name: distribution(args)` per line: uniform(a, b), loguniform(a, b), ' +
      'int(a, b), logint(a, b), choice(x, y, …), fixed(v) or a bare value. Every trial is committed to the experiment ' +
      'store as it completes; --resume NAME continues an interrupted sweep. The result is kept in the variable `sweepResult` ' +
      '(or --out).',
    args: [
      { name: 'trials', type: 'int', min: 1, default: 20, help: 'trained trials (skipped infeasible candidates do not count)' },
      { name: 'parallel', type: 'int', min: 1, default: 1, help: 'trials in flight at once' },
      { name: 'objective', type: 'string', default: 'val_accuracy', help: 'metric the trial returns to optimise' },
      { name: 'maximize', type: 'boolean', default: false, help: 'maximise the objective (default: minimise)' },
      { name: 'optimizer', type: 'enum', choices: ['bayes', 'random', 'grid'], default: 'bayes', help: 'search strategy' },
      { name: 'seed', type: 'int', default: 0, help: 'seed for proposals and trial seeds' },
      { name: 'name', type: 'string', help: 'sweep name in the store (default: timestamped)' },
      { name: 'resume', type: 'string', help: 'continue the sweep of this name from the store' },
      { name: 'trial', type: 'string', default: 'recipe:cnn', help: 'a session function variable, or recipe:cnn' },
      { name: 'module', type: 'string', help: 'a CommonJS file whose export is the trial (run in child processes)' },
      { name: 'export', type: 'string', help: 'export name in --module (default: default export)' },
      { name: 'board', type: 'string', help: 'price candidates on this board before training (cnn recipe); skip what does not fit' },
      { name: 'max-latency', type: 'number', min: 0, help: 'skip candidates slower than this (ms) on --board' },
      { name: 'dtype', type: 'enum', choices: ['int8', 'float32'], default: 'int8', help: 'deployment data type for --board' },
      { name: 'pareto', type: 'enum', choices: ['flash', 'ram', 'latencyMs'], help: 'multi-objective: objective against this cost (needs --board)' },
      { name: 'store', type: 'string', help: 'store file (default experiments/tinylab.sqlite)' },
      { name: 'out', type: 'string', default: 'sweepResult', help: 'variable that receives the result' },
    ],
    examples: [
      '%%sweep --trials 30 --parallel 2 --objective val_accuracy --maximize --board nucleo-l4r5zi --max-latency 50 --name mnist-a\nlearningRate: loguniform(1e-4, 1e-1)\nfilters: int(4, 64)\ndepth: int(1, 3)\nactivation: choice(relu, relu6)',
      '%%sweep --trial myTrial --objective loss --trials 40 --name quick\nx: uniform(-2, 2)',
      '%%sweep --resume mnist-a --trials 40',
    ],
    async run(args: ParsedArgs, ctx: MagicContext) {
      const resume = args.resume ? String(args.resume) : undefined;
      const name = resume ?? (args.name ? String(args.name) : undefined);
      const store = openStore(args.store ? path.resolve(ctx.cwd, String(args.store)) : undefined);
      let body = ctx.body ?? '';
      if (resume && !body.trim()) {
        const row = store.getSweep(resume);
        if (!row) throw new InputError(`no sweep named '${resume}' in ${store.file}; %sweeps lists the sweeps there`);
        body = String(row.config.space ?? '');
      }
      const space = parseSpace(body);
      const { trial, worker, recipe } = await resolveTrial(args, ctx);
      let constraints: ConstraintFn | undefined;
      if (args.board) {
        if (recipe !== 'cnn') throw new InputError('--board prices the candidate model, which needs --trial recipe:cnn (or call sweep() with your own `constraints`)');
        const { cnnCost } = await import('../../src/sweep/recipes');
        constraints = cnnCost(String(args.board), { dtype: args.dtype as 'int8' | 'float32', maxLatencyMs: args['max-latency'] as number | undefined });
      }
      const objective = String(args.objective ?? 'val_accuracy');
      const direction = args.maximize ? 'maximize' : 'minimize';
      const cost = args.pareto ? String(args.pareto) : undefined;
      if (cost && !args.board) throw new InputError('--pareto needs --board: the costs come from pricing each candidate on the board');
      const trialsTotal = Number(args.trials ?? 20);
      const liveId = ctx.display(bundle({ 'text/plain': 'sweep starting…' }));
      const chartId = ctx.display(vegaLite(sweepConvergenceChart([], objective, direction)));
      const sweepName = name ?? `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      let lastDraw = 0;
      const redraw = (force: boolean) => {
        if (!force && Date.now() - lastDraw < 500) return;
        lastDraw = Date.now();
        const row = store.getSweep(sweepName);
        if (!row) return;
        const trials = store.trials(row.id);
        const done = trials.filter((t) => t.status === 'completed' || t.status === 'failed').length;
        ctx.updateDisplay(liveId, liveBundle(sweepName, trials, objective, direction, done, trialsTotal));
        ctx.updateDisplay(chartId, vegaLite(sweepConvergenceChart(trials, objective, direction)));
      };
      const result: SweepResult = await sweep({
        space,
        objective,
        direction,
        objectives: cost ? [{ metric: objective, goal: direction }, { metric: cost, goal: 'minimize' }] : undefined,
        trials: trialsTotal,
        parallel: Number(args.parallel ?? 1),
        optimizer: (args.optimizer as 'bayes' | 'random' | 'grid') ?? 'bayes',
        seed: Number(args.seed ?? 0),
        name: sweepName,
        resume: Boolean(resume),
        constraints,
        trial,
        worker,
        store,
        signal: ctx.signal,
        onProgress: () => redraw(false),
      });
      redraw(true);
      ctx.setVariable(String(args.out ?? 'sweepResult'), result);
      ctx.display(vegaLite(sweepParamChart(result.trials, objective, space.dims.filter((d) => d.spec.type === 'loguniform' || (d.spec.type === 'int' && d.spec.log)).map((d) => d.name))));
      if (cost) ctx.display(vegaLite(sweepParetoChart(result.trials, objective, cost, { paretoIndices: result.pareto?.map((t) => t.index) })));
      ctx.print(`${bestLine(result)}${result.stopped === 'aborted' ? `\ninterrupted: continue with %%sweep --resume ${result.name}` : ''}\n`);
      return result.best ? bundle({ 'text/plain': JSON.stringify(result.best.params, null, 1), 'application/json': result.best.params }) : undefined;
    },
  },
  {
    name: 'sweeps',
    kind: 'line',
    summary: 'list the sweeps in the experiment store, or show one sweep\'s trials',
    args: [
      { name: 'name', type: 'string', positional: true, help: 'show this sweep (trials table and charts)' },
      { name: 'store', type: 'string', help: 'store file (default experiments/tinylab.sqlite)' },
    ],
    examples: ['%sweeps', '%sweeps mnist-a'],
    run(args: ParsedArgs, ctx: MagicContext) {
      const store = openStore(args.store ? path.resolve(ctx.cwd, String(args.store)) : undefined);
      if (args.name) {
        const r = loadSweep(String(args.name), store);
        ctx.display(vegaLite(sweepConvergenceChart(r.trials, r.objective, r.direction)));
        return r;
      }
      const header = ['name', 'status', 'completed', 'skipped', 'failed', 'running', 'objective', 'best', 'created'];
      const rows = store.listSweeps().map((s) => [
        s.name,
        s.status,
        String(s.completed),
        String(s.infeasible),
        String(s.failed),
        String(s.running),
        `${String(s.config.objective ?? '')} (${s.config.direction === 'maximize' ? 'max' : 'min'})`,
        // '(GP)': the recommended trial, chosen by the GP's posterior mean rather than the luckiest noisy value.
        s.best !== undefined ? `${Number(s.best.toPrecision(4))}${s.bestRule === 'posterior-mean' ? ' (GP)' : ''}` : '',
        s.createdAt.replace('T', ' ').slice(0, 19),
      ]);
      if (!rows.length) return bundle({ 'text/plain': `no sweeps in ${store.file} yet; run %%sweep` });
      return bundle({ 'text/plain': tableText(header, rows), 'text/html': tableHtml(header, rows) });
    },
  },
];
