/**
 * A new cell checked by the previous program's type checker, without a new program.
 *
 * Why: with the declaration bundle a new program is cheap to build, but each one needs a fresh checker, which merges
 * every global declaration again and re-resolves, lazily, every library type a cell touches (Array's methods, the
 * tfjs Tensor class…). For a cell that only uses names the previous program already knows, all of that is the same
 * work as last time. So the cell and __prev__ are parsed and bound on their own and handed to the last real
 * program's checker ("the anchor"), which keeps its caches from cell to cell.
 *
 * When it applies (else a real program is built, as before):
 * - every module the cell and __prev__ import is an ambient module (the bundle's, @types/node's): a checker resolves
 *   those by name, while a file import needs the program's module resolution;
 * - the cell has no global or module augmentations and no triple-slash references (merged only when a checker starts);
 * - the cell is a module, or a script without top-level declarations (a script's declarations are globals).
 *
 * The swapped files get names of their own (`__tslab__.s7.ts`): the checker collects diagnostics by file name and the
 * program caches them by path, so a fixed name would return the previous cell's. What tslab sees keeps the fixed
 * names: diagnostics point at an alias of the file named like the real one, and emitted files are renamed back.
 */
import type * as TS from '@tslab/typescript-for-tslab';
import type { LightBuilder } from './lightBuilder';

interface TsInternals {
  bindSourceFile(file: TS.SourceFile, options: TS.CompilerOptions): void;
  getSetExternalModuleIndicator(options: TS.CompilerOptions): (file: TS.SourceFile) => void;
}

type Emit = (program: TS.Program) => TS.Program['emit'];

export interface SwapInput {
  anchor: TS.Program;
  /** Ambient module names the anchor's checker knows (bundle and @types/node). */
  ambient: ReadonlySet<string>;
  srcFilename: string;
  declFilename: string;
  cellText: string;
  declText: string;
  /** A number unique to this swap, for the files' own names. */
  serial: number;
  /** How the program's emit is called (the caller adds its transformers). */
  emitWith: Emit;
  /**
   * __prev__ as parsed and bound last time, if any: when its text is unchanged (a cell that declares nothing new)
   * it is reused, and with it what the checker already resolved of it. Starts as the anchor's own.
   */
  declCache: { text: string; file: TS.SourceFile };
}

/** The anchor's ambient module names (without quotes). */
export function ambientModuleNames(checker: TS.TypeChecker): Set<string> {
  return new Set(checker.getAmbientModules().map((s) => s.name.replace(/^"(.*)"$/, '$1')));
}

