/**
 * `tinylab install`: register the "TypeScript (tinylab)" kernelspec. Writes kernel.json directly (no Python needed):
 * argv is this node binary + this package's dist/kernel/main.js + {connection_file}, so the kernel runs the same
 * build wherever notebooks live.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { InputError, TinylabError } from '../../src/common/errors';
import { packageRoot } from '../execute/paths';

export interface InstallOptions {
  /** Install under DIR/share/jupyter/kernels. */
  prefix?: string;
  /** Install under the active Python environment's sys.prefix. */
  sysPrefix?: boolean;
  /** Kernel directory name (default 'tinylab'). */
  name?: string;
  displayName?: string;
  /** 'signal' (default: SIGINT from the client) or 'message' (interrupt_request on control). Both work. */
  interruptMode?: 'signal' | 'message';
}

export interface KernelSpecJson {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: 'signal' | 'message';
  env?: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** Jupyter's per-user data directory, following jupyter_core's rules. */
export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'jupyter');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'jupyter');
}

function pythonSysPrefix(): string {
  const env = process.env.VIRTUAL_ENV ?? process.env.CONDA_PREFIX;
  if (env) return env;
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new TinylabError('--sys-prefix needs a Python environment (none found); use --user or --prefix DIR instead');
}

export function kernelSpec(opts: InstallOptions = {}): KernelSpecJson {
  const main = path.join(packageRoot(), 'dist', 'kernel', 'main.js');
  return {
    argv: [process.execPath, main, '{connection_file}'],
    display_name: opts.displayName ?? 'TypeScript (tinylab)',
    language: 'typescript',
    interrupt_mode: opts.interruptMode ?? 'signal',
    metadata: { debugger: false, tinylab: { package: packageRoot() } },
  };
}

/** Write the kernelspec; returns the directory written. */
export function installKernelSpec(opts: InstallOptions = {}): string {
  const name = opts.name ?? 'tinylab';
  if (!/^[a-z0-9._-]+$/i.test(name)) throw new InputError(`kernel name '${name}' may only contain letters, digits, '.', '_' and '-'`);
  const base = opts.prefix
    ? path.join(path.resolve(opts.prefix), 'share', 'jupyter', 'kernels')
    : opts.sysPrefix
      ? path.join(pythonSysPrefix(), 'share', 'jupyter', 'kernels')
      : path.join(userDataDir(), 'kernels');
  const dir = path.join(base, name.toLowerCase());
  const spec = kernelSpec(opts);
  if (!fs.existsSync(spec.argv[1])) throw new TinylabError(`${spec.argv[1]} does not exist; run \`npm run build\` in ${packageRoot()} first`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'logo-svg.svg'), LOGO_SVG);
  return dir;
}

const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" rx="10" fill="#3178c6"/>' +
  '<text x="32" y="42" font-family="sans-serif" font-size="26" font-weight="bold" fill="#fff" text-anchor="middle">TL</text></svg>\n';

const HELP = `usage: tinylab install [--user | --prefix DIR | --sys-prefix] [--name NAME] [--display-name TEXT] [--interrupt-mode signal|message]

Registers the "TypeScript (tinylab)" kernel with Jupyter.
  --user             per-user kernels directory (default)
  --prefix DIR       DIR/share/jupyter/kernels (e.g. a virtualenv, or a temp dir for tests)
  --sys-prefix       the active Python environment's prefix
  --name NAME        kernelspec name (default tinylab)
  --display-name T   name shown in the launcher (default "TypeScript (tinylab)")
  --interrupt-mode M signal (default) or message
`;

export async function run(argv: string[]): Promise<number> {
  const opts: InstallOptions = {};
  const take = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new InputError(`${flag} needs a value`);
    return v;
  };
  try {
    for (let i = 0; i < argv.length; i++) {
      const [flag, inline] = argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
      const value = (): string => inline ?? take(i++, flag);
      switch (flag) {
        case '--help':
        case '-h':
          process.stdout.write(HELP);
          return 0;
        case '--user':
          break;
        case '--prefix':
          opts.prefix = value();
          break;
        case '--sys-prefix':
          opts.sysPrefix = true;
          break;
        case '--name':
          opts.name = value();
          break;
        case '--display-name':
          opts.displayName = value();
          break;
        case '--interrupt-mode': {
          const m = value();
          if (m !== 'signal' && m !== 'message') throw new InputError(`--interrupt-mode is 'signal' or 'message', not '${m}'`);
          opts.interruptMode = m;
          break;
        }
        default: {
          const { closestMatch } = await import('../../src/common/suggest');
          const near = closestMatch(flag, ['--user', '--prefix', '--sys-prefix', '--name', '--display-name', '--interrupt-mode', '--help']);
          throw new InputError(`unknown option ${flag}${near ? `; did you mean ${near}?` : ''}`);
        }
      }
    }
    const dir = installKernelSpec(opts);
    process.stdout.write(`Installed kernelspec ${opts.name ?? 'tinylab'} in ${dir}\n`);
    return 0;
  } catch (err) {
    if (err instanceof TinylabError) {
      process.stderr.write(`tinylab install: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
