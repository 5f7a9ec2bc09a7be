/**
 * The kernel's request handlers: execute (with magics, display, stdin, history, user_expressions), complete,
 * inspect, is_complete, history, kernel_info, comm_info/comm_open, shutdown, interrupt. Protocol plumbing lives in
 * protocol/server.ts; TypeScript in execute/executor.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RequestContext, RequestHandlers, KernelServer } from '../protocol/server';
import type { MessageHeader } from '../protocol/wire';
import { CellExecutor, KernelInterrupt, type RunOutcome } from '../execute/executor';
import { formatRuntimeError, isTinylabError, type ErrorContent } from '../execute/errors';
import { packageRoot } from '../execute/paths';
import { History, type HistoryQuery } from './history';
import { StreamCapture } from './streams';
import { codePointToUtf16, utf16ToCodePoint } from './codepoints';
import { kernelTimers } from './timers';
import type { MimeBundle } from '../display/bundle';
import { outputBundles, toMimeBundle } from '../display/mime';
import { display, setDisplaySink, updateDisplay, type DisplaySink } from '../display/runtime';
import { splitCell, hasMagic } from '../magics/cell';
import { parseArgs } from '../magics/parser';
import { formatHelp } from '../magics/help';
import { MagicRegistry, type KernelMagicContext } from '../magics/registry';
import type { MagicSpec } from '../magics/types';
import { TinylabError } from '../../src/common/errors';

/** An error already formatted for Jupyter, thrown through magics (runCode) to the cell. */
export class CellError extends Error {
  constructor(readonly content: ErrorContent, readonly interrupted = false) {
    super(content.evalue);
    this.name = content.ename;
  }
}

interface ExecuteRequest {
  code?: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}

interface Running {
  ctx: RequestContext;
  abort: AbortController;
  allowStdin: boolean;
}

type CellResult = { status: 'ok'; value: unknown; hasValue: boolean } | { status: 'error'; error: ErrorContent; interrupted: boolean };

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function typescriptVersion(): string {
  try {
    const p = require.resolve('@tslab/typescript-for-tslab/package.json', { paths: [path.dirname(require.resolve('tslab/package.json'))] });
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return '5';
  }
}

/** One-line errors for people (TinylabError) and formatted tracebacks for everything else. */
export function errorContent(err: unknown): ErrorContent {
  if (err instanceof CellError) return err.content;
  if (isTinylabError(err)) return { ename: err.name, evalue: err.message, traceback: [`${err.name}: ${err.message}`] };
  return formatRuntimeError(err, new Map());
}

export class KernelSession implements RequestHandlers, DisplaySink {
  executionCount = 0;
  readonly history = new History();
  private running: Running | undefined;
  /** Where output goes: the last execute request (also after it finished, for timers that print later). */
  private outputCtx: RequestContext | undefined;
  private displayChain: Promise<void> = Promise.resolve();
  /** Display ids of chart outputs split off table-and-chart bundles (so updates know whether one exists). */
  private readonly chartDisplays = new Set<string>();
  private registryCache: MagicRegistry | undefined;
  private registryError: string | undefined;
  private warmed = false;
  onShutdown: ((restart: boolean) => void) | undefined;

  constructor(
    private readonly server: KernelServer,
    readonly executor: CellExecutor,
    private readonly capture: StreamCapture,
  ) {
    setDisplaySink(this);
  }

  /** The magic registry, loaded on first use (tinyML families may pull in TensorFlow). */
  get registry(): MagicRegistry {
    if (!this.registryCache) {
      let families: Record<string, MagicSpec[]>;
      try {
        families = (require('../magics/families') as { MAGIC_FAMILIES: Record<string, MagicSpec[]> }).MAGIC_FAMILIES;
      } catch (err) {
        this.registryError = `some magic families failed to load: ${(err as Error).message}`;
        this.capture.log(this.registryError);
        families = { builtin: (require('../magics/builtin') as { magics: MagicSpec[] }).magics };
      }
      this.registryCache = new MagicRegistry(families);
      for (const c of this.registryCache.conflicts) this.capture.log(c);
    }
    return this.registryCache;
  }

