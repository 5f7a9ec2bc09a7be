/**
 * Magic argument parsing: shell-like tokens (quotes, backslash escapes), `--flag value`, `--flag=value`, `-a value`,
 * boolean flags (`--flag`, `--no-flag`, `--flag=false`), positionals, `--` to end options, all checked against the
 * magic's declared ArgSpec list. Errors are InputErrors naming the nearest valid choice.
 */
import { InputError } from '../../src/common/errors';
import { closestMatch } from '../../src/common/suggest';
import type { ArgSpec, MagicSpec, ParsedArgs } from './types';

export function tokenize(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inToken = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += ch;
      inToken = true;
    }
  }
  if (quote) throw new InputError(`unclosed ${quote} quote in magic arguments; close it or escape it with \\`);
  if (inToken) out.push(cur);
  return out;
}

const NUMERIC_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;

function flagName(spec: ArgSpec): string {
  return spec.positional ? `<${spec.name}>` : `--${spec.name}`;
}

function convert(magic: string, spec: ArgSpec, raw: string, prev: ParsedArgs[string]): ParsedArgs[string] {
  const where = `%${magic} ${flagName(spec)}`;
  switch (spec.type) {
    case 'string':
      return raw;
    case 'number':
    case 'int': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new InputError(`${where} expects a number, got '${raw}'`);
      if (spec.type === 'int' && !Number.isInteger(v)) throw new InputError(`${where} expects a whole number, got '${raw}'`);
      if (spec.min !== undefined && v < spec.min) throw new InputError(`${where} must be at least ${spec.min}, got ${raw}`);
      if (spec.max !== undefined && v > spec.max) throw new InputError(`${where} must be at most ${spec.max}, got ${raw}`);
      return v;
    }
    case 'boolean': {
      const l = raw.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(l)) return true;
      if (['false', 'no', 'off', '0'].includes(l)) return false;
      throw new InputError(`${where} is a switch: use ${flagName(spec)} or --no-${spec.name} (got '${raw}')`);
    }
    case 'enum': {
      const choices = spec.choices ?? [];
      if (choices.includes(raw)) return raw;
      const near = closestMatch(raw, choices);
      throw new InputError(`${where}: '${raw}' is not one of ${choices.join(', ')}${near ? `; did you mean '${near}'?` : ''}`);
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (spec.choices) {
        for (const it of items) {
          if (!spec.choices.includes(it)) {
            const near = closestMatch(it, spec.choices);
            throw new InputError(`${where}: '${it}' is not one of ${spec.choices.join(', ')}${near ? `; did you mean '${near}'?` : ''}`);
          }
        }
      }
      return [...(Array.isArray(prev) ? prev : []), ...items];
    }
  }
}

/** Parse a magic's argument text against its declared schema; defaults filled, required arguments checked. */
export function parseArgs(magic: MagicSpec, text: string): ParsedArgs {
  const tokens = tokenize(text);
  const out: ParsedArgs = {};
  const flags = magic.args.filter((a) => !a.positional);
  const positionals = magic.args.filter((a) => a.positional);
  const byName = new Map(flags.map((a) => [a.name, a]));
  const byAlias = new Map(flags.filter((a) => a.alias).map((a) => [a.alias as string, a]));
  const flagNames = flags.map((a) => `--${a.name}`);
  let pos = 0;
  let optionsDone = false;
  const unknown = (tok: string): never => {
    const near = closestMatch(tok.replace(/=.*$/, ''), flagNames);
    const valid = flagNames.length ? `valid options: ${flagNames.join(', ')}` : `%${magic.name} takes no options`;
    throw new InputError(`%${magic.name}: unknown option ${tok.replace(/=.*$/, '')}${near ? `; did you mean ${near}?` : `; ${valid}`}`);
  };
  const addPositional = (tok: string): void => {
    const spec = positionals[pos];
    if (!spec) {
      const last = positionals[positionals.length - 1];
      if (last?.type === 'list') {
        out[last.name] = convert(magic.name, last, tok, out[last.name]);
        return;
      }
      throw new InputError(
        `%${magic.name}: unexpected argument '${tok}'${positionals.length ? ` (it takes ${positionals.map(flagName).join(' ')})` : ' (it takes no positional arguments)'}; see %${magic.name}?`,
      );
    }
    out[spec.name] = convert(magic.name, spec, tok, out[spec.name]);
    if (spec.type !== 'list') pos++;
  };
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (optionsDone || tok === '-' || !tok.startsWith('-') || NUMERIC_RE.test(tok)) {
      addPositional(tok);
      continue;
    }
    if (tok === '--') {
      optionsDone = true;
      continue;
    }
    let spec: ArgSpec | undefined;
    let inline: string | undefined;
    let negated = false;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const name = eq >= 0 ? tok.slice(2, eq) : tok.slice(2);
      inline = eq >= 0 ? tok.slice(eq + 1) : undefined;
      spec = byName.get(name);
      if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean' && inline === undefined) {
        spec = byName.get(name.slice(3));
        negated = true;
      }
    } else {
      const eq = tok.indexOf('=');
      spec = byAlias.get(eq >= 0 ? tok.slice(1, eq) : tok.slice(1));
      inline = eq >= 0 ? tok.slice(eq + 1) : undefined;
    }
    if (!spec) unknown(tok);
    const s = spec as ArgSpec;
    if (s.type === 'boolean') {
      out[s.name] = negated ? false : inline === undefined ? true : convert(magic.name, s, inline, undefined);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= tokens.length) throw new InputError(`%${magic.name} --${s.name} needs a value (${s.help})`);
      value = tokens[++i];
    }
    out[s.name] = convert(magic.name, s, value, out[s.name]);
  }
  for (const a of magic.args) {
    if (out[a.name] === undefined && a.default !== undefined) out[a.name] = Array.isArray(a.default) ? [...a.default] : a.default;
    if (out[a.name] === undefined && a.required) {
      throw new InputError(`%${magic.name}: missing ${a.positional ? `argument ${flagName(a)}` : `option --${a.name}`} (${a.help}); usage: ${usage(magic)}`);
    }
  }
  return out;
}

/** One-line usage, e.g. `%writefile [--append] <path>`. */
export function usage(magic: MagicSpec): string {
  const parts = magic.args.map((a) => {
    const core = a.positional
      ? `<${a.name}>`
      : a.type === 'boolean'
        ? `--${a.name}`
        : `--${a.name} ${a.type === 'enum' && a.choices ? a.choices.join('|') : a.type === 'list' ? 'a,b,…' : `<${a.type}>`}`;
    return a.required ? core : `[${core}]`;
  });
  const prefix = magic.kind === 'cell' ? '%%' : '%';
  return [`${prefix}${magic.name}`, ...parts].join(' ');
}
