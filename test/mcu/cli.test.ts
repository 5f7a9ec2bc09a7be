/**
 * `tinylab mcu` and `tinylab boards` from the command line (spawns the compiled build: run `npm run build` first),
 * and the %mcu / %boards magics' run() with a plain context object.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { magics } from '../../kernel/magics/mcu';
import type { MagicContext } from '../../kernel/magics/types';
import { recordingContext } from '../helpers/magic-context';
import { graphFromOnnx } from '../../src/graph/onnx';
import { listBoards } from '../../src/mcu/boards';
import { tinyConvNet } from './onnx-fixtures';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'tinylab.js');

function tinylab(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
}

describe('command line', () => {
  let dir: string;
  let onnxFile: string;
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'mcu', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-mcu-cli-'));
    onnxFile = path.join(dir, 'tiny.onnx');
    fs.writeFileSync(onnxFile, tinyConvNet());
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('tinylab mcu file.onnx --board X --json prints the report object', () => {
    const r = tinylab(['mcu', onnxFile, '--board', 'nucleo-h743zi2', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.board).toBe('NUCLEO-H743ZI2');
    expect(rep.dtype).toBe('int8');
    expect(rep.totals.params).toBe(95);
    expect(rep.totals.macs).toBe(2892);
    expect(rep.fits).toEqual({ flash: true, ram: true });
    expect(rep.layers.map((l: { op: string }) => l.op)).toEqual(graphFromOnnx(tinyConvNet()).nodes.filter((n) => !['relu', 'relu6'].includes(n.op)).map((n) => n.op));
  });

  test('text report and --boards all comparison', () => {
    const r = tinylab(['mcu', onnxFile, '--board', 'NUCLEO-L4R5ZI', '--dtype', 'float32']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/conv2d\+relu/);
    expect(r.stdout).toMatch(/float32/);
    const all = tinylab(['mcu', onnxFile, '--boards', 'all', '--json']);
    expect(all.status).toBe(0);
    expect(JSON.parse(all.stdout).boards).toHaveLength(listBoards().length);
  });

  test('errors are one line with the fix, exit status 2', () => {
    const bad = tinylab(['mcu', onnxFile, '--board', 'nucleo-h74zi2']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown board 'nucleo-h74zi2'; did you mean 'NUCLEO-H743ZI2'/);
    const truncated = path.join(dir, 'cut.onnx');
    fs.writeFileSync(truncated, tinyConvNet().slice(0, 100));
    const t = tinylab(['mcu', truncated]);
    expect(t.status).toBe(2);
    expect(t.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.stderr).toMatch(/ONNX/);
  });

  test('tinylab mcu model.json (tfjs topology) prices the model', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, JSON.stringify({ modelTopology: m.toJSON(null, false), format: 'layers-model' }));
    const params = m.countParams();
    m.dispose();
    const r = tinylab(['mcu', file, '--board', 'rp2040', '--json']);
    expect(r.status).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.board).toBe('Raspberry-Pi-Pico');
    expect(rep.totals.params).toBe(params);
    expect(rep.totals.macs).toBe(10 * 10 * 4 * 9 + 400 * 3);
  });

  test('tinylab boards lists every board; --json gives sources', () => {
    const r = tinylab(['boards']);
    expect(r.status).toBe(0);
    for (const b of listBoards()) expect(r.stdout).toContain(b.name);
    const j = JSON.parse(tinylab(['boards', '--json']).stdout);
    expect(j.length).toBe(listBoards().length);
    expect(j[0].sources.length).toBeGreaterThan(0);
  });
});

describe('%mcu / %boards magics', () => {
  const ctx = (vars = new Map<string, unknown>()): MagicContext => recordingContext({ vars, cwd: ROOT }).ctx;
  const mcu = magics.find((m) => m.name === 'mcu')!;
  const boards = magics.find((m) => m.name === 'boards')!;

  test('%mcu prices a session variable and returns a displayable report', async () => {
    const vars = new Map<string, unknown>([['net', graphFromOnnx(tinyConvNet())]]);
    const out = (await mcu.run({ model: 'net', board: 'nrf52840-dk', dtype: 'int8', runtime: 'cmsis-nn', out: 'rep' }, ctx(vars))) as { toMimeBundle(): { data: Record<string, unknown> }; board: string };
    expect(out.board).toBe('nRF52840-DK');
    expect(Object.keys(out.toMimeBundle().data)).toContain('application/vnd.vegalite.v5+json');
    expect(vars.get('rep')).toBe(out);
    await expect(Promise.resolve().then(() => mcu.run({ model: 'nothing' }, ctx()))).rejects.toThrow(/no variable or file named 'nothing'/);
  });

  test('%boards filters by core', async () => {
    const b = (await boards.run({ core: 'cortex-m0+' }, ctx())) as { data: Record<string, string> };
    expect(b.data['text/plain']).toContain('NUCLEO-G0B1RE');
    expect(b.data['text/plain']).not.toContain('NUCLEO-H743ZI2');
  });
});
