/**
 * bench:runner — what `tinylab run` costs beyond the cells' own work, on a 20-cell notebook of trivial cells.
 *
 *   cells' own time   Σ per cell of the kernel's busy → idle (header dates of its iopub status messages)
 *   kernel warm-up    the runner's wait for the kernel's warm-up before the first cell (tinylab builds its
 *                     TypeScript program then; metadata.tinylab.run.timings) plus any first-cell wait before busy
 *   loop overhead     runner's wall time from the first cell's start to the last cell's end, minus the two above:
 *                     message round trips, signing, recording, progress (goal: < 1 s for 20 cells)
 *   end to end        whole executeNotebook (kernel start + cells + probe + shutdown) and the whole CLI process
 *
 * Ratios come from one run on one machine; the kernel start is reported beside them, not hidden in them.
 * Uses the tinylab kernel when it is built, and Debian's ipykernel (python3) as the reference.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { findKernelSpec, packageRoot } from '../kernel/client/kernelspec';
import { startKernel } from '../kernel/client/launch';
import { executeNotebook } from '../kernel/run/execute';
import { readNotebook } from '../kernel/run/notebook';

const REPS = Number(process.env.BENCH_REPS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface KernelFigures {
  kernel: string;
  cells: number;
  startup_s: number;
  warmup_s: number;
  cells_own_s: number;
  loop_s: number;
  loop_overhead_s: number;
  overhead_per_cell_ms: number;
  execute_notebook_s: number;
  cli_s: number;
}

async function benchKernel(kernel: string, fixture: string): Promise<KernelFigures> {
  const root = packageRoot();
  const file = path.join(root, 'test', 'fixtures', fixture);
  const spec = findKernelSpec(kernel);
  const startups: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    const k = await startKernel({ kernel: spec });
    startups.push((performance.now() - t0) / 1000);
    await k.shutdown();
  }
  const own: number[] = [];
  const warm: number[] = [];
  const firstWait: number[] = [];
  const loops: number[] = [];
  const totals: number[] = [];
  let cells = 0;
  for (let i = 0; i < REPS; i++) {
    const nb = readNotebook(file);
    let first = 0;
    let last = 0;
    let firstWall = 0; // Date.now() clock, comparable with the kernel's header dates on this machine
    const t0 = performance.now();
    const r = await executeNotebook(nb, {
      kernel: spec,
      cwd: path.dirname(file),
      onCellStart: () => {
        if (!first) {
          first = performance.now();
          firstWall = Date.now();
        }
      },
      onCellEnd: () => {
        last = performance.now();
      },
    });
    totals.push((performance.now() - t0) / 1000);
    if (r.status !== 'ok') throw new Error(`${fixture} on ${kernel} failed: ${r.failure?.ename}: ${r.failure?.evalue}`);
    let sum = 0;
    cells = 0;
    for (const c of r.notebook.cells) {
      const ex = c.metadata.execution as Record<string, string> | undefined;
      if (!ex) continue;
      if (cells === 0) {
        const preBusy = Math.max(0, Date.parse(ex['iopub.status.busy']) - firstWall) / 1000;
        firstWait.push(preBusy);
        warm.push(preBusy + (r.meta.timings?.kernel_warmup_s ?? 0));
      }
      cells++;
      sum += (Date.parse(ex['iopub.status.idle']) - Date.parse(ex['iopub.status.busy'])) / 1000;
    }
    own.push(sum);
    loops.push((last - first) / 1000);
  }
  const cliTimes: number[] = [];
  const out = path.join(fs.mkdtempSync('/tmp/bench-runner-'), 'out.ipynb');
  for (let i = 0; i < Math.min(REPS, 2); i++) {
    const t0 = performance.now();
    const p = spawnSync(process.execPath, [path.join(root, 'bin', 'tinylab.js'), 'run', file, '--kernel', kernel, '-o', out, '-q'], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`tinylab run failed (${p.status}): ${p.stderr}`);
    cliTimes.push((performance.now() - t0) / 1000);
  }
  // Overhead per repetition, then the median (loop, own and warm-up of one run belong together).
  const overheads = loops.map((l, i) => l - own[i] - firstWait[i]);
  const ov = median(overheads);
  return {
    kernel,
    cells,
    startup_s: median(startups),
    warmup_s: median(warm),
    cells_own_s: median(own),
    loop_s: median(loops),
    loop_overhead_s: ov,
    overhead_per_cell_ms: (ov / cells) * 1000,
    execute_notebook_s: median(totals),
    cli_s: median(cliTimes),
  };
}

async function main(): Promise<void> {
  const runs: KernelFigures[] = [];
  const tinylabMain = path.join(packageRoot(), 'dist', 'kernel', 'main.js');
  let tinylabNote = '';
  if (fs.existsSync(tinylabMain)) {
    try {
      runs.push(await benchKernel('tinylab', 'ts-trivial20.ipynb'));
    } catch (err) {
      tinylabNote = `tinylab kernel not measured: ${(err as Error).message.split('\n')[0]}`;
    }
  } else tinylabNote = 'tinylab kernel not built (dist/kernel/main.js missing): not measured';
  runs.push(await benchKernel('python3', 'py-trivial20.ipynb'));

  const f = (x: number, d = 3): string => x.toFixed(d);
  const head = ['kernel', 'cells', 'startup s', 'warm-up s', 'cells own s', 'loop s', 'overhead s', 'per cell ms', 'executeNotebook s', 'CLI s'];
  const rows = runs.map((r) => [r.kernel, String(r.cells), f(r.startup_s), f(r.warmup_s), f(r.cells_own_s), f(r.loop_s), f(r.loop_overhead_s), f(r.overhead_per_cell_ms, 1), f(r.execute_notebook_s), f(r.cli_s)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cols: string[]): string => cols.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(`runner overhead on a 20-cell notebook of trivial cells (median of ${REPS})`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  if (tinylabNote) console.log(tinylabNote);
  const worst = Math.max(...runs.map((r) => r.loop_overhead_s));
  console.log(`goal: loop overhead < 1 s for 20 cells: ${worst < 1 ? 'met' : 'NOT met'} (worst ${f(worst)} s)`);
  console.log(JSON.stringify({ bench: 'runner', reps: REPS, goal_overhead_s: 1, met: worst < 1, runs, ...(tinylabNote ? { note: tinylabNote } : {}) }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
