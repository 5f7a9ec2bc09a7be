/**
 * Papermill-style parameters: `-p name=value` and `-f params.json|yaml` parsed into typed values, and the
 * `injected-parameters` cell that declares them in the kernel's language right after the `parameters` cell.
 */
import * as fs from 'fs';
import * as yaml from 'js-yaml';
import { InputError } from '../../src/common/errors';
import { Cell, Notebook, cellTags, newCellId } from './notebook';

export type ParamValue = string | number | boolean | null | ParamValue[] | { [k: string]: ParamValue };
export type Params = Record<string, ParamValue>;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `value` typed as papermill's -p does: true/false, null, numbers, JSON lists/objects, otherwise the string itself. */
export function parseParamValue(value: string): ParamValue {
  const v = value.trim();
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  if (v === 'null' || v === 'None') return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return Number(v);
  if ((v.startsWith('[') && v.endsWith(']')) || (v.startsWith('{') && v.endsWith('}'))) {
    try {
      return JSON.parse(v) as ParamValue;
    } catch {
      /* not JSON: keep the text */
    }
  }
  return value;
}

/** One `-p name=value` argument. */
export function parseParamArg(arg: string): [string, ParamValue] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new InputError(`bad parameter '${arg}': write -p name=value (for example -p epochs=5)`);
  const name = arg.slice(0, eq).trim();
  if (!IDENT.test(name)) {
    throw new InputError(`bad parameter name '${name}': use a plain identifier (letters, digits, _ or $; not starting with a digit)`);
  }
  return [name, parseParamValue(arg.slice(eq + 1))];
}

/** A JSON or YAML file holding one object of parameters. */
export function readParamsFile(file: string): Params {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new InputError(`cannot read the parameters file ${file} (check the path)`);
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(file) ? yaml.load(text) : JSON.parse(text);
  } catch (err) {
    throw new InputError(`the parameters file ${file} does not parse: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InputError(`the parameters file ${file} must hold one object of name: value pairs`);
  }
  for (const k of Object.keys(data)) {
    if (!IDENT.test(k)) throw new InputError(`bad parameter name '${k}' in ${file}: use a plain identifier`);
  }
  return data as Params;
}

export type ParamLanguage = 'typescript' | 'python';

function tsLiteral(v: ParamValue): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return JSON.stringify(v);
}

function pyLiteral(v: ParamValue): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? "float('nan')" : v > 0 ? "float('inf')" : "float('-inf')";
  if (typeof v === 'string') return JSON.stringify(v); // JSON string escapes are valid Python string escapes
  if (Array.isArray(v)) return '[' + v.map(pyLiteral).join(', ') + ']';
  return '{' + Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(', ') + '}';
}

/**
 * The source of the injected cell. TypeScript uses `const` declarations: tslab (and so the tinylab kernel) accepts a
 * cell re-declaring a name from an earlier cell, and the new declaration's type is the literal's type, so a number
 * stays a number for the cells after it.
 */
export function injectedSource(params: Params, language: ParamLanguage): string {
  const lines = Object.entries(params).map(([k, v]) => (language === 'python' ? `${k} = ${pyLiteral(v)}` : `const ${k} = ${tsLiteral(v)};`));
  const comment = language === 'python' ? '# Parameters' : '// Parameters';
  return [comment + ' injected by `tinylab run`', ...lines].join('\n');
}

export function languageOf(name: string | undefined): ParamLanguage {
  return (name ?? '').toLowerCase().startsWith('python') ? 'python' : 'typescript';
}

/**
 * Insert (or replace) the `injected-parameters` cell: after the cell tagged `parameters`, or first when there is none.
 * Returns the index of the injected cell, or -1 when there are no parameters (nothing is inserted then).
 */
export function injectParameters(nb: Notebook, params: Params, language: ParamLanguage): number {
  // A notebook executed before carries the old injected cell: drop it so values never stack up.
  nb.cells = nb.cells.filter((c) => !cellTags(c).includes('injected-parameters'));
  if (Object.keys(params).length === 0) return -1;
  const cell: Cell = {
    id: newCellId(),
    cell_type: 'code',
    source: injectedSource(params, language),
    metadata: { tags: ['injected-parameters'] },
    outputs: [],
    execution_count: null,
  };
  const at = nb.cells.findIndex((c) => c.cell_type === 'code' && cellTags(c).includes('parameters'));
  const index = at < 0 ? 0 : at + 1;
  nb.cells.splice(index, 0, cell);
  return index;
}