  // ---- DisplaySink -------------------------------------------------------------------------------------------

  publish(bundle: Promise<MimeBundle>, opts: { displayId: string; update: boolean }): void {
    const ctx = this.outputCtx;
    if (!ctx) return;
    this.capture.gate();
    this.displayChain = this.displayChain
      .then(() => bundle)
      .then(outputBundles)
      .then(([b, chart]) => {
        ctx.publish(opts.update ? 'update_display_data' : 'display_data', { data: b.data, metadata: b.metadata ?? {}, transient: { display_id: opts.displayId } });
        if (!chart) return;
        // A table-and-chart bundle shows as two outputs (mime.ts outputBundles); the chart's own display id lets
        // later updates replace it, and the first update that brings a chart adds its output.
        const chartId = `${opts.displayId}:chart`;
        const update = opts.update && this.chartDisplays.has(chartId);
        this.chartDisplays.add(chartId);
        ctx.publish(update ? 'update_display_data' : 'display_data', { data: chart.data, metadata: chart.metadata ?? {}, transient: { display_id: chartId } });
      })
      .catch((err: unknown) => {
        ctx.publish('stream', { name: 'stderr', text: `display failed: ${(err as Error).message}\n` });
      })
      .finally(() => this.capture.release());
  }

  clearOutput(wait: boolean): void {
    const ctx = this.outputCtx;
    if (!ctx) return;
    this.capture.gate();
    this.displayChain = this.displayChain.then(() => ctx.publish('clear_output', { wait })).finally(() => this.capture.release());
  }

  requestInput(prompt: string, password: boolean): Promise<string> {
    const r = this.running;
    if (!r) return Promise.reject(new TinylabError('input() can only be awaited while a cell runs'));
    if (!r.allowStdin) {
      return Promise.reject(new TinylabError('this front end does not accept input (allow_stdin is false); put the value in the code or a parameter instead'));
    }
    this.capture.flush();
    return this.server.requestInput(r.ctx.msg, prompt, password);
  }

  // ---- Requests ----------------------------------------------------------------------------------------------

  async handle(ctx: RequestContext): Promise<'ok' | 'error' | void> {
    const type = ctx.msg.header.msg_type;
    switch (type) {
      case 'kernel_info_request':
        ctx.reply('kernel_info_reply', this.kernelInfo());
        this.scheduleWarm();
        return;
      case 'execute_request':
        return this.execute(ctx);
      case 'complete_request':
        return void ctx.reply('complete_reply', this.complete(ctx.msg.content as { code?: string; cursor_pos?: number }));
      case 'inspect_request':
        return void ctx.reply('inspect_reply', this.inspect(ctx.msg.content as { code?: string; cursor_pos?: number }));
      case 'is_complete_request':
        return void ctx.reply('is_complete_reply', isComplete(String((ctx.msg.content as { code?: string }).code ?? '')));
      case 'history_request':
        return void ctx.reply('history_reply', { status: 'ok', history: this.history.query(ctx.msg.content as HistoryQuery) });
      case 'comm_info_request':
        return void ctx.reply('comm_info_reply', { status: 'ok', comms: {} });
      case 'comm_open': {
        // No comm targets yet: close it right away, as ipykernel does for an unknown target.
        const c = ctx.msg.content as { comm_id?: string; target_name?: string };
        this.capture.log(`no comm target '${c.target_name ?? ''}'; closing comm ${c.comm_id ?? ''}`);
        ctx.publish('comm_close', { comm_id: c.comm_id ?? '', data: {} });
        return;
      }
      case 'comm_msg':
      case 'comm_close':
        return;
      case 'interrupt_request':
        // Normally answered by the control thread; this path covers a client sending it on shell.
        this.interrupt();
        ctx.reply('interrupt_reply', { status: 'ok' });
        return;
      case 'shutdown_request': {
        const restart = !!(ctx.msg.content as { restart?: boolean }).restart;
        ctx.reply('shutdown_reply', { status: 'ok', restart });
        ctx.publish('shutdown_reply', { status: 'ok', restart });
        this.interrupt();
        kernelTimers.setTimeout(() => this.onShutdown?.(restart), 10);
        return;
      }
      default:
        this.capture.log(`unknown message type '${type}' ignored`);
    }
  }

