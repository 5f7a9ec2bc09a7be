/**
 * Execute a notebook's code cells in order on a kernel we launch, recording outputs the way nbclient does
 * (execution_count, metadata.execution timings, display updates across cells, clear_output), and stopping cleanly on
 * errors, per-cell timeouts, a dead kernel or an interrupt. The notebook is updated in place, so whatever has run is
 * there to write even when the run fails.
 */
import * as fs from 'fs';
import * as path from 'path';
import { KernelDiedError } from '../client/client';
import { KernelSpec, findKernelSpec, packageRoot } from '../client/kernelspec';
import { RunningKernel, startKernel } from '../client/launch';
import { JupyterMessage } from '../client/wire';
import { Cell, ErrorOutput, Notebook, Output, RunMetadata, RunStatus, firstLine, joinSource } from './notebook';
import { Params, injectParameters, languageOf } from './params';

export interface CellEvent {
  /** Index in the (executed) notebook's cell list. */
  index: number;
  cell: Cell;
  /** 1-based position among the code cells to run, and their number. */
  ordinal: number;
  total: number;
}

export interface ExecuteNotebookOptions {
  /** Kernel name or a resolved spec; default 'tinylab'. */
  kernel?: string | KernelSpec;
  cwd?: string;
  parameters?: Params;
  /** Per-cell limit in seconds; the cell is interrupted when it runs longer. */
  timeoutSec?: number;
  allowErrors?: boolean;
  /** Abort to interrupt the running cell and stop (Ctrl-C). */
  signal?: AbortSignal;
  /** How long an interrupted cell may take to wind down before the kernel is killed. */
  interruptGraceMs?: number;
  startupTimeoutMs?: number;
  onCellStart?(e: CellEvent): void;
  onCellEnd?(e: CellEvent & { status: CellStatus; seconds: number }): void;
  /** Input path, recorded in the metadata. */
  inputPath?: string;
}

export type CellStatus = 'ok' | 'error' | 'timeout' | 'dead' | 'interrupted';

export interface ExecuteNotebookResult {
  notebook: Notebook;
  status: RunStatus;
  meta: RunMetadata;
  /** Set when status is not 'ok': which cell stopped the run and why. */
  failure?: { index: number; cell: Cell; ename: string; evalue: string };
  /** Cells that failed but were run past (--allow-errors). */
  erroredCells: number[];
}

function tinylabVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function tfjsVersion(): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'node_modules', '@tensorflow', 'tfjs', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

const PROBE_MARK = '__TINYLAB_PROBE__';
/**
 * Asks a TypeScript kernel for its Node version and tfjs backend (store_history off: it uses no execution count).
 * It only looks at tfjs-core if a cell already loaded it (require.cache), so a notebook that never touched
 * TensorFlow does not pay for loading it here.
 */
const TS_PROBE = `{ let backend: string | null = null; let tfjs: string | null = null;
try {
  for (const key of Object.keys(require.cache)) {
    if (!/tfjs-core[\\\\/]dist[\\\\/][^\\\\/]+\\.js$/.test(key)) continue;
    const core = require.cache[key]?.exports as { getBackend?: () => string; version_core?: string } | undefined;
    if (core && typeof core.getBackend === 'function') { backend = core.getBackend() ?? null; tfjs = core.version_core ?? null; break; }
  }
} catch { /* no tfjs loaded */ }
console.log(${JSON.stringify(PROBE_MARK)} + JSON.stringify({ node: process.version, backend, tfjs })); }`;

/** Records one cell's messages into nbformat outputs, nbclient-style. */
class OutputRecorder {
  private clearPending = false;
  constructor(
    private readonly cell: Cell,
    private readonly displays: Map<string, Array<{ data: Record<string, unknown>; metadata: Record<string, unknown> }>>,
  ) {}

