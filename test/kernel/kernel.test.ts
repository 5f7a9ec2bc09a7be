/**
 * The real kernel process over real sockets, driven by the Debian jupyter_client: execution, persistence, errors with
 * cell positions, streams from async code, display updates, stdin, interrupts (sync and async, signal and message),
 * stop_on_error, magics, completion, inspection, history, restart.
 */
import * as fs from 'fs';
import * as path from 'path';
import { withoutRasterFallback } from '../../kernel/display/raster';
import { Driver, kernelInTempDir, errorOf, resultText, streamText, type Collected } from './harness';

jest.setTimeout(240_000);

// The notebook directory is outside the package: preloading must not depend on the cwd.
const kernel = kernelInTempDir();
let d: Driver;
let nbDir: string;
beforeAll(() => {
  d = kernel.driver;
  nbDir = kernel.nbDir;
});

function ok(c: Collected): Collected {
  if (c.reply?.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(c.reply)}\n${d.log.slice(-3000)}`);
  return c;
}

test('kernel_info describes TypeScript', async () => {
  const r = await d.call('kernel_info');
  expect(r.content.protocol_version).toBe('5.3');
  expect(r.content.implementation).toBe('tinylab');
  expect(r.content.language_info).toMatchObject({ name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' });
  expect(r.content.language_info.codemirror_mode).toBeDefined();
  expect(r.content.help_links.length).toBeGreaterThan(0);
});

test('execute: counts, results, declarations persist across cells, preloaded library', async () => {
  const a = ok(await d.execute("console.log('hello, world')\nconst base: number = 40"));
  expect(streamText(a)).toBe('hello, world\n');
  const n = a.reply!.execution_count as number;
  const b = ok(await d.execute('interface P { v: number }\nclass Box { constructor(public p: P) {} }\nfunction twice(x: number) { return 2 * x }\nlet box = new Box({ v: base + 1 })'));
  expect(b.reply!.execution_count).toBe(n + 1);
  // Shorthand properties naming earlier cells' variables (tslab leaves them unrewritten; the executor expands them).
  expect(resultText(ok(await d.execute('const packed = { base, box }; packed.base + packed.box.p.v')))).toBe(String(40 + 41));
  const c = ok(await d.execute('twice(box.p.v)'));
  expect(resultText(c)).toBe(String(2 * (40 + 1)));
  expect(c.outputs.find((o) => o.msg_type === 'execute_result')!.content.execution_count).toBe(n + 3);
  // mulberry32 from src/common/rng (preloaded, no import), checked against an independent implementation.
  const r = ok(await d.execute('const g = mulberry32(7); [g(), g()]'));
  const ref = ((seed: number) => {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  })(7);
  const got = JSON.parse(resultText(r)!.replace(/\s+/g, '')) as number[];
  expect(got[0]).toBeCloseTo(ref(), 12);
  expect(got[1]).toBeCloseTo(ref(), 12);
});

test('type errors point at the cell line and column', async () => {
  const code = 'const okay = 1\nlet label: string = "a"\nlabel = okay * 2';
  const c = await d.execute(code);
  expect(c.reply!.status).toBe('error');
  const e = errorOf(c)!;
  expect(e.ename).toBe('TSError');
  const line3 = code.split('\n')[2];
  expect(e.evalue).toContain(`line 3, column ${line3.indexOf('label') + 1}`);
  expect(e.evalue).toContain("Type 'number' is not assignable to type 'string'");
});

test('runtime error tracebacks point at the cell lines (not generated code)', async () => {
  const code = ['type Shape = { w: number }', '', 'function area(s: Shape): number {', '  if (s.w < 0) throw new RangeError(`negative width ${s.w}`);', '  return s.w * s.w;', '}', 'area({ w: -3 })'].join('\n');
  const c = await d.execute(code);
  const e = errorOf(c)!;
  expect(e.ename).toBe('RangeError');
  expect(e.evalue).toBe('negative width -3');
  const tb = e.traceback.join('\n');
  const throwCol = code.split('\n')[3].indexOf('new RangeError') + 1;
  expect(tb).toContain(`line 4, column ${throwCol} in area`);
  expect(tb).toContain('line 7, column 1');
  expect(tb).not.toContain('tinylab-cell-');
});

test('a TinylabError from the library shows as one short line', async () => {
  const c = await d.execute("throw new InputError('image must be 28x28; resize it with resize()')");
  const e = errorOf(c)!;
  expect(e).toEqual({ ename: 'InputError', evalue: 'image must be 28x28; resize it with resize()', traceback: ['InputError: image must be 28x28; resize it with resize()'] });
});

test('streams from async code arrive while the cell runs, timers included', async () => {
  const c = ok(await d.execute("setTimeout(() => console.log('timer'), 120)\nfor (let i = 0; i < 4; i++) { console.log('tick ' + i); await sleep(100) }\nconsole.error('warn')\n'done'"));
  const lines = streamText(c).split('\n');
  expect([...lines].sort()).toEqual(['', 'tick 0', 'tick 1', 'tick 2', 'tick 3', 'timer']);
  expect(lines.filter((l) => l.startsWith('tick'))).toEqual(['tick 0', 'tick 1', 'tick 2', 'tick 3']);
  // The timer (120 ms) fired during the cell, well before the last tick (~300 ms).
  expect(lines.indexOf('timer')).toBeLessThan(lines.indexOf('tick 3'));
  expect(streamText(c, 'stderr')).toBe('warn\n');
  const ticks = c.outputs.filter((o) => o.msg_type === 'stream' && o.content.name === 'stdout');
  // Streamed as they happened: several messages spread over the cell's ~400 ms, not one at the end.
  expect(ticks.length).toBeGreaterThanOrEqual(3);
  expect(ticks[ticks.length - 1].t - ticks[0].t).toBeGreaterThan(0.2);
  expect(resultText(c)).toBe("'done'");
});

test('display, updateDisplay, clearOutput, table, rich objects and vegaLite', async () => {
  const c = ok(
    await d.execute(
      [
        "const id = display(html('<b>v1</b>'), { id: 'progress' })",
        "updateDisplay(id, markdown('**v2**'))",
        "display(table([{ name: 'a', acc: 0.5 }, { name: 'b', acc: 0.25 }]))",
        "display({ toMimeBundle: () => ({ data: { 'text/html': '<i>rich</i>', 'text/plain': 'rich' } }) })",
        'clearOutput(true)',
        "vegaLite({ data: { values: [{ x: 'a', y: 1 }, { x: 'b', y: 3 }, { x: 'c', y: 2 }] }, mark: 'bar', encoding: { x: { field: 'x', type: 'nominal' }, y: { field: 'y', type: 'quantitative' } } })",
      ].join('\n'),
    ),
  );
  const kinds = c.outputs.map((o) => o.msg_type);
  expect(kinds).toEqual(['execute_input', 'display_data', 'update_display_data', 'display_data', 'display_data', 'clear_output', 'execute_result']);
  const [, first, update, tbl, rich, clear, chart] = c.outputs;
  expect(first.content.transient.display_id).toBe('progress');
  expect(update.content.transient.display_id).toBe('progress');
  expect(update.content.data['text/markdown']).toBe('**v2**');
  expect((tbl.content.data['text/html'] as string).match(/<tr>/g)!.length).toBe(3); // header + 2 rows
  expect(tbl.content.data['text/plain']).toContain('0.2500');
  expect(rich.content.data['text/html']).toBe('<i>rich</i>');
  expect(clear.content.wait).toBe(true);
  expect(chart.content.data['application/vnd.vegalite.v5+json'].mark).toBe('bar');
  const wrapped = chart.content.data['image/svg+xml'] as string;
  expect(wrapped.startsWith('<svg')).toBe(true);
  // The SVG carries a PNG copy for nbconvert and the vega SVG itself as an image (kernel/display/raster.ts).
  expect(wrapped).toContain('src="data:image/png;base64,');
  const svg = withoutRasterFallback(wrapped);
  expect(svg).not.toBe(wrapped);
  // Three bars: vega renders each rect mark as a path inside the mark group.
  const marks = svg.match(/<g class="mark-rect role-mark[^>]*>(.*?)<\/g>/);
  expect(marks).not.toBeNull();
  expect(marks![1].match(/<path/g)!.length).toBe(3);
});

test('stdin: input() asks the front end, honouring allow_stdin', async () => {
  const c = ok(await d.execute("const who = await input('name? ');\n`hi ${who}`", { stdin_replies: ['Ada'] }));
  expect(c.stdin_requests).toEqual([{ prompt: 'name? ', password: false }]);
  expect(resultText(c)).toBe("'hi Ada'");
  const no = await d.execute("await input('x')", { allow_stdin: false });
  expect(errorOf(no)!.ename).toBe('TinylabError');
  expect(errorOf(no)!.evalue).toContain('allow_stdin');
});

test('silent, store_history and user_expressions', async () => {
  const before = ok(await d.execute('const uv = 21')).reply!.execution_count as number;
  const s = ok(await d.execute('uv * 3', { silent: true }));
  expect(s.outputs.filter((o) => o.msg_type === 'execute_result' || o.msg_type === 'execute_input')).toEqual([]);
  const n = ok(await d.execute('1', { store_history: false }));
  expect(n.reply!.execution_count).toBe(before);
  const u = ok(await d.execute('uv', { user_expressions: { double: 'uv * 2', bad: 'nope(' } }));
  expect(u.reply!.execution_count).toBe(before + 1);
  expect(u.reply!.user_expressions.double).toEqual({ status: 'ok', data: { 'text/plain': '42' }, metadata: {} });
  expect(u.reply!.user_expressions.bad.status).toBe('error');
});

test('stop_on_error aborts cells queued behind an error; stop_on_error=false does not', async () => {
  const a = await d.call('send_execute', { code: "throw new Error('first fails')" });
  const b = await d.call('send_execute', { code: "console.log('should not run')" });
  const ra = await d.call<Collected>('collect', { msg_id: a.msg_id });
  const rb = await d.call<Collected>('collect', { msg_id: b.msg_id });
  expect(ra.reply!.status).toBe('error');
  expect(rb.reply!.status).toBe('aborted');
  expect(streamText(rb)).toBe('');
  const c = await d.call('send_execute', { code: "throw new Error('fails again')", stop_on_error: false });
  const e = await d.call('send_execute', { code: "console.log('runs anyway')" });
  await d.call('collect', { msg_id: c.msg_id });
  const re = await d.call<Collected>('collect', { msg_id: e.msg_id });
  expect(re.reply!.status).toBe('ok');
  expect(streamText(re)).toBe('runs anyway\n');
});

async function interruptDuring(code: string, via: 'signal' | 'message'): Promise<Collected> {
  const { msg_id } = await d.call('send_execute', { code });
  await new Promise((r) => setTimeout(r, 1500));
  await d.call('interrupt', { via });
  return d.call<Collected>('collect', { msg_id, timeout: 30 });
}

test('interrupt stops an async await loop and a busy sync loop (SIGINT and interrupt_request); state survives', async () => {
  ok(await d.execute('let kept = 1234\nlet spins = 0'));
  const asyncSig = await interruptDuring('while (true) { spins++; await sleep(20) }', 'signal');
  expect(errorOf(asyncSig)!.ename).toBe('KeyboardInterrupt');
  // The loop is really stopped (its pending timer was cancelled), not just detached.
  const s1 = Number(resultText(ok(await d.execute('spins'))));
  await new Promise((r) => setTimeout(r, 300));
  expect(Number(resultText(ok(await d.execute('spins'))))).toBe(s1);

  const syncMsg = await interruptDuring('while (true) { spins++ }', 'message');
  expect(syncMsg.reply!.status).toBe('error');
  expect(errorOf(syncMsg)!.ename).toBe('KeyboardInterrupt');
  const syncSig = await interruptDuring('for (;;) {}', 'signal');
  expect(errorOf(syncSig)!.ename).toBe('KeyboardInterrupt');
  const asyncMsg = await interruptDuring('for (;;) await sleep(10)', 'message');
  expect(errorOf(asyncMsg)!.ename).toBe('KeyboardInterrupt');
  expect(resultText(ok(await d.execute('kept + 1')))).toBe('1235');
});

test('magics: builtins, help, mixing with TypeScript, errors naming the nearest choice', async () => {
  const ls = ok(await d.execute('%lsmagic'));
  for (const m of ['%time', '%timeit', '%env', '%cd', '%who', '%reset', '%%writefile', '%%time']) expect(streamText(ls)).toContain(m);

  const mixed = ok(await d.execute('const m1 = 5\n%env TINYLAB_T=xyz\nm1 + process.env.TINYLAB_T!.length'));
  expect(streamText(mixed)).toBe('env: TINYLAB_T=xyz\n');
  expect(resultText(mixed)).toBe('8');

  const t = ok(await d.execute('%time [1, 2, 3].map((v) => v * v)'));
  expect(streamText(t)).toMatch(/Wall time: [\d.]+ (?:ns|µs|ms|s)\n/);
  expect(resultText(t)).toBe('[ 1, 4, 9 ]');

  ok(await d.execute('%timeit -n 50 -r 3 -o tstats Math.sqrt(2)'));
  const ts = ok(await d.execute('[tstats.loops, tstats.repeat, tstats.perLoop.length, tstats.mean > 0]'));
  expect(resultText(ts)).toBe('[ 50, 3, 3, true ]');

  const file = path.join(nbDir, 'sub', 'cfg.json');
  const wf = ok(await d.execute(`%%writefile ${file}\n{"epochs": 3}`));
  expect(streamText(wf)).toBe(`Writing ${file}\n`);
  expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ epochs: 3 });
  ok(await d.execute(`%%writefile -a ${file}\n// more`));
  expect(fs.readFileSync(file, 'utf8')).toBe('{"epochs": 3}\n// more\n');

  const cd = ok(await d.execute(`%cd ${path.join(nbDir, 'sub')}\nprocess.cwd()`));
  expect(resultText(cd)).toBe(`'${fs.realpathSync(path.join(nbDir, 'sub'))}'`);

  const who = ok(await d.execute('%who'));
  const whoText = who.outputs.find((o) => o.msg_type === 'execute_result')!.content.data['text/plain'] as string;
  expect(whoText).toMatch(/kept\s+number\s+1234/);

  const help = ok(await d.execute('%timeit?'));
  expect(streamText(help)).toContain('%timeit');
  expect(streamText(help)).toContain('-o <name>');
  expect(streamText(ok(await d.execute('%help writefile')))).toContain('--append, -a');

  const unknown = await d.execute('%timit 1+1');
  expect(errorOf(unknown)!.evalue).toContain('did you mean %timeit?');
  expect(errorOf(unknown)!.traceback).toHaveLength(1);
  const badFlag = await d.execute(`%%writefile --apend ${file}\nx`);
  expect(errorOf(badFlag)!.evalue).toContain('did you mean --append?');
  const lineAsCell = await d.execute('%%cd /tmp\n');
  expect(errorOf(lineAsCell)!.evalue).toContain('line magic');
  // The kernel is alive and the session intact after magic errors.
  expect(resultText(ok(await d.execute('kept')))).toBe('1234');
});