  interrupt(): void {
    this.running?.abort.abort(new KernelInterrupt());
    this.executor.interrupt();
    this.server.cancelInput(new KernelInterrupt());
  }

  /** Create the TypeScript converter soon after the client connected, not during startup. */
  scheduleWarm(): void {
    if (this.warmed) return;
    this.warmed = true;
    kernelTimers.setTimeout(() => {
      if (!this.executor.isWarm) this.executor.warm();
    }, 5);
  }

  kernelInfo(): object {
    return {
      status: 'ok',
      protocol_version: '5.3',
      implementation: 'tinylab',
      implementation_version: packageVersion(),
      language_info: {
        name: 'typescript',
        version: typescriptVersion(),
        mimetype: 'text/typescript',
        file_extension: '.ts',
        // mode for JupyterLab, name+typescript for the classic notebook's CodeMirror (as tslab found).
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
        pygments_lexer: 'typescript',
      },
      banner: `tinylab ${packageVersion()}: TypeScript for tinyML experiments (tslab engine, TypeScript ${typescriptVersion()}). %lsmagic lists magics.`,
      help_links: [
        { text: 'tinylab magics (%lsmagic)', url: 'https://github.com/tinylab/tinylab#magics' },
        { text: 'TypeScript handbook', url: 'https://www.typescriptlang.org/docs/handbook/' },
      ],
    };
  }

  private async execute(ctx: RequestContext): Promise<'ok' | 'error'> {
    const c = ctx.msg.content as ExecuteRequest;
    const code = String(c.code ?? '');
    const silent = !!c.silent;
    const storeHistory = silent ? false : c.store_history !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    this.outputCtx = ctx;
    this.capture.setParent(ctx.msg.header);
    if (!silent) ctx.publish('execute_input', { code, execution_count: count });
    if (storeHistory) this.history.add(count, code);
    const abort = new AbortController();
    this.running = { ctx, abort, allowStdin: c.allow_stdin !== false };
    let result: CellResult;
    try {
      result = await this.runCell(code, `Cell [${count}]`, abort.signal);
      await this.displayChain;
      if (result.status === 'ok' && result.hasValue && !silent) {
        const [bundle, ...more] = await outputBundles(await toMimeBundle(result.value));
        ctx.publish('execute_result', { execution_count: count, data: bundle.data, metadata: bundle.metadata ?? {} });
        for (const m of more) ctx.publish('display_data', { data: m.data, metadata: m.metadata ?? {}, transient: {} });
        if (storeHistory) this.history.setOutput(count, String(bundle.data['text/plain'] ?? ''));
      }
    } catch (err) {
      result = { status: 'error', error: errorContent(err), interrupted: false };
    } finally {
      this.running = undefined;
    }
    this.capture.flush();
    if (result.status === 'error') {
      if (!silent) ctx.publish('error', result.error);
      if (c.stop_on_error !== false) await this.server.abortQueuedExecutes();
      ctx.reply('execute_reply', { status: 'error', execution_count: count, ...result.error, engine_info: { engine_id: 'tinylab' } });
      return 'error';
    }
    const userExpressions = await this.userExpressions(c.user_expressions ?? {});
    ctx.reply('execute_reply', { status: 'ok', execution_count: count, payload: [], user_expressions: userExpressions });
    return 'ok';
  }

