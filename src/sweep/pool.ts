/**
 * Trials in child processes, one Node (and so one tfjs) per worker, for `--parallel N` on CPU-bound training. The
 * trial function is loaded in the child from a module path and export name, so it must live in a file (a function
 * defined in a notebook cell cannot cross a process boundary; it runs in-process instead).
 *
 * Each child runs a tiny host (below) that requires the module once and answers `run` messages over IPC; an abort
 * message aborts the trial's AbortSignal, and a child that does not stop is killed.
 */
import { spawn } from 'child_process';
import type { ChildProcess } from 'child_process';
import * as path from 'path';
import { AbortedError, TinylabError } from '../common/errors';

export interface TrialRef {
  /** Absolute path (or path relative to the working directory) of a CommonJS module, or `recipe:<name>`. */
  module: string;
  /** Export holding `(params, signal, ctx) => Promise<metrics>` (default: 'default', then the module itself). */
  export?: string;
  /** Extra node flags for the children (e.g. a TypeScript require hook). */
  execArgv?: string[];
}

const HOST = `
const ref = JSON.parse(process.env.TINYLAB_TRIAL_REF);
let fn;
try {
  const mod = require(ref.module);
  fn = ref.export ? mod[ref.export] : (mod.default || mod);
  if (typeof fn !== 'function') throw new Error('export ' + (ref.export || 'default') + ' of ' + ref.module + ' is not a function');
} catch (e) {
  process.send({ type: 'fatal', message: String(e && e.message || e) });
  process.exit(1);
}
let ac;
process.on('message', async (m) => {
  if (m.type === 'abort') { if (ac) ac.abort(); return; }
  if (m.type === 'exit') { process.exit(0); }
  if (m.type !== 'run') return;
  ac = new AbortController();
  try {
    const metrics = await fn(m.params, ac.signal, m.ctx);
    process.send({ type: 'result', id: m.id, metrics });
  } catch (e) {
    process.send({ type: 'error', id: m.id, message: String(e && e.message || e), aborted: ac.signal.aborted });
  }
});
process.send({ type: 'ready' });
`;

interface Job {
  id: number;
  resolve: (m: unknown) => void;
  reject: (e: Error) => void;
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  job?: Job;
  /** Reserved synchronously by run() before it awaits readiness, so concurrent calls pick different workers. */
  busy?: boolean;
  stderr: string;
}

/** Resolve `recipe:<name>` to our recipes module (compiled next to this file). */
export function resolveTrialRef(ref: TrialRef, cwd = process.cwd()): TrialRef {
  if (ref.module.startsWith('recipe:')) {
    const ext = path.extname(__filename);
    const execArgv = ext === '.ts' ? [...(ref.execArgv ?? [])] : ref.execArgv;
    return { module: path.join(__dirname, `recipes${ext}`), export: ref.module.slice('recipe:'.length), execArgv };
  }
  return { ...ref, module: path.resolve(cwd, ref.module) };
}

export class ProcessPool {
  private readonly workers: Worker[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number, private readonly ref: TrialRef) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawnWorker());
  }

  private spawnWorker(): Worker {
    const child = spawn(process.execPath, [...(this.ref.execArgv ?? []), '-e', HOST], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, TINYLAB_TRIAL_REF: JSON.stringify(this.ref) },
    });
    const w: Worker = { child, stderr: '', ready: Promise.resolve() };
    child.stderr?.on('data', (d: Buffer) => {
      w.stderr = (w.stderr + d.toString()).slice(-4000);
    });
    w.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: { type: string; id?: number; metrics?: unknown; message?: string; aborted?: boolean }) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'fatal') reject(new TinylabError(`trial worker could not load ${this.ref.module}: ${m.message}`));
        else if (w.job && m.id === w.job.id) {
          const job = w.job;
          w.job = undefined;
          if (m.type === 'result') job.resolve(m.metrics);
          else job.reject(m.aborted ? new AbortedError('trial interrupted') : new TinylabError(m.message ?? 'trial failed'));
        }
      });
      child.on('exit', (code, sig) => {
        const err = new TinylabError(`trial worker exited (${sig ?? code})${w.stderr ? `: ${w.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
        reject(err);
        if (w.job) {
          const job = w.job;
          w.job = undefined;
          job.reject(err);
        }
      });
    });
    w.ready.catch(() => undefined);
    return w;
  }

  /** Run one trial on a free worker (callers keep at most `size` in flight). */
  async run(params: unknown, ctx: unknown, signal?: AbortSignal): Promise<unknown> {
    if (this.closed) throw new TinylabError('the trial pool is closed');
    let w = this.workers.find((x) => !x.busy && x.child.exitCode === null && x.child.signalCode === null);
    if (!w) {
      // a worker died (crash, OOM): replace it
      const dead = this.workers.findIndex((x) => !x.busy);
      if (dead < 0) throw new TinylabError('no free trial worker: keep at most `parallel` trials in flight');
      w = this.spawnWorker();
      this.workers[dead] = w;
    }
    const worker = w;
    worker.busy = true;
    try {
      await worker.ready;
    } catch (e) {
      worker.busy = false;
      throw e;
    }
    return new Promise<unknown>((resolve, reject) => {
      const id = this.nextId++;
      worker.job = {
        id,
        resolve: (m) => {
          worker.busy = false;
          resolve(m);
        },
        reject: (e) => {
          worker.busy = false;
          reject(e);
        },
      };
      const onAbort = () => {
        worker.child.send({ type: 'abort' });
        // a trial that ignores its signal is killed after a grace period
        setTimeout(() => {
          if (worker.job?.id === id) worker.child.kill('SIGKILL');
        }, 5000).unref();
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      worker.child.send({ type: 'run', id, params, ctx });
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        try {
          w.child.send({ type: 'exit' });
        } catch {
          // already gone
        }
        setTimeout(() => w.child.kill('SIGKILL'), 2000).unref();
      }
    }
  }
}
