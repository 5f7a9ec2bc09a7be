/**
 * Runs TypeScript cells. tslab's converter does the work that matters (type-check against everything declared so
 * far, transpile, hoist declarations, capture the last expression); this file is the small runtime around it, adapted
 * from tslab's executor.js so that we get the result *value* (tslab only prints it), interruptible execution,
 * lazily bound preloads and cell-relative error positions. The converter is tslab's, loaded with a TypeScript watch
 * host that builds one program per new cell (tslabConverter.ts, singleProgramWatch.ts).
 */
import Module from 'module';
import { expandShorthandProperties } from './shorthand';
import * as path from 'path';
import * as vm from 'vm';
import type { Converter, ConvertResult } from 'tslab/dist/converter';
import { printQuickInfo } from 'tslab/dist/inspect';
import { formatDiagnostics, formatRuntimeError, type CellRecord, type ErrorContent } from './errors';
import { preloadDeclarations, preloadModules, type PreloadModule } from './preload';
import { packageRoot } from './paths';
import type { WatchControl } from './singleProgramWatch';
import { loadTslabConverter } from './tslabConverter';
import { preloadBundle } from './preloadBundle';
import { TimerTracker } from '../session/timers';

export type RunOutcome =
  | { status: 'ok'; value: unknown; hasValue: boolean }
  | { status: 'error'; error: ErrorContent; interrupted: boolean };

export interface CompletionResult {
  start: number;
  end: number;
  matches: string[];
}

/** Thrown into an awaiting cell by interrupt(). */
export class KernelInterrupt extends Error {
  constructor() {
    super('execution interrupted');
    this.name = 'KeyboardInterrupt';
  }
}

const MAX_CELL_RECORDS = 2000;
const CONVERT_CACHE_SIZE = 64;

interface RuntimeGlobal {
  __tinylab__?: { exports: Record<string, unknown>; require: NodeJS.Require };
}

export class CellExecutor {
  private conv: Converter | undefined;
  private watch: WatchControl | undefined;
  /** The preloaded declarations come from the bundle (preloadBundle.ts), so the previous checker can be reused. */
  private bundled = false;
  private prevDecl: string;
  /** The preload imports; by absolute path until the converter is made, then by the declaration bundle's names. */
  private initialDecl: string;
  private readonly preload: PreloadModule[];
  /** Cell variables (tslab keeps every top-level declaration as a property of this object). */
  private readonly locals: Record<string, unknown> = {};
  private readonly exportsProxy: Record<string, unknown>;
  private readonly cells = new Map<string, CellRecord>();
  private readonly sideOutputs = new Map<string, string>();
  private readonly sideModules = new Map<string, Module>();
  private readonly timers = new TimerTracker();
  private seq = 0;
  /**
   * Re-running a cell with the same declarations in scope gives the same conversion; type-checking dominates a
   * cell's cost (the program includes the library's and TensorFlow's declarations), so repeats skip it.
   */
  private readonly convertCache = new Map<string, ConvertResult>();
  private rejectInterrupt: ((e: Error) => void) | undefined;
  private running = false;

  constructor(private readonly rootDir: string = process.cwd()) {
    this.preload = preloadModules();
    this.initialDecl = preloadDeclarations(this.preload);
    this.prevDecl = this.initialDecl;
    this.installPreloads();
    const locals = this.locals;
    // As in tslab: TypeScript turns named imports into defineProperty; keep them as plain, rewritable values.
    this.exportsProxy = new Proxy(locals, {
      defineProperty: (_t, prop, attrs) => {
        if (prop === '__esModule') return true;
        (locals as Record<string | symbol, unknown>)[prop] = attrs.get ? attrs.get() : attrs.value;
        return true;
      },
    });
    (globalThis as RuntimeGlobal).__tinylab__ = { exports: this.exportsProxy, require: this.makeRequire() };
    this.timers.install();
  }

  /** Create the converter now (a second or so); the kernel calls this right after answering kernel_info. */
  warm(): void {
    // One empty conversion loads the preloaded modules' declarations (tfjs types are large) before the first cell.
    this.converter(); // before reading prevDecl (see convert)
    this.convertNow(this.prevDecl, '');
  }

  get isWarm(): boolean {
    return this.conv !== undefined;
  }

  private converter(): Converter {
    if (!this.conv) {
      // Loaded here, not at the top: loading the TypeScript compiler costs ~0.3-1 s, which kernel startup should not pay.
      // The preloaded declarations as one bundle file (preloadBundle.ts): a new cell's program then has ~160 files,
      // not ~850. Decided once, before any cell is converted, so every declaration refers to the same modules.
      const bundle = preloadBundle(this.preload);
      this.bundled = bundle !== undefined;
      if (bundle) {
        const decl = preloadDeclarations(this.preload, bundle.entries);
        if (this.prevDecl.startsWith(this.initialDecl)) this.prevDecl = decl + this.prevDecl.slice(this.initialDecl.length);
        this.initialDecl = decl;
      }
      const { converter, control } = loadTslabConverter(bundle);
      this.watch = control;
      this.conv = converter.createConverter({ isJS: false, isBrowser: false });
    }
    return this.conv;
  }

