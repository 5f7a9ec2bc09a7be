/**
 * The preloaded library's declarations as one file of ambient modules, so that a new cell's TypeScript program holds
 * ~160 files (TypeScript's lib, @types/node, this bundle, the cell) instead of ~850.
 *
 * Why: every new cell builds a program and a checker, and most of that work is per file, whatever the file holds:
 * reusing the previous program's structure walks every file (paths, versions, resolutions), and a fresh checker
 * merges every file's symbols and resolves every module augmentation (tfjs-core augments `Tensor` from ~150 files).
 * The preloaded API reaches ~600 TensorFlow.js declaration files and ~90 of our own, so they were most of a new cell.
 *
 * How: each module file reachable from the preload entry points, apart from what every program has anyway (lib and
 * @types/node), becomes one `declare module "name" { … }` block of a single script file. A block is named by the bare
 * specifier that resolves to its file (`@tensorflow/tfjs-core`), else by its path below node_modules
 * (`@tensorflow/tfjs-core/dist/tensor`), or below this package for our own files (`tinylab/dist/src/index`); relative
 * specifiers inside are rewritten to those names. A module augmentation (`declare module '../tensor' { interface
 * Tensor … }`) becomes a second block of the augmented module's name, carrying the imports it used: same-named
 * ambient modules merge, which is what the augmentation did. Script files (like @webgpu/types' globals) are copied
 * at top level. The kernel's watch host then leaves bundled names unresolved (the checker finds the ambient module
 * first), so a cell's `import * as tf from '@tensorflow/tfjs'` sees the same declarations as the library, and the
 * ~700 files never enter the program.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as TS from '@tslab/typescript-for-tslab';
import { directReferences } from './lightBuilder';

/** Packages every cell's program has through `types: ['node']`. */
const ALWAYS_PRESENT = /\/node_modules\/(?:@types\/node|undici-types)\//;

type Ts = typeof TS;

/** Internal TypeScript 5.0 helper (exported by the bundle): the resolution a file recorded for one specifier. */
interface TsResolution {
  getResolvedModule(file: TS.SourceFile, name: string, mode: TS.ResolutionMode): TS.ResolvedModuleFull | undefined;
  getModeForUsageLocation(file: TS.SourceFile, usage: TS.StringLiteralLike): TS.ResolutionMode;
}

export interface DeclarationBundle {
  /** The bundle's text: one script .d.ts. */
  text: string;
  /** Every module name the bundle declares; the watch host must not resolve these to files. */
  moduleNames: string[];
  /** For each entry file (absolute path without `.d.ts`), the module name to import it by. */
  entries: Record<string, string>;
  /** The files bundled, for staleness checks. */
  files: string[];
}

/** Compiler options the bundle is resolved with: those tslab's converter uses that affect resolution. */
export function bundleCompilerOptions(ts: Ts): TS.CompilerOptions {
  return {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  };
}

/**
 * Bundle the declaration files reachable from `entryFiles` (absolute `.d.ts` paths). `packageRoot` names our own
 * files (`tinylab/<path below it>`). Files that a program with no roots already holds (lib, @types/node) stay out.
 */