test('complete and inspect use the type checker; magics complete too', async () => {
  ok(await d.execute('const conf = { alpha: 1, beta: "b", gamma: [1] }'));
  const members = await d.call('complete', { code: 'conf.', cursor_pos: 5 });
  expect(new Set(members.content.matches)).toEqual(new Set(['alpha', 'beta', 'gamma']));
  expect(members.content.cursor_start).toBe(5);
  const lib = await d.call('complete', { code: 'const r = mulb', cursor_pos: 14 });
  expect(lib.content.matches).toContain('mulberry32');
  expect(lib.content.cursor_start).toBe(10);
  const mag = await d.call('complete', { code: '%tim', cursor_pos: 4 });
  expect(mag.content.matches).toEqual(['%time', '%timeit']);
  // Unicode: cursor positions are code points.
  const uni = await d.call('complete', { code: '"😀"; conf.al', cursor_pos: 12 });
  expect(uni.content.matches).toEqual(['alpha']);
  expect(uni.content.cursor_start).toBe(10);
  const ins = await d.call('inspect', { code: 'mulberry32(1)', cursor_pos: 3 });
  expect(ins.content.found).toBe(true);
  expect(ins.content.data['text/plain']).toContain('mulberry32(seed: number): Rng');
  expect(ins.content.data['text/plain']).toContain('uniform floats in [0, 1)');
  const insMagic = await d.call('inspect', { code: '%timeit 1', cursor_pos: 2 });
  expect(insMagic.content.data['text/plain']).toContain('mean ± std');
});

