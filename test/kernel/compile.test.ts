/**
 * New cells cost one TypeScript program (kernel/execute/singleProgramWatch.ts) and are still fully type-checked.
 *
 * In process: the wrapped tslab converter against the stock one on the same cells (same JavaScript, declarations and
 * diagnostics), and the number of programs it builds. Over ZeroMQ against the real kernel: type errors in new cells
 * stop them before they run, declarations keep their types, a failing cell repeated verbatim still fails, and what
 * the in-emit CommonJS transform produces (enums, namespaces, classes, imports, local .ts modules) runs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadTslabConverter } from '../../kernel/execute/tslabConverter';
import { preloadDeclarations, preloadModules } from '../../kernel/execute/preload';
import { preloadBundle, type PreloadBundle } from '../../kernel/execute/preloadBundle';
import { Driver, kernelInTempDir, assertBuilt, errorOf, resultText, streamText, type Collected } from './harness';

jest.setTimeout(240_000);

type Converter = ReturnType<typeof import('tslab/dist/converter').createConverter>;

/**
 * Convert the cells one after another with stock tslab and with ours (each keeping its own declarations), and require
 * the same JavaScript, declarations (after `normalize`), diagnostics, last-expression name and top-level-await flag.
 */
function expectSameAsStock(
  stock: Converter,
  ours: Converter,
  control: ReturnType<typeof loadTslabConverter>['control'],
  cells: string[],
  prevOurs: string,
  opts: { reuseChecker?: boolean; normalize?: (decl: string | undefined) => string | undefined } = {},
): void {
  const normalize = opts.normalize ?? ((d: string | undefined) => d);
  let prevStock = preloadDeclarations(preloadModules());
  for (const cell of cells) {
    const s = stock.convert(prevStock, cell);
    control.probeNextRebuild();
    control.reuseChecker = opts.reuseChecker ?? false;
    const o = ours.convert(prevOurs, cell);
    control.reuseChecker = false;
    expect({ cell, output: o.output, decl: normalize(o.declOutput), diagnostics: o.diagnostics, last: o.lastExpressionVar, tla: !!o.hasToplevelAwait }).toEqual({
      cell,
      output: s.output,
      decl: s.declOutput,
      diagnostics: s.diagnostics,
      last: s.lastExpressionVar,
      tla: !!s.hasToplevelAwait,
    });
    if (s.diagnostics.length === 0 && s.declOutput !== undefined) prevStock = s.declOutput;
    if (o.diagnostics.length === 0 && o.declOutput !== undefined) prevOurs = o.declOutput;
  }
}

/** Cells both converters must treat alike: declarations, redeclarations, errors, imports, top-level await. */
const STOCK_CELLS = [
  '1+1',
  'const a = 1; let b = "x"; a',
  'function f(x: number) { return x * a; }\nf(2)',
  'class C { constructor(public n: number) {} get twice() { return this.n * 2; } }\nnew C(3).twice',
  'interface P { x: number }\ntype Q = P & { y: string };\nconst q: Q = { x: 1, y: "s" }; q',
  'const { x, ...rest } = { x: 1, y: 2, z: 3 }; rest',
  'let c: number = "oops"',
  'import * as path from "path"; path.sep',
  'import { join } from "path"; join("a", "b")',
  'const m = await import("os"); m.platform()',
  'a = 5; a',
  'b += "y"; b',
  'const arr = [1, 2, 3].map((v) => v * a); arr',
  'const o = { a: a, b: b }; o',
  'async function af() { return 1 }\nawait af()',
  'q.x + C.name',
  'undefinedName + 1',
  'const a = "redeclared"; a',
  'type T = number; const tt: T = 1',
  'const t2: T = "no"',
  'mulberry32(1)()',
];

