/** In-process tests of the kernel's pure parts: magic parsing, cell splitting, help, history, wire format, tables. */
import { createHmac } from 'crypto';
import { parseArgs, tokenize, usage } from '../../kernel/magics/parser';
import { splitCell } from '../../kernel/magics/cell';
import { MagicRegistry } from '../../kernel/magics/registry';
import { formatHelp, formatLsmagic } from '../../kernel/magics/help';
import { magics as builtin } from '../../kernel/magics/builtin';
import type { MagicSpec } from '../../kernel/magics/types';
import { History } from '../../kernel/session/history';
import { codePointToUtf16, utf16ToCodePoint } from '../../kernel/session/codepoints';
import { Signer, parseMessage, serializeMessage, makeHeader, DELIMITER } from '../../kernel/protocol/wire';
import { table } from '../../kernel/display/helpers';
import { mapToCell } from '../../kernel/execute/errors';
import { InputError } from '../../src/common/errors';

const spec: MagicSpec = {
  name: 'train',
  kind: 'both',
  summary: 'train a model',
  args: [
    { name: 'model', type: 'string', positional: true, required: true, help: 'variable holding the model' },
    { name: 'epochs', type: 'int', min: 1, max: 100, default: 5, help: 'epochs' },
    { name: 'lr', type: 'number', help: 'learning rate' },
    { name: 'optimizer', type: 'enum', choices: ['adam', 'sgd', 'rmsprop'], default: 'adam', help: 'optimizer' },
    { name: 'metrics', type: 'list', choices: ['accuracy', 'loss', 'f1'], help: 'metrics' },
    { name: 'verbose', alias: 'v', type: 'boolean', default: false, help: 'print every batch' },
    { name: 'out', alias: 'o', type: 'string', help: 'result variable' },
  ],
  run: () => undefined,
};

