/** Help generated from the MagicSpec declarations: `%lsmagic`, `%name?`, `%help name`. */
import type { MagicSpec } from './types';
import type { MagicRegistry } from './registry';
import { usage } from './parser';

function argLine(a: MagicSpec['args'][number]): string {
  const name = a.positional ? `<${a.name}>` : `--${a.name}${a.alias ? `, -${a.alias}` : ''}`;
  const facts: string[] = [a.type === 'enum' ? `one of ${(a.choices ?? []).join('|')}` : a.type];
  if (a.type === 'list' && a.choices) facts.push(`items from ${a.choices.join('|')}`);
  if (a.min !== undefined || a.max !== undefined) facts.push(`${a.min ?? '-∞'}..${a.max ?? '∞'}`);
  if (a.required) facts.push('required');
  if (a.default !== undefined) facts.push(`default ${Array.isArray(a.default) ? a.default.join(',') : String(a.default)}`);
  return `  ${name.padEnd(24)} ${a.help} (${facts.join(', ')})`;
}

export function formatHelp(spec: MagicSpec): string {
  const lines = [`${usage(spec)}`, '', spec.summary];
  if (spec.kind === 'both') lines.push(`(also as a cell magic: %%${spec.name} … with the cell body below)`);
  if (spec.args.length) lines.push('', 'Arguments:', ...spec.args.map(argLine));
  if (spec.help) lines.push('', spec.help.trim());
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

export function formatLsmagic(reg: MagicRegistry): string {
  const byFamily = new Map<string, MagicSpec[]>();
  for (const s of reg.all()) {
    const fam = reg.familyOf.get(s.name) ?? 'other';
    byFamily.set(fam, [...(byFamily.get(fam) ?? []), s]);
  }
  const line = reg.names('line').map((n) => `%${n}`);
  const cell = reg.names('cell').map((n) => `%%${n}`);
  const out = [`Available line magics:\n${line.join('  ')}`, '', `Available cell magics:\n${cell.join('  ')}`, ''];
  for (const [fam, specs] of byFamily) {
    out.push(`${fam}:`);
    for (const s of specs.sort((a, b) => a.name.localeCompare(b.name))) {
      const prefix = s.kind === 'cell' ? '%%' : '%';
      out.push(`  ${(prefix + s.name).padEnd(16)} ${s.summary}`);
    }
  }
  out.push('', 'Type %name? or %help name for a magic\'s arguments and examples.');
  return out.join('\n');
}