describe('the wrapped tslab converter (in process)', () => {
  let stock: Converter;
  let ours: Converter;
  let control: ReturnType<typeof loadTslabConverter>['control'];

  beforeAll(() => {
    assertBuilt(); // the preload declarations are dist/*.d.ts
    stock = (require('tslab/dist/converter') as typeof import('tslab/dist/converter')).createConverter({ isJS: false, isBrowser: false });
    const loaded = loadTslabConverter();
    control = loaded.control;
    ours = loaded.converter.createConverter({ isJS: false, isBrowser: false });
  });

  afterAll(() => {
    stock?.close();
    ours?.close();
  });

  // Enums and namespaces are left out on purpose: with the CommonJS transform inside the emit, `exports.E = E` comes
  // after the enum's initialiser instead of before it (same value once the cell ran); the kernel tests below run them.
  test('same output, declarations and diagnostics as stock tslab, cell after cell', () => {
    const cells = STOCK_CELLS;
    const before = { ...control.stats };
    expectSameAsStock(stock, ours, control, cells, preloadDeclarations(preloadModules()));
    // One program per cell; the cells declaring names had their first (names-only) pass answered by the probe.
    expect(control.stats.programs - before.programs).toBe(cells.length);
    expect(control.stats.probes - before.probes).toBeGreaterThanOrEqual(10);
    expect(control.stats.files).toBeGreaterThan(600);
  });

  test('the probe only answers the names pass: a declaring cell with a type error is still rejected', () => {
    const prev = preloadDeclarations(preloadModules());
    control.probeNextRebuild();
    const bad = ours.convert(prev, 'const good = 1;\nconst wrong: string = good;\nconsole.log("ran")');
    expect(bad.diagnostics.map((d) => d.code)).toEqual([2322]);
    expect(bad.output).toBeUndefined();
    // Same cell again: TypeScript keeps the previous program (nothing changed) after the probe answered the names
    // pass, and tslab must get that real program back, not keep the probe. Still rejected.
    const before = { ...control.stats };
    control.probeNextRebuild();
    expect(ours.convert(prev, 'const good = 1;\nconst wrong: string = good;\nconsole.log("ran")').diagnostics.map((d) => d.code)).toEqual([2322]);
    expect(control.stats).toEqual({ ...before, probes: before.probes + 1 });
    // Completion after a probe sees a real program.
    expect(ours.complete(prev, 'mulberr', 7).candidates).toContain('mulberry32');
  });

  test('only @types/node is included automatically: a kernel started inside a repository does not see its jest globals', () => {
    // Jest runs with cwd = the repository, whose node_modules/@types holds jest's typings (and ~20 others).
    expect(fs.existsSync(path.join(process.cwd(), 'node_modules', '@types', 'jest'))).toBe(true);
    const prev = preloadDeclarations(preloadModules());
    const cell = "describe('x', () => undefined)";
    expect(stock.convert(prev, cell).diagnostics).toEqual([]);
    control.probeNextRebuild();
    const jestless = ours.convert(prev, cell).diagnostics;
    expect(jestless.map((d) => d.code)).toEqual([2593]); // "Cannot find name 'describe'. Do you need … test runner?"
    expect(jestless[0].messageText).toMatch(/Cannot find name 'describe'/);
    // Node's globals and modules are still typed.
    control.probeNextRebuild();
    const node = ours.convert(prev, "import { join } from 'path';\nconst here: string = join(process.cwd(), 'x'); Buffer.from(here).length");
    expect(node.diagnostics).toEqual([]);
  });
});

describe('the wrapped converter with the declaration bundle (in process)', () => {
  let stock: Converter;
  let ours: Converter;
  let control: ReturnType<typeof loadTslabConverter>['control'];
  let bundle: PreloadBundle;

  beforeAll(() => {
    assertBuilt();
    const b = preloadBundle();
    if (!b) throw new Error('no declaration bundle (npm run build makes it)');
    bundle = b;
    stock = (require('tslab/dist/converter') as typeof import('tslab/dist/converter')).createConverter({ isJS: false, isBrowser: false });
    const loaded = loadTslabConverter(bundle);
    control = loaded.control;
    ours = loaded.converter.createConverter({ isJS: false, isBrowser: false });
  });

  afterAll(() => {
    stock?.close();
    ours?.close();
  });

  // The bundle names our modules `tinylab/dist/…`; stock tslab imports them by absolute path.
  const normalize = (decl: string | undefined): string | undefined => {
    let out = decl;
    for (const [abs, name] of Object.entries(bundle.entries)) out = out?.split(JSON.stringify(name)).join(JSON.stringify(abs.split(path.sep).join('/')));
    return out;
  };

  test('same output, diagnostics and declarations as stock tslab against the files, with ~5x fewer files per program', () => {
    const cells = [
      '1+1',
      'const a = 1; a',
      "import * as tf from '@tensorflow/tfjs';\nconst t = tf.tensor([1, -2, 3]).abs().square();\nconst n: number = t.size; n",
      'const wrong: string = t.size',
      'const rng = mulberry32(7); const r: number = rng(); r',
      'const g: LayerGraph | undefined = undefined;\nconst shape: number[] = t.shape; shape',
      "const bundled = table([{ a: 1 }]); bundled['text/plain'] !== undefined",
      'tf.tensor([1]).noSuchMethod()',
      'import { join } from "path"; join("a", "b")',
    ];
    expectSameAsStock(stock, ours, control, cells, preloadDeclarations(preloadModules(), bundle.entries), { normalize });
    // The errors above are real ones (not bundle artefacts): a wrong type and an unknown tfjs method.
    // Against the files a program holds every TensorFlow.js and tinylab declaration file (the test above: > 600);
    // with the bundle, lib, @types/node and the bundle.
    expect(control.stats.files).toBeLessThan(300);
  });

  test('reusing the previous checker (no new program per cell) gives the same results as stock tslab', () => {
    const cells = [
      ...STOCK_CELLS,
      "import * as tf from '@tensorflow/tfjs';\nconst t = tf.tensor([1, -2, 3]).abs(); t.size",
      'const wrong: string = t.size',
      '// @ts-ignore\nconst ignored: string = 3; ignored',
      'const g: LayerGraph | undefined = undefined; g',
      'declare global { interface Window { z: number } }\nexport {}',
      'a.length',
    ];
    const loaded = loadTslabConverter(bundle);
    const reusing = loaded.converter.createConverter({ isJS: false, isBrowser: false });
    try {
      expectSameAsStock(stock, reusing, loaded.control, cells, preloadDeclarations(preloadModules(), bundle.entries), { normalize, reuseChecker: true });
      // Most cells were checked by the first program's checker; the global augmentation needed a real program.
      expect(loaded.control.stats.swaps).toBeGreaterThanOrEqual(cells.length - 3);
      expect(loaded.control.stats.programs).toBeLessThanOrEqual(3);
    } finally {
      reusing.close();
    }
  });

  test("a cell's failed local import is retried once the file exists; an unchanged cell keeps its program", () => {
    // Under the converter's rootDir (the working directory), as a notebook's own modules are.
    fs.mkdirSync(path.join(process.cwd(), 'test-artifacts'), { recursive: true });
    const dir = fs.mkdtempSync(path.join(process.cwd(), 'test-artifacts', 'late-import-'));
    const prev = preloadDeclarations(preloadModules(), bundle.entries);
    const cell = `import { seven } from ${JSON.stringify(path.join(dir, 'late'))};\nseven + 1`;
    control.probeNextRebuild();
    expect(ours.convert(prev, cell).diagnostics.map((d) => d.code)).toEqual([2307]);
    fs.writeFileSync(path.join(dir, 'late.ts'), 'export const seven = 7;\n');
    control.probeNextRebuild();
    expect(ours.convert(prev, cell).diagnostics).toEqual([]);
    const before = { ...control.stats };
    control.probeNextRebuild();
    expect(ours.complete(prev, 'mulberr', 7).candidates).toContain('mulberry32');
    expect(ours.complete(prev, 'mulberr', 7).candidates).toContain('mulberry32');
    // Completing the same text twice builds at most one program (the first); the second reuses it.
    expect(control.stats.programs - before.programs).toBeLessThanOrEqual(1);
  });
});

