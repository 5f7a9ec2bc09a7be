/** Absolute paths to this package, so preloading does not depend on where the notebook (the kernel's cwd) lives. */
import * as fs from 'fs';
import * as path from 'path';

let root: string | undefined;

/** The tinylab package root: the nearest ancestor of this file with a package.json named "tinylab". */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'tinylab') return (root = dir);
      } catch {
        /* keep looking */
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the tinylab package root above ${__dirname}`);
  }
}

/** The compiled output directory (dist/) where the preloaded modules and their .d.ts live. */
export function distRoot(): string {
  return path.join(packageRoot(), 'dist');
}
