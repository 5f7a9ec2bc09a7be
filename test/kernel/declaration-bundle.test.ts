/**
 * The declaration bundle (kernel/execute/declarationBundle.ts) on a small package written here: the same cells get the
 * same diagnostics against the bundle as against the files themselves (TypeScript itself is the independent check),
 * including what bundling has to get right — module augmentations, module-local names, re-exports, `export =`, bare
 * package names and relative `import("…")` types — and a cached bundle is rebuilt when a file it holds changes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as TS from '@tslab/typescript-for-tslab';
import { buildDeclarationBundle, bundleCompilerOptions, readCachedBundle, writeBundle } from '../../kernel/execute/declarationBundle';
import { tslabTypeScript } from '../../kernel/execute/tslabConverter';

const ts = tslabTypeScript();

/** A package `fixture` (in its own node_modules) and a local library `lib/` that re-exports from it. */
function writeFixture(root: string): string[] {
  const files: Record<string, string> = {
    'node_modules/fixture/package.json': JSON.stringify({ name: 'fixture', types: 'dist/index.d.ts' }),
    'node_modules/fixture/dist/index.d.ts': "export * from './box';\nimport './chained/twice';\nexport { Helper as PublicHelper } from './helper';\n",
    'node_modules/fixture/dist/box.d.ts':
      "import { Kind } from './kinds';\ndeclare const secret: number;\nexport declare class Box<K extends Kind = 'small'> {\n  private v;\n  kind: K;\n  value(): typeof secret;\n}\nexport declare function make(): Box;\n",
    'node_modules/fixture/dist/kinds.d.ts': "export type Kind = 'small' | 'large';\n",
    // With an export statement only what is marked `export` is exported: Hidden is module-local.
    'node_modules/fixture/dist/helper.d.ts': 'declare class Hidden {\n  h: number;\n}\nexport declare class Helper {\n  help(): Hidden;\n}\nexport {};\n',
    'node_modules/fixture/dist/chained/twice.d.ts':
      "import { Kind } from '../kinds';\nimport { Box } from '../box';\ndeclare module '../box' {\n  interface Box<K extends Kind = 'small'> {\n    twice(this: Box<K>): Box<K>;\n  }\n}\n",
    'node_modules/legacy/package.json': JSON.stringify({ name: 'legacy', types: 'index.d.ts' }),
    'node_modules/legacy/index.d.ts': 'declare namespace Legacy {\n  interface Options { level: number }\n}\ndeclare function Legacy(o: Legacy.Options): string;\nexport = Legacy;\n',
    'lib/index.d.ts':
      "import { Box } from 'fixture';\nimport Legacy = require('legacy');\nexport declare function wrap(b: Box): import('./shapes').Shape;\nexport declare const legacyLevel: Legacy.Options;\nexport * from './shapes';\n",
    'lib/shapes.d.ts': "export interface Shape {\n  box: import('fixture').Box<'large'>;\n  area: number;\n}\n",
  };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return [path.join(root, 'lib', 'index.d.ts')];
}

const CELLS = [
  // fine
  "import { make, PublicHelper } from 'fixture';\nconst b = make().twice();\nconst k: 'small' = b.kind;\nconst h: number = new PublicHelper().help().h;",
  "import { wrap, legacyLevel } from 'LIB';\nimport { make } from 'fixture';\nconst s = wrap(make());\nconst big: 'large' = s.box.twice().kind;\nconst n: number = legacyLevel.level + s.area;",
  // errors: a wrong type through an augmentation, a private member, a module-local class, a wrong generic
  "import { make } from 'fixture';\nconst k: 'large' = make().twice().kind;",
  "import { make } from 'fixture';\nmake().v;",
  "import { Hidden } from 'fixture/dist/helper';",
  "import { wrap } from 'LIB';\nimport { make } from 'fixture';\nconst small: 'small' = wrap(make()).box.kind;",
];

/** Diagnostics (code and message) of a cell, type-checked against the files or against the bundle. */
function check(root: string, cell: string, bundle?: { file: string; names: Set<string>; lib: string }): string[] {
  const options: TS.CompilerOptions = { ...bundleCompilerOptions(ts), types: [], noEmit: true, skipLibCheck: true };
  const cellFile = path.join(root, 'cell.ts');
  const text = cell.replace(/'LIB'/g, JSON.stringify(bundle ? bundle.lib : './lib/index'));
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === cellFile ? ts.createSourceFile(name, text, lang) : read(name, lang, ...rest));
  if (bundle) {
    host.resolveModuleNames = (names, containing) =>
      names.map((n) => (bundle.names.has(n) ? undefined : ts.resolveModuleName(n, containing, options, host).resolvedModule));
  }
  const program = ts.createProgram({ rootNames: bundle ? [bundle.file, cellFile] : [cellFile], options, host });
  if (bundle) expect(program.getSourceFiles().some((f) => f.fileName.includes('/node_modules/fixture/'))).toBe(false);
  return ts
    .getPreEmitDiagnostics(program, program.getSourceFile(cellFile))
    .map((d) => `${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

describe('declaration bundle', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-dbundle-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('cells type-check the same against the bundle as against the files', () => {
    const entries = writeFixture(root);
    const b = buildDeclarationBundle(ts, entries, root, 'mypkg');
    const bundleFile = path.join(root, 'bundle.d.ts');
    fs.writeFileSync(bundleFile, b.text);
    expect(b.entries).toEqual({ [path.join(root, 'lib', 'index')]: 'mypkg/lib/index' });
    // Bare names win where a file is imported by one; the augmentation's module is named like the module it augments.
    expect(b.moduleNames).toEqual(expect.arrayContaining(['fixture', 'legacy', 'mypkg/lib/index', 'mypkg/lib/shapes', 'fixture/dist/box']));
    expect(b.text).toMatch(/declare module "fixture\/dist\/box" \{\nimport \{ Kind \} from "fixture\/dist\/kinds";\n/);

    const bundle = { file: bundleFile, names: new Set(b.moduleNames), lib: 'mypkg/lib/index' };
    const results = CELLS.map((cell) => ({ cell, files: check(root, cell), bundle: check(root, cell, bundle) }));
    for (const r of results) expect(r.bundle).toEqual(r.files);
    // The fixture is a real test: the first two cells are clean, the other four each have an error.
    expect(results.map((r) => r.files.length > 0)).toEqual([false, false, true, true, true, true]);
  });

  test('a cached bundle is used until a file it holds is newer', () => {
    const entries = writeFixture(root);
    const file = path.join(root, 'cache', 'b.d.ts');
    writeBundle(file, buildDeclarationBundle(ts, entries, root, 'mypkg'));
    expect(readCachedBundle(file)?.moduleNames).toContain('fixture');
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(root, 'node_modules', 'fixture', 'dist', 'kinds.d.ts'), later, later);
    expect(readCachedBundle(file)).toBeUndefined();
    fs.rmSync(`${file}.json`);
    expect(readCachedBundle(file)).toBeUndefined();
  });
});