  handle(msg: JupyterMessage): void {
    const c = msg.content as Record<string, unknown>;
    const exec = (this.cell.metadata.execution ??= {}) as Record<string, string>;
    switch (msg.header.msg_type) {
      case 'status':
        if (c.execution_state === 'busy') exec['iopub.status.busy'] = msg.header.date;
        if (c.execution_state === 'idle') exec['iopub.status.idle'] = msg.header.date;
        return;
      case 'execute_input':
        exec['iopub.execute_input'] = msg.header.date;
        if (typeof c.execution_count === 'number') this.cell.execution_count = c.execution_count;
        return;
      case 'clear_output':
        if (c.wait) this.clearPending = true;
        else this.cell.outputs = [];
        return;
      case 'update_display_data': {
        const id = (c.transient as { display_id?: string } | undefined)?.display_id;
        for (const o of (id && this.displays.get(id)) || []) {
          o.data = (c.data as Record<string, unknown>) ?? {};
          o.metadata = (c.metadata as Record<string, unknown>) ?? {};
        }
        return;
      }
      case 'stream': {
        const name = c.name === 'stderr' ? 'stderr' : 'stdout';
        const text = String(c.text ?? '');
        this.flushClear();
        const outs = this.cell.outputs!;
        const last = outs[outs.length - 1];
        // Consecutive writes to one stream are one output, as Jupyter front ends show them.
        if (last && last.output_type === 'stream' && last.name === name) last.text = joinSource(last.text) + text;
        else outs.push({ output_type: 'stream', name, text });
        return;
      }
      case 'display_data':
      case 'execute_result': {
        this.flushClear();
        const data = (c.data as Record<string, unknown>) ?? {};
        const metadata = (c.metadata as Record<string, unknown>) ?? {};
        const out: Output =
          msg.header.msg_type === 'execute_result'
            ? { output_type: 'execute_result', data, metadata, execution_count: (c.execution_count as number | undefined) ?? this.cell.execution_count ?? null }
            : { output_type: 'display_data', data, metadata };
        this.cell.outputs!.push(out);
        const id = (c.transient as { display_id?: string } | undefined)?.display_id;
        if (id) {
          const list = this.displays.get(id) ?? [];
          list.push(out as { data: Record<string, unknown>; metadata: Record<string, unknown> });
          this.displays.set(id, list);
        }
        return;
      }
      case 'error':
        this.flushClear();
        this.cell.outputs!.push({
          output_type: 'error',
          ename: String(c.ename ?? 'Error'),
          evalue: String(c.evalue ?? ''),
          traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
        });
        return;
      default:
        return;
    }
  }

  private flushClear(): void {
    if (this.clearPending) {
      this.cell.outputs = [];
      this.clearPending = false;
    }
  }
}

function addError(cell: Cell, ename: string, evalue: string, traceback: string[] = []): ErrorOutput {
  const out: ErrorOutput = { output_type: 'error', ename, evalue, traceback: traceback.length ? traceback : [`${ename}: ${evalue}`] };
  cell.outputs!.push(out);
  return out;
}

/** Resolve with `p`'s outcome (true) or false after `ms`, without leaving a timer that keeps the process alive. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run every code cell of `nb` (after injecting parameters) on a freshly started kernel. Never throws for cell
 * failures: they come back as the result's status. Throws only when the kernel cannot be started (InputError for an
 * unknown kernel name, KernelDiedError/KernelTimeoutError when it will not come up).
 */
