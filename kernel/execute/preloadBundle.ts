/**
 * The kernel's declaration bundle (declarationBundle.ts) for the preloaded modules: read from a cache beside dist/
 * when no bundled file is newer, else built (2-5 s) and cached. `npm run build` builds it (run this file), so a kernel
 * normally only reads it. TINYLAB_DECLARATION_BUNDLE=0 turns it off (cells then type-check against the files).
 */
import * as crypto from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { buildDeclarationBundle, readCachedBundle, writeBundle, type DeclarationBundle } from './declarationBundle';
import { distRoot, packageRoot } from './paths';
import { preloadModules, type PreloadModule } from './preload';
import type { BundleRoot } from './singleProgramWatch';
import { tslabTypeScript } from './tslabConverter';

export interface PreloadBundle extends BundleRoot {
  /** Module path (absolute, no extension) → the bundle's name for it, for preloadDeclarations(). */
  entries: Record<string, string>;
}

/** Where the bundle lives: dist/.cache, or the temp directory when dist/ is read-only (a global install). */
function candidates(): string[] {
  const name = 'preload-declarations.d.ts';
  const tag = crypto.createHash('sha1').update(distRoot()).digest('hex').slice(0, 12);
  return [path.join(distRoot(), '.cache', name), path.join(os.tmpdir(), `tinylab-${tag}`, name)];
}

function matches(b: Pick<DeclarationBundle, 'entries'>, entryFiles: string[]): boolean {
  const want = entryFiles.map((f) => f.replace(/\.d\.ts$/, '')).sort();
  return JSON.stringify(Object.keys(b.entries).sort()) === JSON.stringify(want);
}

/** The bundle for these preloaded modules, or undefined if it is turned off or cannot be built (logged). */
export function preloadBundle(mods: readonly PreloadModule[] = preloadModules()): PreloadBundle | undefined {
  if (process.env.TINYLAB_DECLARATION_BUNDLE === '0') return undefined;
  const entryFiles = mods.map((m) => `${m.path}.d.ts`);
  const files = candidates();
  for (const file of files) {
    const cached = readCachedBundle(file);
    if (cached && matches(cached, entryFiles)) return { file, moduleNames: cached.moduleNames, entries: cached.entries };
  }
  let bundle: DeclarationBundle;
  try {
    bundle = buildDeclarationBundle(tslabTypeScript(), entryFiles, packageRoot());
  } catch (err) {
    process.stderr.write(`tinylab: could not bundle the preloaded declarations (cells check against the files): ${(err as Error).message}\n`);
    return undefined;
  }
  for (const file of files) {
    try {
      writeBundle(file, bundle);
      return { file, moduleNames: bundle.moduleNames, entries: bundle.entries };
    } catch {
      /* try the next place */
    }
  }
  process.stderr.write('tinylab: could not write the declaration bundle anywhere; cells check against the files\n');
  return undefined;
}

// `node dist/kernel/execute/preloadBundle.js` (run by `npm run build`): build the bundle now, not at a kernel's start.
if (require.main === module) {
  const t0 = Date.now();
  const b = preloadBundle();
  if (!b) process.exit(1);
  console.log(`declaration bundle: ${Object.keys(b.entries).length} entry modules, ${b.moduleNames.length} modules in ${path.relative(process.cwd(), b.file)} (${Date.now() - t0} ms)`);
}
