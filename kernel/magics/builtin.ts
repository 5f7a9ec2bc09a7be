/**
 * Built-in magics: %lsmagic, %help, %time/%%time, %timeit, %env, %cd, %who, %%writefile, %reset.
 * They need the session (run code, list variables), which the kernel's context provides (KernelMagicContext).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError, TinylabError } from '../../src/common/errors';
import { closestMatch } from '../../src/common/suggest';
import { table } from '../display/helpers';
import { plainText } from '../display/mime';
import { formatHelp, formatLsmagic } from './help';
import { isKernelContext, type KernelMagicContext, type KernelMagicSpec } from './registry';
import type { MagicContext, MagicSpec } from './types';

function kernelCtx(ctx: MagicContext, magic: string): KernelMagicContext {
  if (!isKernelContext(ctx)) throw new TinylabError(`%${magic} needs the tinylab kernel's session`);
  return ctx;
}

/** Time with 3 significant digits in the unit IPython would pick. */
export function formatDuration(seconds: number): string {
  const units: [number, string][] = [[1, 's'], [1e-3, 'ms'], [1e-6, 'µs'], [1e-9, 'ns']];
  for (const [scale, unit] of units) {
    if (seconds >= scale || scale === 1e-9) return `${(seconds / scale).toPrecision(3)} ${unit}`;
  }
  return `${seconds} s`;
}

async function timed(ctx: KernelMagicContext, code: string): Promise<unknown> {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let value: unknown;
  try {
    value = await ctx.runCode(code);
  } finally {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    ctx.print(`CPU times: user ${formatDuration(cpu.user / 1e6)}, sys: ${formatDuration(cpu.system / 1e6)}, total: ${formatDuration((cpu.user + cpu.system) / 1e6)}\nWall time: ${formatDuration(wall)}\n`);
  }
  return value;
}

/** Statistics as IPython's %timeit: loops per run grow until a run takes ≥ 0.2 s, then `repeat` runs. */
export interface TimeitResult {
  loops: number;
  repeat: number;
  /** Seconds per loop, one entry per run. */
  perLoop: number[];
  mean: number;
  std: number;
}

