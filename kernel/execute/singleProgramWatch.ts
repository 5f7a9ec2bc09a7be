/**
 * The TypeScript module tslab's converter is given (see tslabConverter.ts): the real @tslab/typescript-for-tslab with
 * its watch host and transpileModule changed in three ways, so that a new cell costs one TypeScript program and one
 * type check instead of two full builds and three checkers. Type checking of the cell itself is unchanged.
 *
 * 1. Programs are wrapped in a LightBuilder (lightBuilder.ts) instead of TypeScript's incremental builder, whose
 *    per-program bookkeeping over every declaration file was most of a new cell's cost.
 * 2. tslab's convert() builds a program for the cell only to read the cell's top-level names (`srcFile.locals`), then
 *    builds a second one for the cell plus `export { those names }`, which it checks and emits. The first program is
 *    replaced by parsing and binding the cell alone: binding is per file, so the names are the same, and nothing from
 *    that first program is type-checked or emitted. The executor asks for this (`probeNextRebuild`) right before
 *    convert(); completion and inspection always get real programs.
 * 3. tslab emits the cell as an ES module and then converts that to CommonJS with ts.transpileModule, which in
 *    TypeScript 5.0 builds and fully type-checks a second program (~25% of a new cell). Here the CommonJS module
 *    transform runs inside the cell's own emit instead (after tslab's transformers, with the checker that already
 *    checked the cell), and transpileModule passes output produced that way through unchanged.
 */
import type * as TS from '@tslab/typescript-for-tslab';
import { ambientModuleNames, swapBuilder, type SwapInput } from './checkerReuse';
import { createLightBuilder, type LightBuilder } from './lightBuilder';

/** Internals of TypeScript 5.0 used here; all are exported by @tslab/typescript-for-tslab's bundle. */
interface TsInternals {
  bindSourceFile(file: TS.SourceFile, options: TS.CompilerOptions): void;
  getSetExternalModuleIndicator(options: TS.CompilerOptions): (file: TS.SourceFile) => void;
  /** The module transformer for CommonJS/AMD/UMD; with module ESNext in the context it takes the CommonJS path. */
  transformModule(context: TS.TransformationContext): TS.Transformer<TS.SourceFile | TS.Bundle>;
}

/** JavaScript this module emitted as CommonJS already; transpileModule returns these unchanged (bounded, newest last). */
const MAX_PRODUCED = 32;
/** Cells checked by one program's checker before a new program is built (bounds what the checker keeps of old cells). */
const MAX_SWAPS = 100;

type Ts = typeof TS;
type WatchHost = TS.WatchCompilerHostOfFilesAndCompilerOptions<TS.BuilderProgram>;
type AfterProgramCreate = (program: TS.BuilderProgram) => void;

export interface WatchControl {
  /** The next program rebuild is the first of a convert(): answer it with the cell parsed and bound on its own. */
  probeNextRebuild(): void;
  /**
   * While true (the executor sets it around convert(), with the declaration bundle), a rebuild may be answered by
   * the previous program's checker instead of a new program (checkerReuse.ts).
   */
  reuseChecker: boolean;
  /** Counters for tests: real programs built, rebuilds answered by the probe or by the previous checker, and the last program's file count. */
  readonly stats: { programs: number; probes: number; swaps: number; files: number };
}

/** The preloaded declarations as one file of ambient modules (declarationBundle.ts). */
export interface BundleRoot {
  /** The bundle's path, added to every program's root files. */
  file: string;
  /** Module names it declares: left unresolved, so the checker takes the ambient module and its files stay out. */
  moduleNames: readonly string[];
}