/** Module specifiers a file uses (imports, re-exports, `import()` calls and types, `require`), and whether it augments. */
function moduleUse(ts: typeof TS, file: TS.SourceFile): { specifiers: string[]; augments: boolean } {
  const specifiers: string[] = [];
  let augments = file.referencedFiles.length > 0 || file.typeReferenceDirectives.length > 0 || file.libReferenceDirectives.length > 0;
  const visit = (node: TS.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteralLike(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      specifiers.push(ts.isStringLiteralLike(e) ? e.text : '\u0000non-literal');
    } else if (ts.isImportTypeNode(node)) {
      const a = node.argument;
      specifiers.push(ts.isLiteralTypeNode(a) && ts.isStringLiteralLike(a.literal) ? a.literal.text : '\u0000non-literal');
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      const a = node.arguments[0];
      specifiers.push(a && ts.isStringLiteralLike(a) ? a.text : '\u0000non-literal');
    } else if (ts.isModuleDeclaration(node) && (ts.isStringLiteral(node.name) || (node.flags & ts.NodeFlags.GlobalAugmentation) !== 0)) {
      augments = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { specifiers, augments };
}

/** The swap for this cell, or undefined when it does not apply (see the top of the file). */
export function swapBuilder(ts: typeof TS, input: SwapInput): LightBuilder | undefined {
  const internals = ts as unknown as TsInternals;
  const { anchor, srcFilename, declFilename, serial } = input;
  const options = anchor.getCompilerOptions();
  const own = (name: string): string => name.replace(/(\.d)?\.ts$/, (ext) => `.s${serial}${ext}`);
  const make = (name: string, text: string): TS.SourceFile => {
    const fileName = own(name);
    const file = ts.createSourceFile(fileName, text, {
      languageVersion: options.target ?? ts.ScriptTarget.ES2022,
      setExternalModuleIndicator: internals.getSetExternalModuleIndicator(options),
    });
    // What a program sets on the files it holds.
    Object.assign(file, { path: fileName, resolvedPath: fileName, originalFileName: fileName });
    return file;
  };
  const cell = make(srcFilename, input.cellText);
  const declReused = input.declCache.text === input.declText;
  const decl = declReused ? input.declCache.file : make(declFilename, input.declText);
  for (const file of declReused ? [cell] : [cell, decl]) {
    const use = moduleUse(ts, file);
    if (use.augments || use.specifiers.some((s) => !input.ambient.has(s))) return undefined;
  }
  internals.bindSourceFile(cell, options);
  if (!declReused) {
    internals.bindSourceFile(decl, options);
    input.declCache.text = input.declText;
    input.declCache.file = decl;
  }
  const cellLocals = (cell as TS.SourceFile & { locals?: Map<string, unknown> }).locals;
  if (!ts.isExternalModule(cell) && cellLocals && cellLocals.size > 0) return undefined;

  // tslab compares diagnostics' file names with its own.
  const aliasOf = new Map<TS.SourceFile, TS.SourceFile>([[cell, Object.create(cell, { fileName: { value: srcFilename } }) as TS.SourceFile]]);
  if (decl.fileName !== declFilename) aliasOf.set(decl, Object.create(decl, { fileName: { value: declFilename } }) as TS.SourceFile);
  const named = new Map<string, TS.SourceFile>([
    [srcFilename, cell],
    [declFilename, decl],
    [cell.fileName, cell],
    [decl.fileName, decl],
  ]);
  const aliased = (ds: readonly TS.Diagnostic[]): readonly TS.Diagnostic[] =>
    ds.map((d) => {
      const alias = d.file && aliasOf.get(d.file);
      return alias ? { ...d, file: alias } : d;
    });
  const unswap = (fileName: string): string => fileName.replace(`.s${serial}.`, '.');

  const program = Object.create(anchor) as TS.Program;
  const files = anchor.getSourceFiles().map((f) => (f.fileName === srcFilename ? cell : f.fileName === declFilename ? decl : f));
  Object.assign(program, {
    getSourceFile: (name: string) => named.get(name) ?? anchor.getSourceFile(name),
    getSourceFiles: () => files,
    getSyntacticDiagnostics: (f?: TS.SourceFile, ct?: TS.CancellationToken) => aliased(anchor.getSyntacticDiagnostics(f, ct)),
    getSemanticDiagnostics: (f?: TS.SourceFile, ct?: TS.CancellationToken) => aliased(anchor.getSemanticDiagnostics(f, ct)),
    getDeclarationDiagnostics: (f?: TS.SourceFile, ct?: TS.CancellationToken) => aliased(anchor.getDeclarationDiagnostics(f, ct)),
  });
  const emitAnchor = input.emitWith(anchor);
  const emit: TS.Program['emit'] = (target, writeFile, ct, dtsOnly, transformers) =>
    emitAnchor(target, (fileName, ...rest) => writeFile?.(unswap(fileName), ...rest), ct, dtsOnly, transformers);
  program.emit = emit;

  return {
    getProgram: () => program,
    getProgramOrUndefined: () => program,
    releaseProgram: () => undefined,
    getCompilerOptions: () => options,
    getSourceFile: (name) => named.get(name) ?? anchor.getSourceFile(name),
    getSourceFiles: () => files,
    getConfigFileParsingDiagnostics: () => anchor.getConfigFileParsingDiagnostics(),
    getCurrentDirectory: () => anchor.getCurrentDirectory(),
    // No file imports (checked above): the cell depends on nothing tslab would compile beside it.
    getAllDependencies: (f) => [f === cell ? srcFilename : f.fileName],
    emit,
    close: () => undefined,
  };
}