describe('new cells through the real kernel', () => {
  const kernel = kernelInTempDir();
  let d: Driver;
  let nbDir: string;
  beforeAll(() => {
    d = kernel.driver;
    nbDir = kernel.nbDir;
  });

  const ok = (c: Collected): Collected => {
    if (c.reply?.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(c.reply)} ${JSON.stringify(errorOf(c))}`);
    return c;
  };

  test('a type error in a new declaring cell stops it before it runs; nothing it declares survives', async () => {
    const c = await d.execute('console.log("side effect")\nconst limit = 3;\nconst label: string = limit;');
    expect(c.reply!.status).toBe('error');
    expect(errorOf(c)!.ename).toBe('TSError');
    expect(errorOf(c)!.evalue).toMatch(/line 3, column 7: Type 'number' is not assignable to type 'string'/);
    expect(streamText(c)).toBe('');
    const after = await d.execute('limit');
    expect(errorOf(after)!.evalue).toMatch(/Cannot find name 'limit'/);
  });

  test('declarations persist with their types, across many new cells', async () => {
    ok(await d.execute('const width: number = 8;\nfunction area(h: number): number { return width * h }'));
    for (let i = 0; i < 5; i++) ok(await d.execute(`const v${i} = area(${i}); // cell ${i}`));
    expect(resultText(ok(await d.execute('v1 + v2 + v3 + v4')))).toBe(String(8 * (1 + 2 + 3 + 4)));
    const wrong = await d.execute('const t: string = area(2)');
    expect(errorOf(wrong)!.evalue).toMatch(/Type 'number' is not assignable to type 'string'/);
    const arity = await d.execute('area("2")');
    expect(errorOf(arity)!.evalue).toMatch(/Argument of type 'string' is not assignable to parameter of type 'number'/);
  });

  test('the same failing cell twice fails twice; the next cell runs', async () => {
    const cell = "import { nope } from './missing_module_zz';\nconst z = 1;";
    for (let i = 0; i < 2; i++) expect(errorOf(await d.execute(cell))!.evalue).toMatch(/Cannot find module '.\/missing_module_zz'/);
    expect(resultText(ok(await d.execute('const zz = 41; zz + 1')))).toBe('42');
  });

  test('enums, namespaces, classes, imports and local .ts modules run (CommonJS emitted with the cell)', async () => {
    ok(await d.execute('enum Size { S = 1, M = 2, L = 4 }\nnamespace Units { export const kb = 1024 }\nclass Counter { n = 0; inc() { return ++this.n } }'));
    expect(resultText(ok(await d.execute('const ctr = new Counter(); ctr.inc(); ctr.inc() * Size.L * Units.kb')))).toBe(String(2 * 4 * 1024));
    expect(resultText(ok(await d.execute('import * as path from "path";\nconst joined = path.join("a", "b"); joined')))).toBe("'a/b'");
    fs.writeFileSync(path.join(nbDir, 'helper.ts'), 'export function triple(x: number): number { return 3 * x }\n');
    expect(resultText(ok(await d.execute("import { triple } from './helper';\nconst t9 = triple(3); t9")))).toBe('9');
    expect(errorOf(await d.execute("import { triple as tr } from './helper';\ntr('x')"))!.evalue).toMatch(/not assignable to parameter of type 'number'/);
  });
});
