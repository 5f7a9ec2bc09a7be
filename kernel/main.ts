/**
 * `node dist/kernel/main.js <connection-file>` (or `tinylab kernel <connection-file>`): the Jupyter kernel process.
 * Startup stays light (sockets + tslab's converter module only); the TypeScript program is built right after the
 * first kernel_info_reply, TensorFlow and the library load on first use in a cell.
 */
import { readConnectionFile } from './protocol/connection';
import { KernelServer } from './protocol/server';
import { CellExecutor } from './execute/executor';
import { KernelSession } from './session/session';
import { StreamCapture } from './session/streams';
import { kernelTimers } from './session/timers';
import { TinylabError } from '../src/common/errors';

const USAGE = 'usage: tinylab kernel <connection-file>\n\nJupyter starts this with {connection_file}; register it with `tinylab install`.\n';

export async function run(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const file = args.find((a) => !a.startsWith('-')) ?? args.find((a) => a.startsWith('--connection-file='))?.slice(18);
  if (!file) {
    process.stderr.write(USAGE);
    return 2;
  }
  let conn;
  try {
    conn = readConnectionFile(file);
  } catch (err) {
    if (err instanceof TinylabError) {
      process.stderr.write(`tinylab kernel: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let session: KernelSession | undefined;
  // Explicit types: the two refer to each other through callbacks, which defeats inference (TS7022).
  const capture: StreamCapture = new StreamCapture((content, parent) => server.publishStream(content, parent));
  const server: KernelServer = new KernelServer(conn, (t) => capture.log(t));
  const executor = new CellExecutor(process.cwd());
  session = new KernelSession(server, executor, capture);
  server.handlers = session;
  server.beforePublish = () => capture.flush();

  // Errors from callbacks that outlive their cell: show them in the cell that is receiving output, keep running.
  process.on('uncaughtException', (err) => capture.write('stderr', `Uncaught ${err?.stack ?? String(err)}\n`));
  process.on('unhandledRejection', (reason) =>
    capture.write('stderr', `Unhandled promise rejection: ${(reason as Error)?.stack ?? String(reason)}\n`),
  );
  process.on('SIGINT', () => session?.interrupt());
  process.on('SIGTERM', () => session?.onShutdown?.(false));

  capture.install();
  await server.start();
  capture.log(`kernel ${server.kernelId} listening (${conn.transport}://${conn.ip}, shell ${conn.shell_port})`);
  // If no client asks for kernel_info soon, build the TypeScript program anyway.
  kernelTimers.setTimeout(() => session?.scheduleWarm(), 1500);

  return new Promise<number>((resolve) => {
    let closing = false;
    session!.onShutdown = (restart) => {
      if (closing) return;
      closing = true;
      capture.flush();
      void server.close().finally(() => {
        executor.close();
        resolve(0);
        // Watchers or user timers may keep the loop alive; a kernel that was asked to stop must stop.
        kernelTimers.setTimeout(() => process.exit(0), restart ? 10 : 50).unref();
      });
    };
  });
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`tinylab kernel: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