export async function executeNotebook(nb: Notebook, opts: ExecuteNotebookOptions = {}): Promise<ExecuteNotebookResult> {
  const spec = typeof opts.kernel === 'object' ? opts.kernel : findKernelSpec(opts.kernel ?? 'tinylab');
  const params = opts.parameters ?? {};
  const started = new Date();
  const lang = spec.language || String((nb.metadata.kernelspec as { language?: string } | undefined)?.language ?? '');
  injectParameters(nb, params, languageOf(lang));

  // A re-run starts from a clean slate, like papermill: no stale outputs from a previous execution.
  for (const c of nb.cells) {
    if (c.cell_type !== 'code') continue;
    c.outputs = [];
    c.execution_count = null;
    delete c.metadata.execution;
    delete c.metadata.tinylab;
  }

  const tStart = Date.now();
  const kernel: RunningKernel = await startKernel({ kernel: spec, cwd: opts.cwd, startupTimeoutMs: opts.startupTimeoutMs });
  const tReady = Date.now();
  // Let the kernel finish warming up before the first cell's --timeout clock starts: tinylab builds its TypeScript
  // program right after kernel_info (seconds, blocking), which is not the first cell's fault. A silent no-op
  // request queues behind that work; it uses no execution count and publishes nothing.
  const noop = languageOf(lang) === 'python' ? 'pass' : '0;';
  if (!opts.signal?.aborted) {
    const aborted = new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }));
    await within(Promise.race([kernel.client.execute(noop, { silent: true, storeHistory: false }).done, aborted]), opts.startupTimeoutMs ?? 60_000);
  }
  const tWarm = Date.now();
  const info = (kernel.kernelInfo?.content ?? {}) as Record<string, unknown>;
  const languageInfo = (info.language_info as Record<string, unknown> | undefined) ?? { name: lang || 'typescript' };
  nb.metadata.kernelspec = { name: spec.name, display_name: spec.display_name, language: spec.language || String(languageInfo.name ?? '') };
  nb.metadata.language_info = languageInfo;

  const displays = new Map<string, Array<{ data: Record<string, unknown>; metadata: Record<string, unknown> }>>();
  const codeCells = nb.cells.map((c, i) => [c, i] as const).filter(([c]) => c.cell_type === 'code' && joinSource(c.source).trim() !== '');
  const graceMs = opts.interruptGraceMs ?? 10_000;
  let status: RunStatus = 'ok';
  let failure: ExecuteNotebookResult['failure'];
  const erroredCells: number[] = [];
  let executed = 0;
  let versions: RunMetadata['versions'] = { tinylab: tinylabVersion(), node: process.version, tfjs: tfjsVersion() };

  try {
    for (let k = 0; k < codeCells.length; k++) {
      const [cell, index] = codeCells[k];
      if (opts.signal?.aborted) {
        status = 'interrupted';
        break;
      }
      const ev: CellEvent = { index, cell, ordinal: k + 1, total: codeCells.length };
      opts.onCellStart?.(ev);
      const t0 = Date.now();
      const rec = new OutputRecorder(cell, displays);
      const handle = kernel.client.execute(joinSource(cell.source), { onIopub: (m) => rec.handle(m), stopOnError: !opts.allowErrors });

      // Race the cell against its timeout and the user's interrupt; either one interrupts the kernel, then the cell
      // gets `graceMs` to wind down before the kernel is killed (a kernel that ignores interrupts must not hang us).
      let stopReason: 'timeout' | 'interrupted' | undefined;
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const stopped = new Promise<void>((resolve) => {
        if (opts.timeoutSec && opts.timeoutSec > 0) {
          timer = setTimeout(() => {
            stopReason = 'timeout';
            resolve();
          }, opts.timeoutSec * 1000);
        }
        onAbort = () => {
          stopReason ??= 'interrupted';
          resolve();
        };
        if (opts.signal?.aborted) onAbort();
        else opts.signal?.addEventListener('abort', onAbort, { once: true });
      });
      let outcome: Awaited<typeof handle.done> | undefined;
      let died: Error | undefined;
      const settle = handle.done.then(
        (o) => {
          outcome = o;
        },
        (e: Error) => {
          died = e;
        },
      );
      await Promise.race([settle, stopped]);
      if (!outcome && !died && stopReason) {
        await kernel.interrupt();
        await within(settle, graceMs);
        if (!outcome && !died) {
          await kernel.shutdown(0);
          await within(settle, 2_000);
        }
      }
      if (timer) clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      executed++;

      let cellStatus: CellStatus = 'ok';
      if (outcome) {
        const reply = outcome.reply.content as Record<string, unknown>;
        (cell.metadata.execution as Record<string, string>)['shell.execute_reply'] = outcome.reply.header.date;
        if (typeof reply.execution_count === 'number') cell.execution_count = reply.execution_count;
        if (reply.status === 'error' || reply.status === 'aborted') {
          cellStatus = 'error';
          if (!cell.outputs!.some((o) => o.output_type === 'error')) {
            addError(cell, String(reply.ename ?? 'Error'), String(reply.evalue ?? reply.status), (reply.traceback as string[] | undefined) ?? []);
          }
        }
      }
      if (stopReason === 'timeout') {
        cellStatus = 'timeout';
        addError(cell, 'CellTimeoutError', `the cell ran longer than --timeout ${opts.timeoutSec} s and was interrupted`);
      } else if (stopReason === 'interrupted') {
        cellStatus = 'interrupted';
        if (!cell.outputs!.some((o) => o.output_type === 'error')) addError(cell, 'KeyboardInterrupt', 'the run was interrupted (Ctrl-C)');
      } else if (died) {
        cellStatus = 'dead';
        const detail = died instanceof KernelDiedError ? died.detail : died.message;
        addError(cell, 'DeadKernelError', `the kernel died while running this cell: ${detail}`);
      }
      const seconds = (Date.now() - t0) / 1000;
      cell.metadata.tinylab = { status: cellStatus, duration_s: Math.round(seconds * 1000) / 1000 };
      opts.onCellEnd?.({ ...ev, status: cellStatus, seconds });

      if (cellStatus !== 'ok') {
        const err = [...cell.outputs!].reverse().find((o): o is ErrorOutput => o.output_type === 'error');
        const f = { index, cell, ename: err?.ename ?? cellStatus, evalue: err?.evalue ?? '' };
        if (cellStatus === 'error' && opts.allowErrors) {
          erroredCells.push(index);
          failure ??= f;
          continue;
        }
        status = cellStatus;
        failure = f;
        break;
      }
    }
    if (status === 'ok' && erroredCells.length) status = 'error';
  } finally {
    const fromInfo = info.tinylab as Partial<RunMetadata['versions']> | undefined;
    if (fromInfo && typeof fromInfo === 'object') versions = { ...versions, ...fromInfo };
    else if (kernel.isAlive && !kernel.client.isDead && languageOf(lang) === 'typescript' && status !== 'timeout') {
      versions = { ...versions, ...(await probeVersions(kernel)) };
    }
    await kernel.shutdown(status === 'dead' ? 0 : 3_000);
  }

  const ended = new Date();
  const meta: RunMetadata = {
    started: started.toISOString(),
    ended: ended.toISOString(),
    duration_s: Math.round((ended.getTime() - started.getTime())) / 1000,
    status,
    parameters: params,
    ...(opts.inputPath ? { input: opts.inputPath } : {}),
    kernel: {
      name: spec.name,
      display_name: spec.display_name,
      language: spec.language,
      ...(typeof info.implementation === 'string' ? { implementation: info.implementation } : {}),
      ...(typeof info.implementation_version === 'string' ? { implementation_version: info.implementation_version } : {}),
    },
    versions,
    timings: { kernel_start_s: (tReady - tStart) / 1000, kernel_warmup_s: (tWarm - tReady) / 1000 },
    cells: { total: codeCells.length, executed },
    ...(failure
      ? {
          failure: {
            cell_index: failure.index,
            execution_count: failure.cell.execution_count ?? null,
            first_line: firstLine(failure.cell, 200),
            ename: failure.ename,
            evalue: failure.evalue,
          },
        }
      : {}),
  };
  const tl = ((nb.metadata.tinylab as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
  tl.run = meta;
  nb.metadata.tinylab = tl;
  return { notebook: nb, status, meta, failure, erroredCells };
}

async function probeVersions(kernel: RunningKernel): Promise<Partial<RunMetadata['versions']>> {
  let text = '';
  const h = kernel.client.execute(TS_PROBE, {
    storeHistory: false,
    onIopub: (m) => {
      if (m.header.msg_type === 'stream') text += String((m.content as { text?: string }).text ?? '');
    },
  });
  const ok = await within(h.done, 10_000);
  if (!ok) return {};
  const line = text.split('\n').find((l) => l.startsWith(PROBE_MARK));
  if (!line) return {};
  try {
    const o = JSON.parse(line.slice(PROBE_MARK.length)) as { node?: string; backend?: string | null; tfjs?: string | null };
    return { ...(o.node ? { node: o.node } : {}), ...(o.backend ? { backend: o.backend } : {}), ...(o.tfjs ? { tfjs: o.tfjs } : {}) };
  } catch {
    return {};
  }
}