export function buildDeclarationBundle(ts: Ts, entryFiles: string[], packageRoot: string, packageName = 'tinylab'): DeclarationBundle {
  const internals = ts as unknown as TsResolution;
  const options = bundleCompilerOptions(ts);
  const host = ts.createCompilerHost(options);
  const program = ts.createProgram({ rootNames: entryFiles, options, host });
  // Bundle what the entries reach without passing through TypeScript's lib or @types/node (which every cell's program
  // holds anyway, possibly another copy: tslab falls back to its own @types/node when the notebook has none).
  const bundled: TS.SourceFile[] = [];
  const seen = new Set<string>();
  const queue = entryFiles.map((f) => program.getSourceFile(f)).filter((f): f is TS.SourceFile => f !== undefined);
  for (let file = queue.shift(); file; file = queue.shift()) {
    if (seen.has(file.fileName) || program.isSourceFileDefaultLibrary(file) || ALWAYS_PRESENT.test(file.fileName) || !file.isDeclarationFile) continue;
    seen.add(file.fileName);
    bundled.push(file);
    for (const name of directReferences(program, file)) {
      const dep = program.getSourceFile(name);
      if (dep) queue.push(dep);
    }
  }
  const bundledNames = new Set(bundled.map((f) => f.fileName));

  // Name each module file: a bare specifier that resolves to it wins (so `export =` modules and package entry points
  // keep their public names); otherwise its path.
  const names = new Map<string, string>();
  const bare = new Map<string, string>();
  const specifiers = (file: TS.SourceFile): TS.StringLiteralLike[] => moduleSpecifiers(ts, file);
  for (const file of bundled) {
    for (const spec of specifiers(file)) {
      if (isRelative(spec.text)) continue;
      const target = internals.getResolvedModule(file, spec.text, internals.getModeForUsageLocation(file, spec));
      if (!target || !bundledNames.has(target.resolvedFileName)) continue;
      const prev = bare.get(target.resolvedFileName);
      if (!prev || spec.text.length < prev.length) bare.set(target.resolvedFileName, spec.text);
    }
  }
  for (const file of bundled) {
    if (!ts.isExternalModule(file)) continue;
    names.set(file.fileName, bare.get(file.fileName) ?? pathName(file.fileName, packageRoot, packageName));
  }

  const parts: string[] = ['// Generated by tinylab (kernel/execute/declarationBundle.ts): the preloaded declarations as ambient modules.\n'];
  for (const file of bundled) {
    const name = names.get(file.fileName);
    if (name === undefined) {
      // A script: its declarations are global already.
      parts.push(`// ${file.fileName}\n${stripReferences(file.text)}\n`);
      continue;
    }
    const target = (spec: string, node: TS.StringLiteralLike): string | undefined => {
      const resolved = internals.getResolvedModule(file, spec, internals.getModeForUsageLocation(file, node));
      return resolved ? names.get(resolved.resolvedFileName) : undefined;
    };
    parts.push(moduleBlocks(ts, file, name, target));
  }
  const entries: Record<string, string> = {};
  for (const entry of entryFiles) {
    const name = names.get(entry);
    if (name) entries[entry.replace(/\.d\.ts$/, '')] = name;
  }
  return { text: parts.join(''), moduleNames: [...new Set(names.values())].sort(), entries, files: bundled.map((f) => f.fileName) };
}

/** The module's own block and one block per augmentation, with specifiers rewritten to bundle names. */
function moduleBlocks(ts: Ts, file: TS.SourceFile, name: string, target: (spec: string, node: TS.StringLiteralLike) => string | undefined): string {
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const rewrite = (node: TS.StringLiteralLike): void => {
    const to = target(node.text, node);
    if (to !== undefined && to !== node.text) edits.push({ start: node.getStart(file), end: node.getEnd(), text: JSON.stringify(to) });
  };
  const apply = (start: number, end: number): string => {
    let out = '';
    let at = start;
    for (const e of edits.filter((x) => x.start >= start && x.end <= end).sort((a, b) => a.start - b.start)) {
      out += file.text.slice(at, e.start) + e.text;
      at = e.end;
    }
    return out + file.text.slice(at, end);
  };
  for (const spec of moduleSpecifiers(ts, file)) rewrite(spec);

  const augmentations: TS.ModuleDeclaration[] = [];
  const imports: TS.ImportDeclaration[] = [];
  for (const stmt of file.statements) {
    if (ts.isModuleDeclaration(stmt) && ts.isStringLiteral(stmt.name)) augmentations.push(stmt);
    if (ts.isImportDeclaration(stmt)) imports.push(stmt);
  }
  let own = '';
  let at = 0;
  // `export as namespace` (UMD globals) is only valid at the top of a module file; cells do not need it.
  const dropped = [...augmentations, ...file.statements.filter((s) => ts.isNamespaceExportDeclaration(s))].sort((a, b) => a.pos - b.pos);
  for (const stmt of dropped) {
    own += apply(at, stmt.getFullStart());
    at = stmt.getEnd();
  }
  own += apply(at, file.text.length);
  // A block exports what the file did: both follow the same rule (everything, unless there is an export statement).
  let out = `declare module ${JSON.stringify(name)} {\n${stripReferences(own)}\n}\n`;
  for (const aug of augmentations) {
    const augName = target((aug.name as TS.StringLiteral).text, aug.name as TS.StringLiteral) ?? (aug.name as TS.StringLiteral).text;
    const declared = new Set<string>();
    if (aug.body && ts.isModuleBlock(aug.body)) {
      for (const s of aug.body.statements) {
        const n = (s as TS.Statement & { name?: TS.Node }).name;
        if (n && ts.isIdentifier(n)) declared.add(n.text);
      }
    }
    const carried = imports.map((imp) => importWithout(ts, file, imp, declared, apply)).filter((s) => s !== '');
    const body = aug.body ? apply(aug.body.getStart(file) + 1, aug.body.getEnd() - 1) : '';
    out += `declare module ${JSON.stringify(augName)} {\n${carried.join('\n')}\n${body}\n}\n`;
  }
  return out;
}

