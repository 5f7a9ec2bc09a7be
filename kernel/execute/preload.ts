/**
 * Preloading: the names every cell sees without an import. The type checker learns them from one `import {…}` line
 * per module in the initial declarations (absolute paths into dist/, so any notebook directory works); at run time
 * each name is a lazy getter, so TensorFlow and the library load on first use, not at kernel start.
 */
import * as fs from 'fs';
import * as path from 'path';
import { distRoot } from './paths';

export interface PreloadModule {
  /** Absolute path without extension (both `<p>.js` and `<p>.d.ts` exist after the build). */
  path: string;
  names: string[];
}

const DECL_RE =
  /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(function\*?|class|const|let|var|enum|interface|type|namespace)\s+([A-Za-z_$][\w$]*)/gm;
const STAR_RE = /^export\s+\*\s+from\s+['"]([^'"]+)['"]/gm;
const NAMED_RE = /^export\s+(?:type\s+)?\{([^}]*)\}(?:\s+from\s+['"][^'"]+['"])?/gm;

/** Exported names of a compiled .d.ts, following `export * from` (without evaluating any JavaScript). */
export function exportedNames(dtsPathNoExt: string, seen = new Set<string>()): string[] {
  const file = `${dtsPathNoExt}.d.ts`;
  const idx = path.join(dtsPathNoExt, 'index');
  const target = fs.existsSync(file) ? file : fs.existsSync(`${idx}.d.ts`) ? `${idx}.d.ts` : undefined;
  if (!target || seen.has(target)) return [];
  seen.add(target);
  const text = fs.readFileSync(target, 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(DECL_RE)) names.add(m[2]);
  for (const m of text.matchAll(NAMED_RE)) {
    for (const part of m[1].split(',')) {
      const spec = part.trim().replace(/^type\s+/, '');
      if (!spec) continue;
      const alias = spec.split(/\s+as\s+/).pop()!.trim();
      if (alias !== 'default') names.add(alias);
    }
  }
  for (const m of text.matchAll(STAR_RE)) {
    for (const n of exportedNames(path.resolve(path.dirname(target), m[1]), seen)) names.add(n);
  }
  return [...names];
}

/**
 * The preloaded modules: kernel display helpers first (they win a name clash), then the tinylab library.
 * Names starting with `_` are internal and skipped.
 */
export function preloadModules(): PreloadModule[] {
  const dist = distRoot();
  const display = path.join(dist, 'kernel', 'display', 'preload');
  const library = path.join(dist, 'src', 'index');
  const taken = new Set<string>();
  const out: PreloadModule[] = [];
  for (const p of [display, library]) {
    const names = exportedNames(p).filter((n) => !n.startsWith('_') && !taken.has(n));
    names.forEach((n) => taken.add(n));
    if (names.length) out.push({ path: p, names });
  }
  return out;
}

/**
 * The initial declarations (tslab's `prevDecl`) that make preloaded names known to completion and the checker.
 * `moduleNames` maps a module's path to the name the declaration bundle gives it (preloadBundle.ts); without one the
 * import is by absolute path.
 */
export function preloadDeclarations(mods: readonly PreloadModule[], moduleNames: Record<string, string> = {}): string {
  return mods.map((m) => `import { ${m.names.join(', ')} } from ${JSON.stringify(moduleNames[m.path] ?? m.path.split(path.sep).join('/'))};\n`).join('');
}
