/**
 * Kernelspec discovery following Jupyter's rules (jupyter_core.paths.jupyter_path + jupyter_client.kernelspec):
 * JUPYTER_PATH entries first, then the user data dir, then the environment and system prefixes; the first directory
 * holding `kernels/<name>/kernel.json` wins. Names are case-insensitive.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../../src/common/errors';
import { closestMatch } from '../../src/common/suggest';

export interface KernelSpec {
  name: string;
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: 'signal' | 'message';
  env?: Record<string, string>;
  metadata?: Record<string, unknown>;
  /** Directory of kernel.json ({resource_dir} in argv); undefined for the built-in tinylab fallback. */
  resourceDir?: string;
}

/** The data directories Jupyter searches, highest priority first. */
export function jupyterDataDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.JUPYTER_PATH) dirs.push(...env.JUPYTER_PATH.split(path.delimiter).filter(Boolean));
  if (env.JUPYTER_DATA_DIR) dirs.push(env.JUPYTER_DATA_DIR);
  else if (process.platform === 'darwin') dirs.push(path.join(os.homedir(), 'Library', 'Jupyter'));
  else dirs.push(path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'jupyter'));
  // sys.prefix of the Python that would run `jupyter`: a virtualenv when active, else the system prefixes below.
  if (env.VIRTUAL_ENV) dirs.push(path.join(env.VIRTUAL_ENV, 'share', 'jupyter'));
  if (env.CONDA_PREFIX) dirs.push(path.join(env.CONDA_PREFIX, 'share', 'jupyter'));
  dirs.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return [...new Set(dirs.map((d) => path.resolve(d)))];
}

function readSpec(dir: string, name: string): KernelSpec | undefined {
  const file = path.join(dir, 'kernel.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!Array.isArray(raw.argv) || raw.argv.length === 0) return undefined;
  return {
    name,
    argv: raw.argv.map(String),
    display_name: String(raw.display_name ?? name),
    language: String(raw.language ?? ''),
    interrupt_mode: raw.interrupt_mode === 'message' ? 'message' : 'signal',
    env: (raw.env as Record<string, string> | undefined) ?? undefined,
    metadata: (raw.metadata as Record<string, unknown> | undefined) ?? undefined,
    resourceDir: dir,
  };
}

/** Every installed kernelspec by (lower-case) name; earlier data dirs shadow later ones. */
export function listKernelSpecs(env: NodeJS.ProcessEnv = process.env): Map<string, KernelSpec> {
  const specs = new Map<string, KernelSpec>();
  for (const base of jupyterDataDirs(env)) {
    const kdir = path.join(base, 'kernels');
    let names: string[];
    try {
      names = fs.readdirSync(kdir);
    } catch {
      continue;
    }
    for (const n of names) {
      const key = n.toLowerCase();
      if (specs.has(key)) continue;
      const spec = readSpec(path.join(kdir, n), key);
      if (spec) specs.set(key, spec);
    }
  }
  return specs;
}

/** The directory holding this package's package.json (works from the TypeScript sources and from dist/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'tinylab') return dir;
      } catch {
        /* not ours; keep walking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the tinylab package root above ' + __dirname);
    dir = up;
  }
}

/** This package's own kernel, launched directly (so a fresh clone runs notebooks without `tinylab install`). */
export function builtinTinylabSpec(): KernelSpec {
  const main = path.join(packageRoot(), 'dist', 'kernel', 'main.js');
  return {
    name: 'tinylab',
    argv: [process.execPath, main, '{connection_file}'],
    display_name: 'TypeScript (tinylab)',
    language: 'typescript',
    // tslab interrupts blocking code from a SIGINT handler; a control message cannot reach a busy event loop.
    interrupt_mode: 'signal',
    metadata: { builtin: true },
  };
}

/** Resolve a kernel name; unknown names are an InputError that lists what is installed. */
export function findKernelSpec(name: string, env: NodeJS.ProcessEnv = process.env): KernelSpec {
  const specs = listKernelSpecs(env);
  const spec = specs.get(name.toLowerCase());
  if (spec) return spec;
  if (name.toLowerCase() === 'tinylab') {
    const b = builtinTinylabSpec();
    if (!fs.existsSync(b.argv[1])) {
      throw new InputError(`the tinylab kernel is not built (${b.argv[1]} is missing); run \`npm run build\` first`);
    }
    return b;
  }
  const names = [...specs.keys(), 'tinylab'];
  const near = closestMatch(name, names);
  throw new InputError(
    `no Jupyter kernel named '${name}'${near ? `; did you mean '${near}'?` : ''} (installed: ${names.join(', ')}). ` +
      'Install one with `tinylab install` or `jupyter kernelspec install`, or pass --kernel with one of these names.',
  );
}