  private async userExpressions(exprs: Record<string, string>): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, expr] of Object.entries(exprs)) {
      const r = await this.executor.run(String(expr), `user_expressions[${name}]`);
      if (r.status === 'ok') {
        const b = await toMimeBundle(r.value);
        out[name] = { status: 'ok', data: b.data, metadata: b.metadata ?? {} };
      } else {
        out[name] = { status: 'error', ...r.error };
      }
    }
    return out;
  }

  private fromRun(r: RunOutcome): CellResult {
    return r;
  }

  /** Run a whole cell: plain TypeScript, or a `%%magic` cell, or TypeScript chunks mixed with `%magic` lines. */
  private async runCell(code: string, label: string, signal: AbortSignal): Promise<CellResult> {
    if (!hasMagic(code)) return this.fromRun(await this.executor.run(code, label, 0));
    const split = splitCell(code);
    if (split.cellMagic) {
      const m = split.cellMagic;
      const bodyLine = code.split('\n').findIndex((l) => l.trim() !== '') + 1;
      return this.runMagic(m.name, m.args, m.help, 'cell', label, signal, m.body, bodyLine);
    }
    let last: CellResult = { status: 'ok', value: undefined, hasValue: false };
    for (const [i, seg] of split.segments.entries()) {
      const isLast = i === split.segments.length - 1;
      if (seg.kind === 'code') last = this.fromRun(await this.executor.run(seg.code, label, seg.line));
      else last = await this.runMagic(seg.name, seg.args, seg.help, 'line', label, signal, undefined, seg.line);
      if (last.status === 'error') return last;
      if (!isLast && seg.kind === 'magic' && last.hasValue) display(last.value);
      if (signal.aborted) return { status: 'error', interrupted: true, error: { ename: 'KeyboardInterrupt', evalue: 'execution interrupted', traceback: ['KeyboardInterrupt: execution interrupted'] } };
    }
    return last;
  }

  private async runMagic(
    name: string,
    argText: string,
    help: boolean,
    kind: 'line' | 'cell',
    label: string,
    signal: AbortSignal,
    body: string | undefined,
    line: number,
  ): Promise<CellResult> {
    try {
      const spec = this.registry.lookup(name, kind === 'cell' && help ? (this.registry.get(name)?.kind === 'line' ? 'line' : 'cell') : kind);
      if (help) {
        this.capture.write('stdout', formatHelp(spec) + '\n');
        return { status: 'ok', value: undefined, hasValue: false };
      }
      let args;
      if (spec.rawArgs) {
        const first = spec.args.find((a) => a.positional);
        args = first ? { [first.name]: argText } : {};
      } else {
        args = parseArgs(spec, argText);
      }
      const ctx = this.magicContext(label, signal, body, line);
      const value = await spec.run(args, ctx);
      return { status: 'ok', value, hasValue: value !== undefined && value !== null };
    } catch (err) {
      const interrupted = err instanceof CellError ? err.interrupted : signal.aborted;
      return { status: 'error', error: errorContent(err), interrupted };
    }
  }

  private magicContext(label: string, signal: AbortSignal, body: string | undefined, line: number): KernelMagicContext {
    const ex = this.executor;
    const bodyOffset = body !== undefined ? line : 0;
    return {
      body,
      signal,
      display: (value, opts) => display(value, opts),
      updateDisplay: (id, value) => updateDisplay(id, value),
      print: (text) => this.capture.write('stdout', text),
      getVariable: (n) => ex.getVariable(n),
      setVariable: (n, v) => ex.setVariable(n, v),
      cwd: process.cwd(),
      runCode: async (code) => {
        const r = await ex.run(code, label, bodyOffset);
        if (r.status === 'error') throw new CellError(r.error, r.interrupted);
        return r.value;
      },
      listVariables: () => ex.userVariables(),
      resetSession: () => ex.reset(),
      registry: this.registry,
    };
  }

  // ---- Completion and inspection -----------------------------------------------------------------------------

  /** The code with magic lines blanked (same length, so offsets hold) for the TypeScript tools. */
  private tsView(code: string): string {
    if (!hasMagic(code)) return code;
    return code
      .split('\n')
      .map((l) => (/^\s*%/.test(l) ? ' '.repeat(l.length) : l))
      .join('\n');
  }

  complete(content: { code?: string; cursor_pos?: number }): object {
    const code = String(content.code ?? '');
    const cursor = codePointToUtf16(code, content.cursor_pos ?? code.length);
    const lineStart = code.lastIndexOf('\n', cursor - 1) + 1;
    const before = code.slice(lineStart, cursor);
    const magic = /^\s*(%%?)([\w.-]*)$/.exec(before);
    if (magic) {
      const prefix = magic[1];
      const names = this.registry.names(prefix === '%%' ? 'cell' : 'line').filter((n) => n.startsWith(magic[2]));
      const start = cursor - magic[2].length - prefix.length;
      return { status: 'ok', matches: names.map((n) => prefix + n), cursor_start: utf16ToCodePoint(code, start), cursor_end: utf16ToCodePoint(code, cursor), metadata: {} };
    }
    const r = this.executor.complete(this.tsView(code), cursor);
    return { status: 'ok', matches: r.matches, cursor_start: utf16ToCodePoint(code, r.start), cursor_end: utf16ToCodePoint(code, r.end), metadata: {} };
  }

  inspect(content: { code?: string; cursor_pos?: number }): object {
    const code = String(content.code ?? '');
    const cursor = codePointToUtf16(code, content.cursor_pos ?? code.length);
    const lineStart = code.lastIndexOf('\n', Math.max(0, cursor - 1)) + 1;
    const lineEnd = code.indexOf('\n', cursor);
    const line = code.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
    const m = /^\s*%%?([\w.-]+)/.exec(line);
    if (m) {
      const spec = this.registry.get(m[1]);
      if (spec) return { status: 'ok', found: true, data: { 'text/plain': formatHelp(spec) }, metadata: {} };
    }
    // Jupyter front ends often put the cursor just after the name (shift-tab): look one character back too.
    let text = this.executor.inspect(this.tsView(code), cursor);
    if (!text && cursor > 0) text = this.executor.inspect(this.tsView(code), cursor - 1);
    if (!text) return { status: 'ok', found: false, data: {}, metadata: {} };
    return { status: 'ok', found: true, data: { 'text/plain': text, 'text/markdown': '```typescript\n' + text + '\n```' }, metadata: {} };
  }

  /** For tests: the parent header streams currently go to. */
  get outputParent(): Partial<MessageHeader> | undefined {
    return this.outputCtx?.msg.header;
  }
}