/** A TypeScript module object for tslab's converter, and the switch the executor flips before each convert(). */
export function createTsForTslab(ts: Ts, bundle?: BundleRoot): { ts: Ts; control: WatchControl } {
  const internals = ts as unknown as TsInternals;
  let probeRequested = false;
  const stats = { programs: 0, probes: 0, swaps: 0, files: 0 };
  const producedCommonJs = new Set<string>();
  const control: WatchControl = {
    probeNextRebuild: () => {
      probeRequested = true;
    },
    reuseChecker: false,
    stats,
  };

  function createWatchCompilerHost(
    rootFiles: string[],
    options: TS.CompilerOptions,
    system: TS.System,
    _createProgram: unknown,
    reportDiagnostic?: TS.DiagnosticReporter,
    reportWatchStatus?: TS.WatchStatusReporter,
  ): WatchHost {
    // tslab's roots are [__prev__.d.ts, __tslab__.ts]; the cell is the one that is not a declaration file.
    const srcFilename = rootFiles.find((f) => !f.endsWith('.d.ts'));
    const declFilename = rootFiles.find((f) => f.endsWith('.d.ts'));
    if (!srcFilename || !declFilename) throw new Error('tinylab: unexpected tslab root files ' + JSON.stringify(rootFiles));

    // tslab drives rebuilds through system.setTimeout (it calls the stored callback itself). Interpose so that a
    // requested probe can answer a rebuild without building a program.
    let pending: unknown;
    const sys: TS.System = Object.create(system) as TS.System;
    sys.setTimeout = (callback: (...args: unknown[]) => void, ms: number, ...args: unknown[]): unknown => {
      const handle = system.setTimeout!(() => {
        pending = undefined;
        rebuild(() => callback(...args));
      }, ms);
      pending = handle;
      return handle;
    };
    sys.clearTimeout = (handle: unknown): void => {
      // After a probe TypeScript still holds its (never run) timer and clears it on the next change; tslab would
      // reject clearing a timer it no longer has.
      if (handle !== undefined && handle === pending) {
        pending = undefined;
        system.clearTimeout!(handle);
      }
    };

    // Only @types/node is included automatically (tslab's type roots always hold it). Without `types`, TypeScript adds
    // every package under each node_modules/@types above the notebook: a kernel started inside a repository with jest,
    // babel… typings checked ~40 more files per cell and saw their globals (`describe`, `expect`). Imported packages
    // still find their own @types through module resolution.
    const cellOptions: TS.CompilerOptions = { ...options, types: options.types ?? ['node'] };
    const roots = bundle ? [...rootFiles, bundle.file] : rootFiles;
    const host = ts.createWatchCompilerHost(roots, cellOptions, sys, undefined, reportDiagnostic, reportWatchStatus);
    if (bundle) {
      const bundled = new Set(bundle.moduleNames);
      // Only the cell and __prev__ change between programs, so this runs for them alone; no cache, so a module file
      // created next to the notebook after a failed import is found next time.
      let cellFailed = false;
      host.resolveModuleNames = (names, containingFile, _reused, redirectedReference, opts) => {
        const out = names.map((name) =>
          bundled.has(name) ? undefined : ts.resolveModuleName(name, containingFile, opts, host, undefined, redirectedReference).resolvedModule,
        );
        if (containingFile === srcFilename) cellFailed = out.some((r, i) => r === undefined && !bundled.has(names[i]));
        return out;
      };
      // With its own resolver the watch program takes every file's resolutions for stale (re-resolving all ~160 files
      // and never keeping a program) unless told which are: only a cell's failed import, whose file may exist now.
      host.hasInvalidatedResolutions = (p) => cellFailed && p === srcFilename;
    }
    let latest: LightBuilder | undefined;
    // The last real program, whose checker later cells may reuse (checkerReuse.ts); renewed every MAX_SWAPS cells so
    // what the checker keeps of old cells stays bounded.
    let anchor: { program: TS.Program; ambient: Set<string> | undefined; swaps: number; declCache: SwapInput['declCache'] | undefined } | undefined;
    let serial = 0;
    host.createProgram = ((rootNames, opts, compilerHost, oldBuilder, configFileParsingDiagnostics, projectReferences) => {
      const old = oldBuilder as unknown as LightBuilder | undefined;
      const program =
        rootNames === undefined && old
          ? old.getProgram()
          : ts.createProgram({
              rootNames: rootNames ?? [],
              options: opts ?? cellOptions,
              host: compilerHost,
              oldProgram: old?.getProgramOrUndefined(),
              configFileParsingDiagnostics,
              projectReferences,
            });
      stats.programs++;
      stats.files = program.getSourceFiles().length;
      // tslab reads the cell's top-level names (`locals`) right away; TypeScript's builder had bound every file by
      // creating a checker, this one binds the cell alone (the checker skips files already bound).
      const cell = program.getSourceFile(srcFilename);
      if (cell) internals.bindSourceFile(cell, program.getCompilerOptions());
      latest = createLightBuilder(program, configFileParsingDiagnostics ?? []);
      latest.emit = emitWith(program);
      const prev = program.getSourceFile(declFilename);
      anchor = { program, ambient: undefined, swaps: 0, declCache: prev && { text: prev.text, file: prev } };
      // The watch program only stores and hands back what this returns; tslab calls the LightBuilder methods.
      return latest as unknown as TS.BuilderProgram;
    }) as WatchHost['createProgram'];

    // tslab sets host.afterProgramCreate to capture each new builder; keep its function so a probe can hand it one.
    let tslabAfter: AfterProgramCreate | undefined;
    let delivered = false;
    let standInShown = false;
    Object.defineProperty(host, 'afterProgramCreate', {
      configurable: true,
      enumerable: true,
      get: () =>
        tslabAfter &&
        ((b: TS.BuilderProgram) => {
          delivered = true;
          tslabAfter!(b);
        }),
      set: (fn: AfterProgramCreate | undefined) => {
        tslabAfter = fn;
      },
    });

    function rebuild(real: () => void): void {
      if (probeRequested && tslabAfter) {
        probeRequested = false;
        const probe = probeCell(system.readFile(srcFilename!) ?? '');
        // Without top-level names tslab uses this very program to check and emit: build it for real.
        if (probe.locals && probe.locals.size > 0) {
          stats.probes++;
          standInShown = true;
          tslabAfter(probeBuilder(probe) as unknown as TS.BuilderProgram);
          return;
        }
      }
      probeRequested = false;
      if (control.reuseChecker && bundle && anchor && anchor.swaps < MAX_SWAPS && tslabAfter) {
        const swapped = trySwap(anchor);
        if (swapped) {
          stats.swaps++;
          anchor.swaps++;
          standInShown = true;
          tslabAfter(swapped as unknown as TS.BuilderProgram);
          return;
        }
      }
      delivered = false;
      real();
      // If the contents equal the last real program's, TypeScript keeps it and does not call afterProgramCreate;
      // after a probe or a swap tslab would be left holding that, so give it the real builder again.
      if (!delivered && standInShown && latest && tslabAfter) tslabAfter(latest as unknown as TS.BuilderProgram);
      standInShown = false;
    }

    function trySwap(a: NonNullable<typeof anchor>): LightBuilder | undefined {
      if (!a.declCache) return undefined;
      if (!a.ambient) {
        a.ambient = ambientModuleNames(a.program.getTypeChecker());
        for (const name of bundle?.moduleNames ?? []) a.ambient.add(name);
      }
      return swapBuilder(ts, {
        anchor: a.program,
        ambient: a.ambient,
        srcFilename: srcFilename!,
        declFilename: declFilename!,
        cellText: system.readFile(srcFilename!) ?? '',
        declText: system.readFile(declFilename!) ?? '',
        serial: ++serial,
        emitWith,
        declCache: a.declCache,
      });
    }

    function probeCell(text: string): TS.SourceFile & { locals?: Map<string, unknown> } {
      const file = ts.createSourceFile(srcFilename!, text, {
        languageVersion: cellOptions.target ?? ts.ScriptTarget.ES2022,
        setExternalModuleIndicator: internals.getSetExternalModuleIndicator(cellOptions),
      });
      internals.bindSourceFile(file, cellOptions);
      return file as TS.SourceFile & { locals?: Map<string, unknown> };
    }

    function probeBuilder(file: TS.SourceFile): Partial<LightBuilder> {
      const unavailable = (): never => {
        throw new Error('tinylab: the cell probe has no program (tslab used it beyond reading the cell names)');
      };
      return {
        getSourceFile: (name) => (name === srcFilename ? file : undefined),
        getProgram: unavailable,
        getAllDependencies: unavailable,
        emit: unavailable,
      };
    }

    return host;
  }

  /** A program's emit with the CommonJS transform inside it (see 3. above), remembering the JavaScript it made. */
  function emitWith(program: TS.Program): TS.Program['emit'] {
    return (targetSourceFile, writeFile, cancellationToken, emitOnlyDtsFiles, customTransformers) => {
      const onWrite: TS.WriteFileCallback = (fileName, text, ...rest) => {
        if (fileName.endsWith('.js')) rememberCommonJs(text);
        writeFile?.(fileName, text, ...rest);
      };
      const after = [...(customTransformers?.after ?? []), (ctx: TS.TransformationContext) => internals.transformModule(ctx)];
      return program.emit(targetSourceFile, onWrite, cancellationToken, emitOnlyDtsFiles, { ...customTransformers, after } as TS.CustomTransformers);
    };
  }

  function rememberCommonJs(text: string): void {
    producedCommonJs.delete(text);
    producedCommonJs.add(text);
    if (producedCommonJs.size > MAX_PRODUCED) producedCommonJs.delete(producedCommonJs.values().next().value as string);
  }

  function transpileModule(input: string, transpileOptions: TS.TranspileOptions): TS.TranspileOutput {
    if (producedCommonJs.delete(input)) return { outputText: input, diagnostics: [] };
    return ts.transpileModule(input, transpileOptions);
  }

  // tslab reads `ts.X` from this object; everything but the watch host and transpileModule is the real module.
  const wrapped = Object.create(ts) as Ts & { __esModule: boolean };
  Object.defineProperty(wrapped, '__esModule', { value: true });
  Object.defineProperty(wrapped, 'createWatchCompilerHost', { value: createWatchCompilerHost });
  Object.defineProperty(wrapped, 'transpileModule', { value: transpileModule });
  return { ts: wrapped, control };
}
