/**
 * `tinylab run NOTEBOOK.ipynb`: execute a notebook headlessly with parameters, write the executed notebook and
 * optionally an HTML report. Exit codes: 0 ok, 1 a cell failed / timed out / the kernel died, 2 bad input, 130 Ctrl-C.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError, TinylabError } from '../../src/common/errors';
import { KernelSpec, findKernelSpec } from '../client/kernelspec';
import { executeNotebook, ExecuteNotebookResult } from './execute';
import { Notebook, firstLine, readNotebook, writeNotebook } from './notebook';
import { Params, parseParamArg, readParamsFile } from './params';
import { RunProgress, progressMode } from './progress';

export const RUN_USAGE = `usage: tinylab run NOTEBOOK.ipynb [options]

Execute a notebook headlessly on a kernel and write the executed notebook (and an HTML report).

options:
  -p, --param NAME=VALUE   set a parameter (repeatable); numbers, true/false, null and JSON lists are typed
  -f, --params-file FILE   parameters from a JSON or YAML object (-p values win)
  -o, --output FILE        executed notebook (default: NOTEBOOK.executed.ipynb beside the input)
      --html FILE          also write a self-contained HTML report
      --timeout SECONDS    interrupt and fail a cell running longer than this
      --allow-errors       record failing cells and keep going (exit status 0; the failures are listed)
      --kernel NAME        Jupyter kernel to run on (default: tinylab)
      --cwd DIR            working directory of the kernel (default: the notebook's directory)
      --startup-timeout S  give up when the kernel has not answered after S seconds (default 60)
  -q, --quiet              print nothing but errors
  -h, --help               this help`;

export interface RunArgs {
  input: string;
  params: Params;
  output: string;
  html?: string;
  timeoutSec?: number;
  allowErrors: boolean;
  kernel: string;
  cwd: string;
  quiet: boolean;
  startupTimeoutSec: number;
}

/** Parse the command line; every mistake is an InputError that says how to write it right. */
export function parseRunArgs(argv: string[]): RunArgs | 'help' {
  const pArgs: string[] = [];
  let file: string | undefined;
  let input: string | undefined;
  let output: string | undefined;
  let html: string | undefined;
  let timeoutSec: number | undefined;
  let allowErrors = false;
  let kernel = 'tinylab';
  let cwd: string | undefined;
  let quiet = false;
  let startupTimeoutSec = 60;
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new InputError(`option ${a} needs a value (see tinylab run --help)`);
      return v;
    };
    switch (a) {
      case '-h':
      case '--help':
        return 'help';
      case '-p':
      case '--param':
      case '--parameter':
        pArgs.push(value());
        break;
      case '-f':
      case '--params-file':
      case '--parameters':
        file = value();
        break;
      case '-o':
      case '--output':
        output = value();
        break;
      case '--html':
        html = value();
        break;
      case '--timeout': {
        const v = value();
        timeoutSec = Number(v);
        if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new InputError(`--timeout takes a positive number of seconds, not '${v}'`);
        break;
      }
      case '--startup-timeout': {
        const v = value();
        startupTimeoutSec = Number(v);
        if (!Number.isFinite(startupTimeoutSec) || startupTimeoutSec <= 0) throw new InputError(`--startup-timeout takes a positive number of seconds, not '${v}'`);
        break;
      }
      case '--allow-errors':
        allowErrors = true;
        break;
      case '--kernel':
        kernel = value();
        break;
      case '--cwd':
        cwd = value();
        break;
      case '-q':
      case '--quiet':
        quiet = true;
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw new InputError(`unknown option '${a}' (see tinylab run --help)`);
        if (input) throw new InputError(`one notebook at a time: got '${input}' and '${a}'`);
        input = a;
    }
  }
  if (!input) throw new InputError('which notebook? usage: tinylab run NOTEBOOK.ipynb [options]');
  const params: Params = file ? readParamsFile(file) : {};
  for (const p of pArgs) {
    const [k, v] = parseParamArg(p);
    params[k] = v;
  }
  const dir = path.dirname(path.resolve(input));
  const base = path.basename(input).replace(/\.ipynb$/i, '');
  const resolvedCwd = path.resolve(cwd ?? dir);
  if (cwd !== undefined && !(fs.existsSync(resolvedCwd) && fs.statSync(resolvedCwd).isDirectory())) {
    throw new InputError(`--cwd ${cwd} is not a directory`);
  }
  return {
    input,
    params,
    output: output ?? path.join(dir, `${base}.executed.ipynb`),
    html,
    timeoutSec,
    allowErrors,
    kernel,
    cwd: resolvedCwd,
    quiet,
    startupTimeoutSec,
  };
}