/** An import declaration's text without the names an augmentation declares itself ('' if nothing is left). */
function importWithout(ts: Ts, file: TS.SourceFile, imp: TS.ImportDeclaration, drop: Set<string>, apply: (s: number, e: number) => string): string {
  const clause = imp.importClause;
  if (!clause) return '';
  const spec = apply(imp.moduleSpecifier.getStart(file), imp.moduleSpecifier.getEnd());
  const typeOnly = clause.isTypeOnly ? 'type ' : '';
  const parts: string[] = [];
  if (clause.name && !drop.has(clause.name.text)) parts.push(clause.name.text);
  const nb = clause.namedBindings;
  if (nb && ts.isNamespaceImport(nb)) {
    if (!drop.has(nb.name.text)) return `import ${typeOnly}* as ${nb.name.text} from ${spec};`;
  } else if (nb) {
    const kept = nb.elements.filter((e) => !drop.has(e.name.text)).map((e) => e.getText(file));
    if (kept.length) parts.push(`{ ${kept.join(', ')} }`);
  }
  return parts.length ? `import ${typeOnly}${parts.join(', ')} from ${spec};` : '';
}

/** Every module specifier in a declaration file: imports, re-exports, `import("…")` types, augmentation names. */
function moduleSpecifiers(ts: Ts, file: TS.SourceFile): TS.StringLiteralLike[] {
  const out: TS.StringLiteralLike[] = [];
  const visit = (node: TS.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal);
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      out.push(node.name);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** Triple-slash references are file-level; inside a block they would be plain comments, but drop them for clarity. */
function stripReferences(text: string): string {
  return text.replace(/^\/\/\/\s*<reference\b[^>]*\/>\s*$/gm, '');
}

function isRelative(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || path.isAbsolute(spec);
}

function pathName(fileName: string, packageRoot: string, packageName: string): string {
  const noExt = fileName.replace(/\.d\.ts$/, '');
  const nm = noExt.lastIndexOf('/node_modules/');
  if (nm >= 0) return noExt.slice(nm + '/node_modules/'.length);
  const rel = path.relative(packageRoot, noExt).split(path.sep).join('/');
  return rel.startsWith('..') ? noExt.replace(/^\/+/, '') : `${packageName}/${rel}`;
}

/** A cached bundle's metadata if every bundled file is older than it; else undefined. */
export function readCachedBundle(file: string): Omit<DeclarationBundle, 'text'> | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as Omit<DeclarationBundle, 'text'>;
    const built = fs.statSync(file).mtimeMs;
    for (const f of meta.files) if (fs.statSync(f).mtimeMs > built) return undefined;
    // The text itself is read by TypeScript from the file; a kernel only needs the metadata.
    return meta;
  } catch {
    return undefined;
  }
}

export function writeBundle(file: string, bundle: DeclarationBundle): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { text, ...meta } = bundle;
  // Each file appears whole (rename), the text before its metadata: the metadata names what the text was built from.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  fs.writeFileSync(tmp, JSON.stringify(meta));
  fs.renameSync(tmp, `${file}.json`);
}