// ---- is_complete ---------------------------------------------------------------------------------------------

interface ParseDiag {
  start?: number;
  length?: number;
  messageText: unknown;
}

/** complete / incomplete (with indent) / invalid for a cell; magic lines and %% cells count as complete lines. */
export function isComplete(code: string): { status: 'complete' | 'incomplete' | 'invalid'; indent?: string } {
  if (/^\s*%%/.test(code)) return { status: 'complete' };
  const ts = code
    .split('\n')
    .map((l) => (/^\s*%/.test(l) ? '' : l))
    .join('\n');
  // Loaded on demand: the TypeScript parser costs ~300 ms to load and is only needed here and in the converter.
  const converter = require('tslab/dist/converter') as typeof import('tslab/dist/converter');
  const r = converter.isCompleteCode(ts);
  if (!r.completed) return { status: 'incomplete', indent: r.indent ?? '' };
  const tsc = require('@tslab/typescript-for-tslab') as typeof import('@tslab/typescript-for-tslab');
  const sf = tsc.createSourceFile('cell.ts', ts, tsc.ScriptTarget.Latest, false, tsc.ScriptKind.TS);
  const diags = (sf as unknown as { parseDiagnostics?: ParseDiag[] }).parseDiagnostics ?? [];
  if (diags.length > 0 && !/(^|\n)\s*\n\s*$/.test(code)) return { status: 'invalid' };
  if (diags.length > 0) return { status: 'invalid' };
  return { status: 'complete' };
}