test('is_complete, history, comm_info', async () => {
  expect((await d.call('is_complete', { code: 'let a = 1' })).content.status).toBe('complete');
  const inc = (await d.call('is_complete', { code: 'function f() {' })).content;
  expect(inc).toEqual({ status: 'incomplete', indent: '  ' });
  expect((await d.call('is_complete', { code: 'let = = 2' })).content.status).toBe('invalid');
  ok(await d.execute('const histMarker = 99'));
  const tail = (await d.call('history', { hist_access_type: 'tail', n: 1, output: false, raw: true })).content.history;
  expect(tail).toHaveLength(1);
  expect(tail[0][2]).toBe('const histMarker = 99');
  const search = (await d.call('history', { hist_access_type: 'search', pattern: '*histMarker*', output: false, raw: true })).content.history;
  expect(search.map((h: unknown[]) => h[2])).toEqual(['const histMarker = 99']);
  const [session, line] = tail[0];
  const range = (await d.call('history', { hist_access_type: 'range', session, start: line, stop: line + 1, output: false, raw: true })).content.history;
  expect(range).toEqual([[session, line, 'const histMarker = 99']]);
  const comm = await d.call('comm_info');
  expect(comm.content).toEqual({ status: 'ok', comms: {} });
});

test('%reset forgets definitions; restart gives a fresh process', async () => {
  ok(await d.execute('const gone = 1'));
  const r = ok(await d.execute('%reset -f'));
  expect(streamText(r)).toMatch(/Session reset: \d+ variables removed/);
  const after = await d.execute('gone');
  expect(errorOf(after)!.evalue).toContain("Cannot find name 'gone'");
  expect(resultText(ok(await d.execute('typeof mulberry32')))).toBe("'function'");

  ok(await d.execute('const beforeRestart = 1'));
  expect((await d.call('is_alive')).alive).toBe(true);
  const rs = await d.call('restart');
  expect(rs.pid).not.toBe(rs.old_pid);
  // The old kernel honoured shutdown_request(restart) promptly instead of being killed after jupyter_client's wait.
  expect(rs.shutdown_seconds).toBeLessThan(4);
  const c = await d.execute('beforeRestart');
  expect(errorOf(c)!.evalue).toContain("Cannot find name 'beforeRestart'");
  const fresh = ok(await d.execute('1 + 1'));
  expect(resultText(fresh)).toBe('2');
});