export async function timeit(fn: () => unknown, opts: { number?: number; repeat?: number; signal?: AbortSignal; budget?: number } = {}): Promise<TimeitResult> {
  const once = async (n: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = fn();
      if (r && typeof (r as Promise<unknown>).then === 'function') await r;
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  let loops = opts.number ?? 0;
  if (!loops) {
    // 1, 2, 5, 10, 20, 50 … like IPython's autorange.
    for (let base = 1; ; base *= 10) {
      let done = false;
      for (const k of [1, 2, 5]) {
        loops = base * k;
        if ((await once(loops)) >= 0.2 || loops >= 1e7) {
          done = true;
          break;
        }
        if (opts.signal?.aborted) throw new TinylabError('%timeit interrupted');
      }
      if (done) break;
    }
  }
  const perLoop: number[] = [];
  const repeat = opts.repeat ?? 7;
  const start = Date.now();
  for (let r = 0; r < repeat; r++) {
    if (opts.signal?.aborted) throw new TinylabError('%timeit interrupted');
    perLoop.push((await once(loops)) / loops);
    if (opts.budget && Date.now() - start > opts.budget * 1000 && perLoop.length >= 2) break;
  }
  const mean = perLoop.reduce((a, b) => a + b, 0) / perLoop.length;
  const std = perLoop.length > 1 ? Math.sqrt(perLoop.reduce((a, b) => a + (b - mean) ** 2, 0) / perLoop.length) : 0;
  return { loops, repeat: perLoop.length, perLoop, mean, std };
}

/** IPython-style leading options before raw code: `-n 100 -r 3 -o name <code>`. */
function splitLeadingOptions(raw: string, known: Record<string, 'int' | 'name'>): { opts: Record<string, number | string>; rest: string } {
  const opts: Record<string, number | string> = {};
  let rest = raw.trimStart();
  for (;;) {
    const m = /^-([a-z])\s*([A-Za-z_$][\w$]*|\d+)(?:\s+|$)/.exec(rest);
    if (!m || !(m[1] in known)) break;
    if (known[m[1]] === 'int' && !/^\d+$/.test(m[2])) throw new InputError(`-${m[1]} expects a whole number, got '${m[2]}'`);
    opts[m[1]] = known[m[1]] === 'int' ? Number(m[2]) : m[2];
    rest = rest.slice(m[0].length);
  }
  return { opts, rest };
}

const builtins: KernelMagicSpec[] = [
  {
    name: 'lsmagic',
    kind: 'line',
    summary: 'list every magic with a one-line summary',
    args: [],
    run(_args, ctx) {
      return kernelCtx(ctx, 'lsmagic').print(formatLsmagic(kernelCtx(ctx, 'lsmagic').registry) + '\n');
    },
  },
  {
    name: 'help',
    kind: 'line',
    summary: "show a magic's arguments, help and examples (same as %name?)",
    args: [{ name: 'name', type: 'string', positional: true, required: true, help: 'the magic, with or without %' }],
    examples: ['%help timeit', '%time?'],
    run(args, ctx) {
      const k = kernelCtx(ctx, 'help');
      const name = String(args.name).replace(/^%+/, '');
      const spec = k.registry.get(name);
      if (!spec) {
        const near = closestMatch(name, k.registry.names());
        throw new InputError(`no magic named %${name}${near ? `; did you mean %${near}?` : ''} (%lsmagic lists them all)`);
      }
      k.print(formatHelp(spec) + '\n');
    },
  },
  {
    name: 'time',
    kind: 'both',
    rawArgs: true,
    summary: 'run TypeScript once and print CPU and wall time (line: the rest of the line; cell: the body)',
    args: [{ name: 'code', type: 'string', positional: true, help: 'TypeScript to run (line form)' }],
    examples: ['%time model.predict(x)', '%%time\nawait fit(model, data)'],
    async run(args, ctx) {
      const k = kernelCtx(ctx, 'time');
      const code = ctx.body ?? String(args.code ?? '');
      if (!code.trim()) throw new InputError('%time needs code to run: %time <statement>, or %%time with a cell body');
      return timed(k, code);
    },
  },
  {
    name: 'timeit',
    kind: 'both',
    rawArgs: true,
    summary: 'time code over many loops and runs; report mean ± std per loop like IPython',
    help: 'Options before the code: -n <loops per run> (default: grow until a run takes 0.2 s), -r <runs> (default 7),\n-o <name> stores the statistics ({loops, repeat, perLoop, mean, std}, seconds) in a variable.\nCode containing `await` is timed as an async function.',
    args: [{ name: 'code', type: 'string', positional: true, help: 'TypeScript to time (line form); options -n N -r R first' }],
    examples: ['%timeit Math.sqrt(2)', '%timeit -n 100 -r 3 xs.sort()', '%timeit -o t fib(20)'],
    async run(args, ctx) {
      const k = kernelCtx(ctx, 'timeit');
      const { opts, rest } = splitLeadingOptions(ctx.body !== undefined ? String(args.code ?? '') + ' ' : String(args.code ?? ''), { n: 'int', r: 'int', o: 'name' });
      const code = ctx.body ?? rest;
      if (!code.trim()) throw new InputError('%timeit needs code: %timeit [-n N] [-r R] <statement>');
      const isAsync = /\bawait\b/.test(code);
      const fn = (await k.runCode(`(${isAsync ? 'async ' : ''}() => {\n${code}\n})`)) as () => unknown;
      if (typeof fn !== 'function') throw new TinylabError('%timeit could not compile the code into a function');
      const r = await timeit(fn, { number: opts.n as number | undefined, repeat: opts.r as number | undefined, signal: ctx.signal, budget: 20 });
      if (typeof opts.o === 'string') ctx.setVariable(opts.o, r);
      const text = `${formatDuration(r.mean)} ± ${formatDuration(r.std)} per loop (mean ± std. dev. of ${r.repeat} run${r.repeat === 1 ? '' : 's'}, ${r.loops} loop${r.loops === 1 ? '' : 's'} each)`;
      ctx.print(text + '\n');
      return undefined;
    },
  },
  {
    name: 'env',
    kind: 'line',
    rawArgs: true,
    summary: 'list, read or set environment variables (%env, %env NAME, %env NAME=value)',
    args: [{ name: 'assignment', type: 'string', positional: true, help: 'NAME, NAME=value or NAME value' }],
    examples: ['%env', '%env TF_CPP_MIN_LOG_LEVEL=2'],
    run(args, ctx) {
      const raw = String(args.assignment ?? '').trim();
      if (!raw) {
        const rows = Object.keys(process.env).sort().map((k) => ({ name: k, value: process.env[k] ?? '' }));
        return table(rows);
      }
      const m = /^([A-Za-z_][\w]*)\s*(?:=\s*|\s+)(.*)$/.exec(raw);
      if (m) {
        process.env[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
        ctx.print(`env: ${m[1]}=${process.env[m[1]]}\n`);
        return undefined;
      }
      if (!/^[A-Za-z_]\w*$/.test(raw)) throw new InputError(`%env: '${raw}' is not a variable name; use %env NAME=value`);
      if (process.env[raw] === undefined) throw new InputError(`%env: ${raw} is not set; set it with %env ${raw}=value`);
      return process.env[raw];
    },
  },
  {
    name: 'cd',
    kind: 'line',
    summary: "change the kernel's working directory (no argument: home)",
    args: [{ name: 'dir', type: 'string', positional: true, help: 'directory, absolute or relative; ~ is home' }],
    run(args, ctx) {
      const raw = args.dir === undefined ? os.homedir() : String(args.dir).replace(/^~(?=$|\/)/, os.homedir());
      const target = path.resolve(process.cwd(), raw);
      if (!fs.existsSync(target) || !fs.statSync(target).isDirectory()) throw new InputError(`%cd: no such directory: ${target}`);
      process.chdir(target);
      ctx.cwd = process.cwd();
      ctx.print(process.cwd() + '\n');
    },
  },
  {
    name: 'who',
    kind: 'line',
    summary: 'list the variables defined in this session with their types',
    args: [],
    run(_args, ctx) {
      const k = kernelCtx(ctx, 'who');
      const names = k.listVariables();
      if (!names.length) {
        k.print('Interactive namespace is empty.\n');
        return undefined;
      }
      const rows = names.map((n) => {
        const v = k.getVariable(n);
        const type = v === null ? 'null' : typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
        const summary = plainText(v).split('\n')[0];
        return { variable: n, type, value: summary.length > 60 ? summary.slice(0, 57) + '...' : summary };
      });
      return table(rows);
    },
  },
  {
    name: 'writefile',
    kind: 'cell',
    summary: 'write the cell body to a file (relative to the working directory)',
    args: [
      { name: 'path', type: 'string', positional: true, required: true, help: 'file to write' },
      { name: 'append', alias: 'a', type: 'boolean', help: 'append instead of overwriting', default: false },
    ],
    examples: ['%%writefile data/config.json\n{"epochs": 3}'],
    run(args, ctx) {
      const file = path.resolve(process.cwd(), String(args.path));
      const body = (ctx.body ?? '').endsWith('\n') ? (ctx.body ?? '') : (ctx.body ?? '') + '\n';
      const existed = fs.existsSync(file);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      if (args.append) fs.appendFileSync(file, body);
      else fs.writeFileSync(file, body);
      ctx.print(`${args.append ? 'Appending to' : existed ? 'Overwriting' : 'Writing'} ${String(args.path)}\n`);
    },
  },
  {
    name: 'reset',
    kind: 'line',
    summary: 'forget every variable, function and type defined in this session (preloads stay)',
    args: [{ name: 'force', alias: 'f', type: 'boolean', help: 'accepted for IPython compatibility; reset never asks', default: false }],
    run(_args, ctx) {
      const k = kernelCtx(ctx, 'reset');
      const n = k.listVariables().length;
      k.resetSession();
      k.print(`Session reset: ${n} variable${n === 1 ? '' : 's'} removed.\n`);
    },
  },
];

export const magics: MagicSpec[] = builtins;
