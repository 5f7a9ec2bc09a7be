/** Shared by the runner and report tests: spawn the built CLI, temp dirs, nbformat 4.5 schema validation. */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const CLI = path.join(ROOT, 'bin', 'tinylab.js');
export const NBFORMAT_SCHEMA = '/usr/lib/python3/dist-packages/nbformat/v4/nbformat.v4.5.schema.json';

export function requireBuild(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'kernel', 'run', 'cli.js'))) {
    throw new Error('dist/ is missing the runner: run `npm run build` before these tests (npm test does)');
  }
}

export function tmpDir(prefix = 'tinylab-run-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run `tinylab ARGS`; `onStderr` sees stderr as it arrives (to time a Ctrl-C). */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; onStderr?: (all: string, child: ReturnType<typeof spawn>) => void } = {},
): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      opts.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tinylab ${args.join(' ')} hung for ${opts.timeoutMs ?? 60000} ms; stderr so far:\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

let validator: ((nb: unknown) => boolean) & { errors?: unknown } | undefined;

/** Validate against the nbformat 4.5 JSON schema Debian's python3-nbformat ships (draft-04; Ajv reads it as-is). */
export function nbformatErrors(nb: unknown): string | undefined {
  if (!validator) {
    const schema = JSON.parse(fs.readFileSync(NBFORMAT_SCHEMA, 'utf8')) as Record<string, unknown>;
    delete schema.$schema; // draft-04 marker: Ajv 8 would refuse it; the keywords used are the same in draft-07
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    validator = ajv.compile(schema);
  }
  return validator(nb) ? undefined : JSON.stringify(validator.errors, null, 1);
}

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}
