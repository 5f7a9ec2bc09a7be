/**
 * bench:kernel — the tinylab kernel beside python3-ipykernel, measured in one run through the same client
 * (the Debian jupyter_client, test/kernel/driver.py): launch → kernel_info_reply, execute round trip
 * (request → status idle) median and p95 for `1+1` and a 20-line typed cell, and completion latency.
 * Prints a table and, as the last line, one JSON object with the figures and the ratios.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const DRIVER = path.join(ROOT, 'test', 'kernel', 'driver.py');
const PYTHON = '/usr/bin/python3';
const N = Number(process.env.BENCH_N ?? 30);

const TS_TYPED = `interface Layer { name: string; params: number; macs: number }
type Summary = { total: number; largest: string };
function summarize(layers: Layer[]): Summary {
  let total = 0;
  let largest = layers[0];
  for (const l of layers) {
    total += l.params;
    if (l.params > largest.params) largest = l;
  }
  return { total, largest: largest.name };
}
const layers: Layer[] = [
  { name: 'conv1', params: 320, macs: 230_000 },
  { name: 'conv2', params: 18_496, macs: 3_600_000 },
  { name: 'dense', params: 16_010, macs: 16_000 },
];
const s: Summary = summarize(layers);
const macs = layers.reduce((a, l) => a + l.macs, 0);
const ratio: number = macs / s.total;
const label = \`\${s.largest}: \${s.total} params\`;
[label, ratio.toFixed(1)]`;

const PY_TYPED = `from typing import List, TypedDict
class Layer(TypedDict):
    name: str
    params: int
    macs: int
def summarize(layers: List[Layer]) -> dict:
    total = 0
    largest = layers[0]
    for l in layers:
        total += l["params"]
        if l["params"] > largest["params"]:
            largest = l
    return {"total": total, "largest": largest["name"]}
layers: List[Layer] = [
    {"name": "conv1", "params": 320, "macs": 230_000},
    {"name": "conv2", "params": 18_496, "macs": 3_600_000},
    {"name": "dense", "params": 16_010, "macs": 16_000},
]
s = summarize(layers)
macs = sum(l["macs"] for l in layers)
ratio: float = macs / s["total"]
label = f"{s['largest']}: {s['total']} params"
[label, f"{ratio:.1f}"]`;

interface KernelFigures {
  startup_s: number;
  /** New cells (unique each run): what typing a cell costs, type-check included. */
  one_plus_one: number[];
  typed_cell: number[];
  /** The same cell re-run (tinylab reuses the conversion). */
  one_plus_one_rerun: number[];
  typed_cell_rerun: number[];
  complete: number[];
}

class Driver {
  private proc;
  private parts: string[] = [];
  private waiting: ((l: string) => void)[] = [];
  constructor(env: NodeJS.ProcessEnv) {
    this.proc = spawn(PYTHON, [DRIVER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => {
      let i: number;
      while ((i = chunk.indexOf('\n')) >= 0) {
        this.parts.push(chunk.slice(0, i));
        chunk = chunk.slice(i + 1);
        const line = this.parts.join('');
        this.parts = [];
        this.waiting.shift()?.(line);
      }
      if (chunk) this.parts.push(chunk);
    });
    this.proc.stderr.resume();
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form JSON results from the driver
  call(op: string, args: Record<string, unknown> = {}): Promise<any> {
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => {
        const r = JSON.parse(line) as { ok: boolean; result?: unknown; error?: string };
        if (r.ok) resolve(r.result);
        else reject(new Error(`${op}: ${r.error}`));
      });
      this.proc.stdin.write(JSON.stringify({ op, ...args }) + '\n');
    });
  }
  async close(): Promise<void> {
    await this.call('shutdown').catch(() => undefined);
    this.proc.stdin.end();
  }
}