  /** tslab's convert(), telling the watch host that its first rebuild only needs the cell's names (see singleProgramWatch). */
  private convertNow(decls: string, src: string): ConvertResult {
    const conv = this.converter();
    this.watch?.probeNextRebuild();
    if (!this.watch) return conv.convert(decls, src);
    // Only conversions reuse the previous checker; completion and inspection build real programs.
    this.watch.reuseChecker = this.bundled && process.env.TINYLAB_REUSE_CHECKER !== '0';
    try {
      return conv.convert(decls, src);
    } finally {
      this.watch.reuseChecker = false;
    }
  }

  /** Lazy getters for preloaded names: the module loads on first read; assigning replaces the binding. */
  private installPreloads(): void {
    for (const mod of this.preload) {
      let loaded: Record<string, unknown> | undefined;
      const load = (): Record<string, unknown> => (loaded ??= require(mod.path) as Record<string, unknown>);
      for (const name of mod.names) {
        const locals = this.locals;
        Object.defineProperty(locals, name, {
          configurable: true,
          enumerable: false,
          get: () => load()[name],
          set: (v: unknown) => {
            Object.defineProperty(locals, name, { value: v, writable: true, enumerable: true, configurable: true });
          },
        });
      }
    }
  }

  private makeRequire(): NodeJS.Require {
    const fromNotebook = Module.createRequire(path.join(this.rootDir, '__tinylab_cell__.js'));
    const fromPackage = Module.createRequire(path.join(packageRoot(), 'package.json'));
    const self = this;
    // Relative imports of .ts files next to the notebook are compiled by the converter ("side outputs").
    const req = function (id: string): unknown {
      const side = self.requireSideOutput(id, self.rootDir);
      if (side !== undefined) return side;
      try {
        return fromNotebook(id);
      } catch (err) {
        // Packages tinylab ships (tfjs, vega…) are importable from a notebook anywhere on disk.
        if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && !id.startsWith('.') && !path.isAbsolute(id)) return fromPackage(id);
        throw err;
      }
    } as NodeJS.Require;
    Object.assign(req, { resolve: fromNotebook.resolve, cache: fromNotebook.cache, main: fromNotebook.main, extensions: fromNotebook.extensions });
    return req;
  }

  private requireSideOutput(id: string, dirname: string): unknown {
    if (!id.startsWith('.') && !path.isAbsolute(id)) return undefined;
    let filename = path.resolve(dirname, id).split(path.sep).join('/');
    if (path.extname(filename) === '') filename += '.js';
    const cached = this.sideModules.get(filename);
    if (cached) return cached.exports;
    const code = this.sideOutputs.get(filename);
    if (code === undefined) return undefined;
    const mod = new Module(filename, module);
    mod.filename = filename;
    // Module._nodeModulePaths / _compile are internal but stable; tslab relies on them the same way.
    const internal = Module as unknown as { _nodeModulePaths(dir: string): string[] };
    mod.paths = internal._nodeModulePaths(path.dirname(filename));
    const baseRequire = mod.require.bind(mod);
    mod.require = ((rid: string) => this.requireSideOutput(rid, path.dirname(filename)) ?? baseRequire(rid)) as NodeJS.Require;
    (mod as unknown as { _compile(code: string, file: string): void })._compile(code, filename);
    this.sideModules.set(filename, mod);
    return mod.exports;
  }

  /**
   * Type-check and run one TypeScript chunk. `label` names the cell in errors; `lineOffset` blank lines are put in
   * front so positions are the cell's (a chunk after line magics starts further down).
   */
  async run(code: string, label: string, lineOffset = 0): Promise<RunOutcome> {
    const src = '\n'.repeat(lineOffset) + code;
    const converted = this.convert(src);
    for (const out of converted.sideOutputs ?? []) {
      this.sideModules.delete(out.path);
      this.sideOutputs.set(out.path, out.data);
    }
    if (converted.diagnostics.length > 0) {
      return { status: 'error', error: formatDiagnostics(converted.diagnostics, src, label), interrupted: false };
    }
    if (!converted.output) {
      this.prevDecl = converted.declOutput ?? this.prevDecl;
      return { status: 'ok', value: undefined, hasValue: false };
    }
    const filename = `tinylab-cell-${++this.seq}.js`;
    const prefix = converted.hasToplevelAwait ? '(async function (exports, require) { ' : '(function (exports, require) { ';
    const js = `${prefix}${converted.output}\n})(globalThis.__tinylab__.exports, globalThis.__tinylab__.require)`;
    this.remember(filename, { label, ts: src, js });

    let interruptPromise: Promise<never> | undefined;
    this.running = true;
    this.timers.tracking = true;
    try {
      let ret: unknown;
      try {
        // breakOnSigint: SIGINT (from the user or from our control thread) stops a busy synchronous loop.
        ret = new vm.Script(js, { filename }).runInThisContext({ breakOnSigint: true });
      } catch (err) {
        return this.failure(err, converted.declOutput);
      }
      if (converted.hasToplevelAwait) {
        interruptPromise = new Promise<never>((_, reject) => (this.rejectInterrupt = reject));
        interruptPromise.catch(() => undefined);
        try {
          await Promise.race([ret as Promise<unknown>, interruptPromise]);
        } catch (err) {
          return this.failure(err, converted.declOutput);
        }
      }
    } finally {
      this.running = false;
      this.rejectInterrupt = undefined;
      this.timers.tracking = false;
    }
    this.timers.forget();
    this.prevDecl = converted.declOutput ?? this.prevDecl;
    const key = converted.lastExpressionVar;
    if (key && Object.prototype.hasOwnProperty.call(this.locals, key)) {
      const value = this.locals[key];
      delete this.locals[key];
      return { status: 'ok', value, hasValue: value !== undefined };
    }
    return { status: 'ok', value: undefined, hasValue: false };
  }

  private convert(src: string): ConvertResult {
    this.converter(); // first, as it may switch the preload imports to the bundle
    // Imports can read files that change on disk: never cache those cells.
    const cacheable = !/\bimport\b|\brequire\s*\(/.test(src);
    const key = `${this.prevDecl}\u0000${src}`;
    const hit = cacheable ? this.convertCache.get(key) : undefined;
    if (hit) {
      this.convertCache.delete(key);
      this.convertCache.set(key, hit);
      return hit;
    }
    const converted = this.convertNow(this.prevDecl, expandShorthandProperties(src));
    if (cacheable && !converted.sideOutputs?.length) {
      this.convertCache.set(key, converted);
      if (this.convertCache.size > CONVERT_CACHE_SIZE) this.convertCache.delete(this.convertCache.keys().next().value as string);
    }
    return converted;
  }

  private failure(err: unknown, declOutput: string | undefined): RunOutcome {
    // Declarations made before the throw stay usable in later cells, as in IPython.
    if (declOutput) this.prevDecl = declOutput;
    const interrupted = err instanceof KernelInterrupt || (err instanceof Error && /Script execution (?:was )?interrupted/.test(err.message));
    if (interrupted) {
      this.timers.cancelAll();
      return { status: 'error', interrupted, error: { ename: 'KeyboardInterrupt', evalue: 'execution interrupted', traceback: ['KeyboardInterrupt: execution interrupted'] } };
    }
    this.timers.forget();
    return { status: 'error', interrupted, error: formatRuntimeError(err, this.cells) };
  }

  private remember(filename: string, rec: CellRecord): void {
    this.cells.set(filename, rec);
    if (this.cells.size > MAX_CELL_RECORDS) this.cells.delete(this.cells.keys().next().value as string);
  }

  /** Stop an awaiting cell (its pending timers are cancelled too). Synchronous loops stop by SIGINT (breakOnSigint). */
  interrupt(): void {
    if (!this.running) return;
    this.timers.cancelAll();
    this.rejectInterrupt?.(new KernelInterrupt());
  }

  complete(code: string, cursor: number): CompletionResult {
    const info = this.converter().complete(this.prevDecl, code, cursor);
    return { start: info.start, end: info.end, matches: info.candidates };
  }

  /** Type and documentation of the symbol at the cursor, or undefined. */
  inspect(code: string, cursor: number): string | undefined {
    const info = this.converter().inspect(this.prevDecl, code, cursor);
    if (!info) return undefined;
    return printQuickInfo(info);
  }

  getVariable(name: string): unknown {
    return this.locals[name];
  }

  hasVariable(name: string): boolean {
    return name in this.locals;
  }

  /**
   * Define or replace a session variable from kernel code (magics). If the type checker does not know the name yet,
   * it is declared (`number`/`string`/`boolean` when obvious, else `any`) so later cells can use it.
   */
  setVariable(name: string, value: unknown): void {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`'${name}' is not a valid variable name`);
    this.locals[name] = value;
    if (!this.isDeclared(name)) {
      const t = typeof value;
      const type = t === 'number' || t === 'string' || t === 'boolean' ? t : 'any';
      this.prevDecl += `declare let ${name}: ${type};\n`;
    }
  }

  private isDeclared(name: string): boolean {
    if (!this.conv) return new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`).test(this.prevDecl);
    // An unknown identifier still gets quick info, with an empty kind.
    const info = this.conv.inspect(this.prevDecl, name, 0);
    return info !== undefined && info.kind !== '';
  }

  /** Names the user defined (not the preloads). */
  userVariables(): string[] {
    return Object.keys(this.locals).filter((k) => !k.startsWith('tsLastExpr'));
  }

  /** Forget every user definition; preloads come back. */
  reset(): void {
    this.convertCache.clear();
    for (const k of Object.getOwnPropertyNames(this.locals)) delete this.locals[k];
    this.prevDecl = this.initialDecl;
    this.installPreloads();
  }

  close(): void {
    this.conv?.close();
    this.conv = undefined;
  }

  /** For tests and %who: the declarations the checker currently knows. */
  get declarations(): string {
    return this.prevDecl;
  }
}