function failureParagraph(r: ExecuteNotebookResult, a: RunArgs): string {
  const f = r.failure;
  if (!f) return `tinylab run: interrupted (Ctrl-C) before a cell ran; the notebook is in ${a.output}.`;
  const where = `cell index ${f.index}${f.cell.execution_count != null ? ` (In [${f.cell.execution_count}])` : ''}, first line \`${firstLine(f.cell, 80)}\``;
  const what =
    r.status === 'timeout'
      ? `ran longer than --timeout ${a.timeoutSec} s and was interrupted`
      : r.status === 'dead'
        ? `killed the kernel (${f.evalue.split('\n')[0].replace(/^the kernel died while running this cell: /, '').replace(/; its last output:$/, '')})`
        : r.status === 'interrupted'
          ? 'was interrupted (Ctrl-C)'
          : `failed with ${f.ename}: ${f.evalue}`;
  const more = r.erroredCells.length > 1 ? ` ${r.erroredCells.length} cells failed in all (indices ${r.erroredCells.join(', ')}).` : '';
  const wrote = `The executed notebook${r.status === 'ok' || r.status === 'error' && a.allowErrors ? '' : ' (partial)'} is in ${a.output}${a.html ? ` and the report in ${a.html}` : ''}.`;
  const hint =
    r.status === 'error' && !a.allowErrors ? ' Fix the cell, or pass --allow-errors to run past failing cells.' : r.status === 'timeout' ? ' Raise --timeout if the cell needs longer.' : '';
  const tail = r.status === 'dead' && f.evalue.includes('\n') ? `\nThe kernel's last output:\n${f.evalue.slice(f.evalue.indexOf('\n') + 1)}` : '';
  return `tinylab run: ${where} ${what}.${more} ${wrote}${hint}${tail}`;
}

async function writeReport(nb: Notebook, file: string): Promise<void> {
  // Loaded lazily: the report pulls in marked and the vega browser builds, which a plain run does not need.
  const { renderReport } = await import('../report/render');
  const { addStaticCharts } = await import('../report/static-charts');
  await addStaticCharts(nb); // after the notebook was written: the SVG goes into the report only
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, renderReport(nb));
}

export async function run(argv: string[]): Promise<number> {
  let args: RunArgs | 'help';
  let nb: Notebook;
  let spec: KernelSpec;
  try {
    args = parseRunArgs(argv);
    if (args === 'help') {
      process.stdout.write(RUN_USAGE + '\n');
      return 0;
    }
    nb = readNotebook(args.input);
    spec = findKernelSpec(args.kernel);
  } catch (err) {
    if (err instanceof TinylabError) {
      process.stderr.write(`tinylab run: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const a = args;
  const progress = new RunProgress(progressMode(process.stderr, a.quiet));
  const ac = new AbortController();
  let sigints = 0;
  const onSigint = (): void => {
    sigints++;
    if (sigints === 1) {
      if (!a.quiet) process.stderr.write('\ntinylab run: interrupting the running cell (Ctrl-C again to quit at once)…\n');
      ac.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  let result: ExecuteNotebookResult;
  progress.starting(spec.name);
  try {
    result = await executeNotebook(nb, {
      kernel: spec,
      cwd: a.cwd,
      parameters: a.params,
      timeoutSec: a.timeoutSec,
      allowErrors: a.allowErrors,
      signal: ac.signal,
      inputPath: a.input,
      startupTimeoutMs: a.startupTimeoutSec * 1000,
      onCellStart: (e) => progress.cellStart(e),
      onCellEnd: (e) => progress.cellEnd(e),
    });
  } catch (err) {
    progress.finish();
    process.removeListener('SIGINT', onSigint);
    if (err instanceof TinylabError) {
      process.stderr.write(`tinylab run: the kernel '${spec.name}' did not start: ${err.message}\n`);
      return ac.signal.aborted ? 130 : 1;
    }
    throw err;
  }
  progress.finish();
  process.removeListener('SIGINT', onSigint);
  writeNotebook(result.notebook, a.output);
  if (a.html) await writeReport(result.notebook, a.html);
  if (result.status === 'error' && a.allowErrors) {
    // The user asked to run past errors (a notebook demonstrating failures): report them, succeed.
    process.stderr.write(
      `tinylab run: ran past ${result.erroredCells.length} failing cell(s) (indices ${result.erroredCells.join(', ')}; first: ` +
        `${result.failure!.ename}: ${result.failure!.evalue}); wrote ${a.output}${a.html ? ` and ${a.html}` : ''}\n`,
    );
    return 0;
  }
  if (result.status === 'ok') {
    if (!a.quiet) {
      process.stderr.write(
        `tinylab run: ${result.meta.cells.executed} cells in ${result.meta.duration_s.toFixed(1)} s; wrote ${a.output}${a.html ? ` and ${a.html}` : ''}\n`,
      );
    }
    return 0;
  }
  process.stderr.write(failureParagraph(result, a) + '\n');
  return result.status === 'interrupted' ? 130 : 1;
}