async function measure(kernel: string, env: NodeJS.ProcessEnv, typed: string, complete: [string, number], comment: string): Promise<KernelFigures> {
  const d = new Driver(env);
  try {
    const start = await d.call('start', { kernel_name: kernel, cwd: os.tmpdir() });
    const fresh = await d.call('bench', { cells: { one_plus_one: '1+1', typed_cell: typed }, n: N, warmup: 3, complete, complete_n: 20, comment });
    const rerun = await d.call('bench', { cells: { one_plus_one: '1+1', typed_cell: typed }, n: N, warmup: 3 });
    return {
      startup_s: start.ready_seconds,
      one_plus_one: fresh.one_plus_one,
      typed_cell: fresh.typed_cell,
      one_plus_one_rerun: rerun.one_plus_one,
      typed_cell_rerun: rerun.typed_cell,
      complete: fresh.complete,
    };
  } finally {
    await d.close();
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const ms = (s: number): number => Math.round(s * 10000) / 10;

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'kernel', 'main.js'))) throw new Error('run `npm run build` first');
  const { installKernelSpec } = await import('../kernel/spec/install');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-bench-'));
  installKernelSpec({ prefix: tmp, name: 'tinylab' });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(tmp, 'share', 'jupyter'),
    JUPYTER_RUNTIME_DIR: path.join(tmp, 'runtime'),
    JUPYTER_PLATFORM_DIRS: '1',
    PYTHONNOUSERSITE: '1',
  };
  try {
    // Alternate order is not possible for startup without two runs each; run ipykernel first, then ours, same client.
    const py = await measure('python3', env, PY_TYPED, ['import o', 8], '#');
    const tl = await measure('tinylab', env, TS_TYPED, ['Math.ab', 7], '//');
    const row = (label: string, a: number[], b: number[], q: number): [string, number, number, number] => [label, ms(quantile(a, q)), ms(quantile(b, q)), quantile(a, q) / quantile(b, q)];
    const rows: [string, number, number, number][] = [
      ['startup → kernel_info_reply (s)', tl.startup_s, py.startup_s, tl.startup_s / py.startup_s],
      row('new cell 1+1, median (ms)', tl.one_plus_one, py.one_plus_one, 0.5),
      row('new cell 1+1, p95 (ms)', tl.one_plus_one, py.one_plus_one, 0.95),
      row('new 20-line typed cell, median (ms)', tl.typed_cell, py.typed_cell, 0.5),
      row('new 20-line typed cell, p95 (ms)', tl.typed_cell, py.typed_cell, 0.95),
      row('re-run 1+1, median (ms)', tl.one_plus_one_rerun, py.one_plus_one_rerun, 0.5),
      row('re-run typed cell, median (ms)', tl.typed_cell_rerun, py.typed_cell_rerun, 0.5),
      row('complete_request, median (ms)', tl.complete, py.complete, 0.5),
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    const lines = [
      `kernel benchmark: ${N} round trips per cell after 3 warm-ups, same client (jupyter_client ${'via test/kernel/driver.py'}), one run`,
      `${'measure'.padEnd(w)}  ${'tinylab'.padStart(9)}  ${'ipykernel'.padStart(9)}  ${'ratio'.padStart(6)}`,
      ...rows.map((r) => `${r[0].padEnd(w)}  ${r[1].toFixed(r[0].includes('(s)') ? 2 : 1).padStart(9)}  ${r[2].toFixed(r[0].includes('(s)') ? 2 : 1).padStart(9)}  ${r[3].toFixed(2).padStart(6)}`),
      '',
      `goals: round trip within 2x of ipykernel for new cells (1+1 median ratio ${rows[1][3].toFixed(2)}, typed ${rows[3][3].toFixed(2)}); startup < 3 s (${tl.startup_s.toFixed(2)} s)`,
      'a new cell is type-checked before it runs: by the previous program\'s checker when it imports only ambient modules (the preloaded',
      'declaration bundle, node), else in a new ~160-file program. Re-runs reuse the conversion. TINYLAB_REUSE_CHECKER=0 and',
      'TINYLAB_DECLARATION_BUNDLE=0 (set before running the bench) turn the two off for comparison.',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const json = {
      bench: 'kernel',
      n: N,
      tinylab: {
        startup_s: tl.startup_s,
        one_plus_one_median_ms: ms(quantile(tl.one_plus_one, 0.5)),
        one_plus_one_p95_ms: ms(quantile(tl.one_plus_one, 0.95)),
        typed_median_ms: ms(quantile(tl.typed_cell, 0.5)),
        typed_p95_ms: ms(quantile(tl.typed_cell, 0.95)),
        rerun_one_plus_one_median_ms: ms(quantile(tl.one_plus_one_rerun, 0.5)),
        rerun_typed_median_ms: ms(quantile(tl.typed_cell_rerun, 0.5)),
        complete_median_ms: ms(quantile(tl.complete, 0.5)),
      },
      ipykernel: {
        startup_s: py.startup_s,
        one_plus_one_median_ms: ms(quantile(py.one_plus_one, 0.5)),
        one_plus_one_p95_ms: ms(quantile(py.one_plus_one, 0.95)),
        typed_median_ms: ms(quantile(py.typed_cell, 0.5)),
        typed_p95_ms: ms(quantile(py.typed_cell, 0.95)),
        rerun_one_plus_one_median_ms: ms(quantile(py.one_plus_one_rerun, 0.5)),
        rerun_typed_median_ms: ms(quantile(py.typed_cell_rerun, 0.5)),
        complete_median_ms: ms(quantile(py.complete, 0.5)),
      },
      ratios: {
        startup: tl.startup_s / py.startup_s,
        one_plus_one_median: rows[1][3],
        one_plus_one_p95: rows[2][3],
        typed_median: rows[3][3],
        typed_p95: rows[4][3],
        rerun_one_plus_one_median: rows[5][3],
        rerun_typed_median: rows[6][3],
        complete_median: rows[7][3],
      },
      goals: { roundtrip_within_2x: rows[1][3] <= 2 && rows[3][3] <= 2, startup_under_3s: tl.startup_s < 3 },
    };
    process.stdout.write(JSON.stringify(json) + '\n');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:kernel failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