describe('magic argument parser', () => {
  test('tokenize handles quotes and escapes', () => {
    expect(tokenize(`a "b c" 'd e' f\\ g "h\\"i"`)).toEqual(['a', 'b c', 'd e', 'f g', 'h"i']);
    expect(tokenize('  ')).toEqual([]);
    expect(tokenize('x ""')).toEqual(['x', '']);
    expect(() => tokenize('"open')).toThrow(/unclosed " quote/);
  });

  test('flags, =values, aliases, booleans, lists, defaults, positionals', () => {
    expect(parseArgs(spec, 'net --epochs 3 --lr=0.01 -v --metrics accuracy,f1 --metrics loss -o res')).toEqual({
      model: 'net',
      epochs: 3,
      lr: 0.01,
      verbose: true,
      metrics: ['accuracy', 'f1', 'loss'],
      out: 'res',
      optimizer: 'adam',
    });
    expect(parseArgs(spec, '--no-verbose "my model" --lr -0.5').verbose).toBe(false);
    expect(parseArgs(spec, '--no-verbose "my model" --lr -0.5').model).toBe('my model');
    expect(parseArgs(spec, '--no-verbose "my model" --lr -0.5').lr).toBe(-0.5);
    expect(parseArgs(spec, 'm --verbose=false').verbose).toBe(false);
    expect(parseArgs(spec, '-- --weird').model).toBe('--weird');
  });

  test('errors name the problem and the nearest valid choice', () => {
    const err = (text: string): string => {
      try {
        parseArgs(spec, text);
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(err('m --epoch 3')).toContain('did you mean --epochs?');
    expect(err('m --optimizer adma')).toContain("did you mean 'adam'?");
    expect(err('m --metrics acc')).toContain("did you mean 'accuracy'?");
    expect(err('m --epochs 0')).toContain('at least 1');
    expect(err('m --epochs 2.5')).toContain('whole number');
    expect(err('m --lr fast')).toContain('expects a number');
    expect(err('--epochs 3')).toContain('missing argument <model>');
    expect(err('m extra')).toContain("unexpected argument 'extra'");
    expect(err('m --lr')).toContain('--lr needs a value');
    expect(err('m --verbose=maybe')).toContain('--no-verbose');
  });

  test('usage and help are generated from the declaration', () => {
    expect(usage(spec)).toBe('%train <model> [--epochs <int>] [--lr <number>] [--optimizer adam|sgd|rmsprop] [--metrics a,b,…] [--verbose] [--out <string>]');
    const h = formatHelp(spec);
    expect(h).toContain('--verbose, -v');
    expect(h).toContain('one of adam|sgd|rmsprop, default adam');
    expect(h).toContain('1..100');
  });
});

describe('cells and registry', () => {
  test('splitCell: line magics between TypeScript chunks keep their line numbers', () => {
    const s = splitCell('const a = 1\n%time a + 1\n\nlet b = 2\n%who');
    expect(s.cellMagic).toBeUndefined();
    expect(s.segments).toEqual([
      { kind: 'code', code: 'const a = 1', line: 0 },
      { kind: 'magic', name: 'time', args: 'a + 1', line: 1, help: false },
      { kind: 'code', code: '\nlet b = 2', line: 2 },
      { kind: 'magic', name: 'who', args: '', line: 4, help: false },
    ]);
    expect(splitCell('\n%%writefile -a x.txt\nline1\n%not-a-magic').cellMagic).toEqual({ name: 'writefile', args: '-a x.txt', body: 'line1\n%not-a-magic', help: false });
    expect(splitCell('%timeit?').segments[0]).toMatchObject({ kind: 'magic', name: 'timeit', help: true });
  });

  test('registry lookups suggest the nearest magic; lsmagic lists every family', () => {
    const reg = new MagicRegistry({ builtin, training: [spec] });
    expect(reg.lookup('train', 'line').name).toBe('train');
    expect(() => reg.lookup('trian', 'line')).toThrow(/did you mean %train\?/);
    expect(() => reg.lookup('writefile', 'line')).toThrow(/cell magic; write it as %%writefile/);
    expect(reg.names('cell')).toEqual(['time', 'timeit', 'train', 'writefile']);
    const ls = formatLsmagic(reg);
    expect(ls).toContain('training:');
    expect(ls).toContain('%train');
    const dup = new MagicRegistry({ a: [spec], b: [spec] });
    expect(dup.conflicts).toEqual(["%train is declared by both 'a' and 'b'"]);
  });
});

describe('history', () => {
  test('tail, range, search with unique and n', () => {
    const h = new History(3);
    ['a = 1', 'b = 2', 'a = 1', 'print(a)'].forEach((c, i) => h.add(i + 1, c));
    h.setOutput(4, '1');
    expect(h.query({ hist_access_type: 'tail', n: 2 })).toEqual([[3, 3, 'a = 1'], [3, 4, 'print(a)']]);
    expect(h.query({ hist_access_type: 'tail', n: 1, output: true })).toEqual([[3, 4, ['print(a)', '1']]]);
    expect(h.query({ hist_access_type: 'range', session: 0, start: 2, stop: 4 })).toEqual([[3, 2, 'b = 2'], [3, 3, 'a = 1']]);
    expect(h.query({ hist_access_type: 'search', pattern: 'a*' }).length).toBe(2);
    expect(h.query({ hist_access_type: 'search', pattern: 'a*', unique: true })).toEqual([[3, 3, 'a = 1']]);
    expect(h.query({ hist_access_type: 'search', pattern: '*', n: 3 }).length).toBe(3);
  });
});

describe('wire format', () => {
  const key = 'secret-key';
  const signer = new Signer(key);
  test('serialize → parse round trip; signature matches an independent HMAC', () => {
    const header = makeHeader('execute_request', 'sess');
    const frames = serializeMessage(signer, [Buffer.from('id1')], header, {}, { code: '1+1' });
    expect(frames[1].equals(DELIMITER)).toBe(true);
    const h = createHmac('sha256', key);
    frames.slice(3, 7).forEach((f) => h.update(f));
    expect(frames[2].toString()).toBe(h.digest('hex'));
    const parsed = parseMessage(frames, signer);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.message.identities.map(String)).toEqual(['id1']);
      expect(parsed.message.content).toEqual({ code: '1+1' });
      expect(parsed.message.header.msg_type).toBe('execute_request');
    }
  });
  test('bad signature, missing signature, bad JSON, missing delimiter are rejected with reasons', () => {
    const frames = serializeMessage(signer, [], makeHeader('kernel_info_request', 's'), {}, {});
    const forged = [...frames];
    forged[1] = Buffer.from('0'.repeat(64));
    expect(parseMessage(forged, signer)).toMatchObject({ ok: false, reason: 'bad signature' });
    const unsigned = [...frames];
    unsigned[1] = Buffer.from('');
    expect(parseMessage(unsigned, signer)).toMatchObject({ ok: false, reason: 'missing signature' });
    expect(parseMessage([Buffer.from('x')], signer)).toMatchObject({ ok: false, reason: 'no <IDS|MSG> delimiter' });
    const noKey = new Signer('');
    const bad = [DELIMITER, Buffer.from(''), Buffer.from('{'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')];
    expect(parseMessage(bad, noKey)).toMatchObject({ ok: false });
    expect((parseMessage(bad, noKey) as { reason: string }).reason).toMatch(/^invalid JSON in header/);
  });
});

describe('display helpers and error positions', () => {
  test('table: HTML rows, aligned text, numbers right-aligned', () => {
    const b = table([{ model: 'cnn', acc: 0.91234 }, { model: 'mlp', acc: 0.8 }]);
    expect((b.data['text/html'] as string).match(/<tr>/g)!.length).toBe(3);
    expect(b.data['text/plain']).toBe(['model     acc', '-----  ------', 'cnn    0.9123', 'mlp    0.8000'].join('\n'));
  });
  test('code points vs UTF-16', () => {
    const s = 'a😀b';
    expect(codePointToUtf16(s, 2)).toBe(3);
    expect(utf16ToCodePoint(s, 3)).toBe(2);
  });
  test('mapToCell finds the TypeScript line and column of a JS frame', () => {
    const ts = 'type T = { a: number }\n\nfunction f(t: T): number {\n  return t.a.toFixed(2) as unknown as number\n}';
    const js = '(function (exports, require) { Object.defineProperty(exports, "__esModule", { value: true });\nfunction f(t) {\n    return t.a.toFixed(2);\n}\n})()';
    expect(mapToCell({ label: 'c', ts, js }, 3, 'return t.a.toFixed(2)'.indexOf('toFixed') + 5)).toEqual({ line: 4, column: '  return t.a.toFixed'.indexOf('toFixed') + 1 });
  });
});
