/**
 * A private instance of tslab's converter module, compiled with our TypeScript wrapper (singleProgramWatch.ts) in place
 * of the `@tslab/typescript-for-tslab` it requires. tslab copies the TypeScript namespace when its module loads, so the
 * wrapper has to be what its `require` returns; loading our own copy (rather than patching the module cache) also works
 * when something else, like is_complete_request handling, already loaded the stock converter.
 */
import * as fs from 'fs';
import Module from 'module';
import * as path from 'path';
import type * as TS from '@tslab/typescript-for-tslab';
import { createTsForTslab, type BundleRoot, type WatchControl } from './singleProgramWatch';

type ConverterModule = typeof import('tslab/dist/converter');

const TS_MODULE = '@tslab/typescript-for-tslab';

/** The TypeScript instance tslab's converter loads (resolved from tslab's own directory). */
export function tslabTypeScript(): typeof TS {
  return require(require.resolve(TS_MODULE, { paths: [path.dirname(require.resolve('tslab/dist/converter'))] })) as typeof TS;
}

export function loadTslabConverter(bundle?: BundleRoot): { converter: ConverterModule; control: WatchControl } {
  const filename = require.resolve('tslab/dist/converter');
  const { ts, control } = createTsForTslab(tslabTypeScript(), bundle);
  const mod = new Module(filename, module);
  mod.filename = filename;
  // Module._nodeModulePaths / _compile are internal but stable (the executor compiles side outputs the same way).
  const internal = Module as unknown as { _nodeModulePaths(dir: string): string[] };
  mod.paths = internal._nodeModulePaths(path.dirname(filename));
  const baseRequire = mod.require.bind(mod);
  mod.require = ((id: string) => (id === TS_MODULE ? ts : baseRequire(id))) as NodeJS.Require;
  (mod as unknown as { _compile(code: string, file: string): void })._compile(fs.readFileSync(filename, 'utf8'), filename);
  return { converter: mod.exports as ConverterModule, control };
}
