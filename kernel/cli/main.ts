/**
 * `tinylab <command>`: one entry point for every command-line tool.
 *
 * Each command lives in its own module (exporting `run(argv): Promise<number>`), loaded lazily so that
 * `tinylab kernel` does not pay for TensorFlow and `tinylab boards` does not pay for ZeroMQ.
 */
import * as path from 'path';
import { closestMatch } from '../../src/common/suggest';

interface CommandEntry {
  /** Module path relative to the compiled `dist/` root, without extension. */
  module: string;
  /** Exported function name; defaults to `run`. */
  fn?: string;
  summary: string;
}

export const COMMANDS: Record<string, CommandEntry> = {
  install: { module: 'kernel/spec/install', summary: 'register the "TypeScript (tinylab)" kernelspec with Jupyter' },
  kernel: { module: 'kernel/main', summary: 'start the kernel on a connection file (Jupyter calls this)' },
  run: { module: 'kernel/run/cli', summary: 'execute a notebook headlessly with parameters; write the executed notebook and a report' },
  report: { module: 'kernel/report/cli', summary: 'render an executed notebook as a self-contained HTML report' },
  mcu: { module: 'src/mcu/cli', fn: 'runMcu', summary: 'price a model (model.json or .onnx) on a microcontroller: flash, RAM, latency per layer' },
  boards: { module: 'src/mcu/cli', fn: 'runBoards', summary: 'list the microcontroller boards the cost simulator knows' },
  quantize: { module: 'src/quantize/cli', summary: 'int8-quantize a model with calibration and export QDQ ONNX' },
  export: { module: 'src/export/cli', summary: 'export a model to ONNX (float, QDQ int8), tfjs, the quantized-graph JSON or C99 source (--c DIR)' },
  magics: { module: 'kernel/magics/reference', summary: 'print the reference of every preloaded magic (Markdown)' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ['usage: tinylab <command> [options]', '', 'commands:', ...lines, '', 'Run `tinylab <command> --help` for its options.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    process.stdout.write(String(require(path.join(__dirname, '..', '..', '..', 'package.json')).version) + '\n');
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const near = closestMatch(name, Object.keys(COMMANDS));
    process.stderr.write(`tinylab: unknown command '${name}'${near ? `; did you mean '${near}'?` : ''}\n${usage()}\n`);
    return 2;
  }
  const modulePath = path.join(__dirname, '..', '..', entry.module);
  let mod: Record<string, unknown>;
  try {
    mod = require(modulePath) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(entry.module)) {
      process.stderr.write(`tinylab: the '${name}' command is not available in this build\n`);
      return 2;
    }
    throw err;
  }
  const fn = mod[entry.fn ?? 'run'];
  if (typeof fn !== 'function') {
    process.stderr.write(`tinylab: the '${name}' command is not available in this build\n`);
    return 2;
  }
  return (await (fn as (a: string[]) => Promise<number>)(rest)) ?? 0;
}
