/**
 * The "builder program" tslab's converter gets from its watch host, reduced to what the converter uses.
 *
 * TypeScript's default (EmitAndSemanticDiagnosticsBuilderProgram) rebuilds, for every new program, a map of which
 * file references which, for all ~850 files (lib, @types, the tinylab API and the ~600 TensorFlow declaration files),
 * asking a fresh type checker to resolve every import of every file. Profiled, that was ~60% of a new cell's cost. The
 * converter only needs the transitive dependencies of the cell (to find local .ts modules to check and emit), so this
 * builder computes them on demand by walking the module resolutions the program already holds, from the cell only.
 */
import type * as TS from '@tslab/typescript-for-tslab';

/** Module resolutions TypeScript 5.0 keeps on each SourceFile (internal, stable across 5.x). */
interface ResolutionCache<T> {
  forEach(cb: (value: T) => void): void;
}
interface SourceFileInternals {
  resolvedModules?: ResolutionCache<{ resolvedModule?: { resolvedFileName: string } }>;
  resolvedTypeReferenceDirectiveNames?: ResolutionCache<{ resolvedTypeReferenceDirective?: { resolvedFileName?: string } }>;
}

/** The part of TypeScript's BuilderProgram that the watch program and tslab's converter call. */
export interface LightBuilder {
  getProgram(): TS.Program;
  getProgramOrUndefined(): TS.Program | undefined;
  releaseProgram(): void;
  getCompilerOptions(): TS.CompilerOptions;
  getSourceFile(fileName: string): TS.SourceFile | undefined;
  getSourceFiles(): readonly TS.SourceFile[];
  getConfigFileParsingDiagnostics(): readonly TS.Diagnostic[];
  getCurrentDirectory(): string;
  /** File names of `sourceFile` and everything it references, transitively. */
  getAllDependencies(sourceFile: TS.SourceFile): readonly string[];
  emit: TS.Program['emit'];
  close(): void;
}

/** Files a source file references directly: resolved imports and augmentations, `/// <reference>`s, type directives. */
export function directReferences(program: TS.Program, file: TS.SourceFile): string[] {
  const out: string[] = [];
  const internals = file as TS.SourceFile & SourceFileInternals;
  internals.resolvedModules?.forEach((r) => {
    if (r?.resolvedModule) out.push(r.resolvedModule.resolvedFileName);
  });
  internals.resolvedTypeReferenceDirectiveNames?.forEach((r) => {
    if (r?.resolvedTypeReferenceDirective?.resolvedFileName) out.push(r.resolvedTypeReferenceDirective.resolvedFileName);
  });
  for (const ref of file.referencedFiles) {
    const target = program.getSourceFile(resolveRelative(file.fileName, ref.fileName));
    if (target) out.push(target.fileName);
  }
  return out;
}

function resolveRelative(from: string, ref: string): string {
  if (ref.startsWith('/')) return ref;
  const dir = from.slice(0, from.lastIndexOf('/') + 1);
  const parts: string[] = [];
  for (const p of (dir + ref).split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '.') parts.push(p);
  }
  return parts.join('/');
}

/** Wrap a program as a builder; `emit` may be replaced by the caller (see singleProgramWatch). */
export function createLightBuilder(program: TS.Program, configFileParsingDiagnostics: readonly TS.Diagnostic[]): LightBuilder {
  let current: TS.Program | undefined = program;
  const get = (): TS.Program => {
    if (!current) throw new Error('tinylab: the TypeScript program was released');
    return current;
  };
  return {
    getProgram: get,
    getProgramOrUndefined: () => current,
    releaseProgram: () => {
      current = undefined;
    },
    getCompilerOptions: () => get().getCompilerOptions(),
    getSourceFile: (fileName) => get().getSourceFile(fileName),
    getSourceFiles: () => get().getSourceFiles(),
    getConfigFileParsingDiagnostics: () => configFileParsingDiagnostics,
    getCurrentDirectory: () => get().getCurrentDirectory(),
    getAllDependencies(sourceFile) {
      const p = get();
      const seen = new Set<string>([sourceFile.fileName]);
      const queue = [sourceFile];
      for (let f = queue.pop(); f; f = queue.pop()) {
        for (const name of directReferences(p, f)) {
          const dep = p.getSourceFile(name);
          if (!dep || seen.has(dep.fileName)) continue;
          seen.add(dep.fileName);
          queue.push(dep);
        }
      }
      return [...seen];
    },
    emit: (...args) => get().emit(...args),
    close: () => undefined,
  };
}
