/** Third-party code the report inlines or uses: marked for markdown, the vega + vega-lite browser builds for charts. */
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';

/** A package's directory, found the way `require` searches (some, like vega, do not export their package.json). */
function pkgDir(name: string): string {
  for (const dir of require.resolve.paths(name) ?? []) {
    if (fs.existsSync(path.join(dir, name, 'package.json'))) return path.join(dir, name);
  }
  throw new Error(`cannot find the '${name}' package; run npm ci`);
}

export interface MarkedLike {
  parse(src: string, opts: { async: false; gfm?: boolean }): string;
}

/**
 * Evaluate a UMD bundle as CommonJS. `require` cannot: marked's package says "type": "module", so Node would load the
 * .js file as ESM, where a UMD wrapper finds no `module` and exports nothing.
 */
function loadUmd(file: string): unknown {
  const mod = { exports: {} as Record<string, unknown> };
  const src = fs.readFileSync(file, 'utf8');
  const fn = vm.runInThisContext(`(function (module, exports) {${src}\n})`, { filename: file }) as (m: unknown, e: unknown) => void;
  fn(mod, mod.exports);
  return mod.exports;
}

let markedInstance: MarkedLike | undefined;

/**
 * A Marked instance. marked ships ESM as its entry point; its UMD build loads with plain `require` everywhere
 * (Node, jest), so it is loaded by file path (package "exports" hide the subpath from bare specifiers).
 */
export function getMarked(): MarkedLike {
  if (!markedInstance) {
    const mod = loadUmd(path.join(pkgDir('marked'), 'lib', 'marked.umd.js')) as { Marked: new () => MarkedLike };
    markedInstance = new mod.Marked();
  }
  return markedInstance;
}

let vegaScripts: string | undefined;

/** The vega and vega-lite browser builds, ready to inline in <script> tags (defining window.vega / window.vegaLite). */
export function vegaBrowserScripts(): { vega: string; vegaLite: string; versions: { vega: string; vegaLite: string } } {
  const read = (pkg: string, file: string): string =>
    // `</script` cannot occur inside an inline script; the escaped form means the same inside JS strings and regexes.
    fs.readFileSync(path.join(pkgDir(pkg), 'build', file), 'utf8').replace(/<\/script/gi, '<\\/script');
  const version = (pkg: string): string => (JSON.parse(fs.readFileSync(path.join(pkgDir(pkg), 'package.json'), 'utf8')) as { version: string }).version;
  vegaScripts ??= JSON.stringify({ vega: read('vega', 'vega.min.js'), vegaLite: read('vega-lite', 'vega-lite.min.js') });
  const s = JSON.parse(vegaScripts) as { vega: string; vegaLite: string };
  return { ...s, versions: { vega: version('vega'), vegaLite: version('vega-lite') } };
}
