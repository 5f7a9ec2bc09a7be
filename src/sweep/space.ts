/**
 * Search spaces: the parameters a sweep varies, their encoding to the unit cube the optimizers work in, and the
 * `%%sweep` body syntax (`learningRate: loguniform(1e-4, 1e-1)`, `filters: int(4, 64)`, `activation: choice(relu, relu6)`).
 *
 * Encoding: uniform → 1 dim (linear), loguniform → 1 dim (log), int → 1 dim (rounded on decode; log for logint),
 * choice → one dim per value (one-hot, argmax on decode), fixed → no dim. `snap(u)` = encode(decode(u)) gives the
 * canonical point the objective would actually see, so the acquisition is evaluated where the trial would run.
 */
import { InputError } from '../common/errors';
import { closestMatch } from '../common/suggest';
import type { Rng } from '../common/rng';

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

export type ParamSpec =
  | { type: 'uniform'; low: number; high: number }
  | { type: 'loguniform'; low: number; high: number }
  | { type: 'int'; low: number; high: number; log?: boolean }
  | { type: 'choice'; values: ParamValue[] }
  | { type: 'fixed'; value: ParamValue };

/** Plain description of a space, name → spec, in declaration order. */
export type SpaceSpec = Record<string, ParamSpec>;

const DISTRIBUTIONS = ['uniform', 'loguniform', 'int', 'logint', 'choice', 'fixed'] as const;

/** Helpers for the TS API: `space({ lr: loguniform(1e-4, 1e-1), filters: int(4, 64) })`. */
export const uniform = (low: number, high: number): ParamSpec => ({ type: 'uniform', low, high });
export const loguniform = (low: number, high: number): ParamSpec => ({ type: 'loguniform', low, high });
export const int = (low: number, high: number, opts: { log?: boolean } = {}): ParamSpec => ({ type: 'int', low, high, log: opts.log });
export const choice = (...values: ParamValue[]): ParamSpec => ({ type: 'choice', values });
export const fixed = (value: ParamValue): ParamSpec => ({ type: 'fixed', value });

interface DimInfo {
  name: string;
  spec: ParamSpec;
  /** First encoded column and how many (0 for fixed). */
  offset: number;
  width: number;
}

export class SearchSpace {
  readonly names: string[];
  readonly dims: DimInfo[];
  /** Width of the encoded vector. */
  readonly size: number;

  constructor(readonly spec: SpaceSpec) {
    this.names = Object.keys(spec);
    if (this.names.length === 0) throw new InputError('the search space is empty: declare at least one parameter, e.g. `lr: loguniform(1e-4, 1e-1)`');
    let offset = 0;
    this.dims = this.names.map((name) => {
      const s = spec[name];
      validateSpec(name, s);
      const width = s.type === 'fixed' ? 0 : s.type === 'choice' ? (s.values.length > 1 ? s.values.length : 0) : s.low === s.high ? 0 : 1;
      const d = { name, spec: s, offset, width };
      offset += width;
      return d;
    });
    this.size = offset;
  }

  /** Number of distinct points when every parameter is discrete, else Infinity. */
  cardinality(): number {
    let n = 1;
    for (const d of this.dims) {
      const s = d.spec;
      if (s.type === 'choice') n *= s.values.length;
      else if (s.type === 'int') n *= s.high - s.low + 1;
      else if (s.type !== 'fixed' && d.width > 0) return Infinity;
    }
    return n;
  }

  /** Unit-cube vector → parameter values (ints rounded, choices by argmax). */
  decode(u: ArrayLike<number>): Params {
    const p: Params = {};
    for (const d of this.dims) {
      const s = d.spec;
      const x = d.width > 0 ? clamp01(u[d.offset]) : 0;
      switch (s.type) {
        case 'fixed':
          p[d.name] = s.value;
          break;
        case 'uniform':
          p[d.name] = s.low + x * (s.high - s.low);
          break;
        case 'loguniform':
          p[d.name] = Math.exp(Math.log(s.low) + x * (Math.log(s.high) - Math.log(s.low)));
          break;
        case 'int': {
          const v = s.log ? Math.exp(Math.log(s.low) + x * (Math.log(s.high) - Math.log(s.low))) : s.low + x * (s.high - s.low);
          p[d.name] = Math.min(s.high, Math.max(s.low, Math.round(v)));
          break;
        }
        case 'choice': {
          if (d.width === 0) {
            p[d.name] = s.values[0];
            break;
          }
          let best = 0;
          for (let k = 1; k < d.width; k++) if (u[d.offset + k] > u[d.offset + best]) best = k;
          p[d.name] = s.values[best];
          break;
        }
      }
    }
    return p;
  }

  /** Parameter values → canonical unit-cube vector. */
  encode(p: Params): number[] {
    const u = new Array<number>(this.size).fill(0);
    for (const d of this.dims) {
      if (d.width === 0) continue;
      const s = d.spec;
      const v = p[d.name];
      if (v === undefined) throw new InputError(`parameter '${d.name}' is missing from ${JSON.stringify(p)}`);
      switch (s.type) {
        case 'uniform':
          u[d.offset] = (Number(v) - s.low) / (s.high - s.low);
          break;
        case 'loguniform':
          u[d.offset] = (Math.log(Number(v)) - Math.log(s.low)) / (Math.log(s.high) - Math.log(s.low));
          break;
        case 'int':
          u[d.offset] = s.log
            ? (Math.log(Number(v)) - Math.log(s.low)) / (Math.log(s.high) - Math.log(s.low))
            : (Number(v) - s.low) / (s.high - s.low);
          break;
        case 'choice': {
          const k = s.values.findIndex((c) => c === v || String(c) === String(v));
          if (k < 0) throw new InputError(`parameter '${d.name}' = ${JSON.stringify(v)} is not one of ${s.values.map(String).join(', ')}`);
          u[d.offset + k] = 1;
          break;
        }
        default:
          break;
      }
    }
    return u.map(clamp01);
  }

  /** The point a trial would actually run at, in encoded form (integers rounded, one-hot canonical). */
  snap(u: ArrayLike<number>): number[] {
    return this.encode(this.decode(u));
  }

  /** Which encoded columns are one-hot columns of a choice (the GP gives those their own length-scale prior). */
  choiceMask(): boolean[] {
    const mask = new Array<boolean>(this.size).fill(false);
    for (const d of this.dims) if (d.spec.type === 'choice') for (let k = 0; k < d.width; k++) mask[d.offset + k] = true;
    return mask;
  }

  /** A uniformly random point (choices uniform over values). */
  sample(rng: Rng): Params {
    const u = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) u[i] = rng();
    return this.decode(u);
  }

  /** Stable identity of a parameter set (for de-duplication). */
  key(p: Params): string {
    return JSON.stringify(this.names.map((n) => {
      const v = p[n];
      return typeof v === 'number' ? Number(v.toPrecision(12)) : v;
    }));
  }

  /** Grid over the space: `levels` values per continuous dim, every int (or `levels` spread ints), every choice. */
  grid(levels: number): Params[] {
    const axes: ParamValue[][] = this.dims.map((d) => {
      const s = d.spec;
      if (s.type === 'fixed') return [s.value];
      if (s.type === 'choice') return s.values.slice();
      if (d.width === 0) return [s.low];
      const vals: ParamValue[] = [];
      if (s.type === 'int' && s.high - s.low + 1 <= levels && !s.log) {
        for (let v = s.low; v <= s.high; v++) vals.push(v);
        return vals;
      }
      const u = new Array<number>(this.size).fill(0);
      for (let i = 0; i < levels; i++) {
        u[d.offset] = levels === 1 ? 0.5 : i / (levels - 1);
        const v = this.decode(u)[d.name];
        if (!vals.includes(v)) vals.push(v);
      }
      return vals;
    });
    const out: Params[] = [];
    const idx = new Array<number>(axes.length).fill(0);
    for (;;) {
      const p: Params = {};
      this.dims.forEach((d, i) => (p[d.name] = axes[i][idx[i]]));
      out.push(p);
      let i = axes.length - 1;
      while (i >= 0 && ++idx[i] === axes[i].length) idx[i--] = 0;
      if (i < 0) break;
    }
    return out;
  }

  /** The body syntax back again (for the store and display). */
  toString(): string {
    return this.names.map((n) => `${n}: ${specToString(this.spec[n])}`).join('\n');
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isFinite(x) ? x : 0;
}

function specToString(s: ParamSpec): string {
  switch (s.type) {
    case 'fixed':
      return `fixed(${String(s.value)})`;
    case 'choice':
      return `choice(${s.values.map(String).join(', ')})`;
    case 'int':
      return `${s.log ? 'logint' : 'int'}(${s.low}, ${s.high})`;
    default:
      return `${s.type}(${s.low}, ${s.high})`;
  }
}

function validateSpec(name: string, s: ParamSpec, where = `parameter '${name}'`): void {
  if (s.type === 'uniform' || s.type === 'loguniform' || s.type === 'int') {
    if (!Number.isFinite(s.low) || !Number.isFinite(s.high)) throw new InputError(`${where}: bounds must be finite numbers, e.g. ${s.type}(1, 10)`);
    if (s.low > s.high) throw new InputError(`${where}: low ${s.low} is above high ${s.high}; write ${s.type}(${s.high}, ${s.low})`);
    if ((s.type === 'loguniform' || (s.type === 'int' && s.log)) && s.low <= 0)
      throw new InputError(`${where}: a log scale needs low > 0 (got ${s.low}); use uniform/int for ranges that include 0`);
    if (s.type === 'int' && (!Number.isInteger(s.low) || !Number.isInteger(s.high)))
      throw new InputError(`${where}: int bounds must be whole numbers (got ${s.low}, ${s.high}); use uniform(...) for real values`);
  } else if (s.type === 'choice') {
    if (s.values.length === 0) throw new InputError(`${where}: choice() needs at least one value, e.g. choice(relu, relu6)`);
  } else if (s.type !== 'fixed') {
    throw new InputError(`${where}: unknown type '${(s as { type: string }).type}'; use one of ${DISTRIBUTIONS.join(', ')}`);
  }
}

/** A bare literal in the body: number, boolean, or string (quotes optional). */
function literal(tok: string): ParamValue {
  const t = tok.trim();
  if (/^(['"]).*\1$/.test(t)) return t.slice(1, -1);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return t;
}

/**
 * Parse a `%%sweep` body: one `name: distribution(args)` per line, `#` comments and blank lines ignored,
 * a bare value (`epochs: 3`) is fixed. Errors name the line and show a correct example.
 */
export function parseSpace(body: string): SearchSpace {
  const spec: SpaceSpec = {};
  const lines = body.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const where = `line ${i + 1} ('${raw.trim()}')`;
    const m = /^([A-Za-z_$][\w$.-]*)\s*[:=]\s*(.+)$/.exec(line);
    if (!m) throw new InputError(`${where}: expected 'name: distribution(args)', e.g. 'learningRate: loguniform(1e-4, 1e-1)'`);
    const [, name, rhs] = m;
    if (name in spec) throw new InputError(`${where}: parameter '${name}' is declared twice`);
    const call = /^([A-Za-z_]\w*)\s*\((.*)\)$/.exec(rhs);
    if (!call) {
      if (/[()]/.test(rhs)) throw new InputError(`${where}: unbalanced parentheses; write e.g. 'filters: int(4, 64)'`);
      spec[name] = { type: 'fixed', value: literal(rhs) };
      return;
    }
    const fn = call[1].toLowerCase();
    const args = call[2].trim() === '' ? [] : call[2].split(',').map((a) => a.trim());
    const nums = (): [number, number] => {
      if (args.length !== 2) throw new InputError(`${where}: ${fn}() takes two numbers (low, high), e.g. ${fn}(1e-4, 1e-1)`);
      const [a, b] = args.map(Number);
      if (!Number.isFinite(a) || !Number.isFinite(b)) throw new InputError(`${where}: ${fn}() bounds must be numbers, got '${args.join(', ')}'`);
      return [a, b];
    };
    let s: ParamSpec;
    switch (fn) {
      case 'uniform':
      case 'range':
      case 'float': {
        const [a, b] = nums();
        s = { type: 'uniform', low: a, high: b };
        break;
      }
      case 'loguniform':
      case 'logfloat':
      case 'log': {
        const [a, b] = nums();
        s = { type: 'loguniform', low: a, high: b };
        break;
      }
      case 'int':
      case 'integer':
      case 'logint': {
        const [a, b] = nums();
        s = { type: 'int', low: a, high: b, log: fn === 'logint' || undefined };
        break;
      }
      case 'choice':
      case 'categorical':
        s = { type: 'choice', values: args.map(literal) };
        break;
      case 'fixed':
        if (args.length !== 1) throw new InputError(`${where}: fixed() takes one value, e.g. fixed(3)`);
        s = { type: 'fixed', value: literal(args[0]) };
        break;
      default: {
        const near = closestMatch(fn, DISTRIBUTIONS);
        throw new InputError(`${where}: unknown distribution '${call[1]}'${near ? ` (did you mean '${near}'?)` : ''}; use one of ${DISTRIBUTIONS.join(', ')}`);
      }
    }
    validateSpec(name, s, where);
    spec[name] = s;
  });
  if (Object.keys(spec).length === 0) throw new InputError('the %%sweep body declares no parameters; add lines like `learningRate: loguniform(1e-4, 1e-1)`');
  return new SearchSpace(spec);
}

/** Accept a SearchSpace, a plain SpaceSpec or body text. */
export function toSpace(s: SearchSpace | SpaceSpec | string): SearchSpace {
  if (s instanceof SearchSpace) return s;
  if (typeof s === 'string') return parseSpace(s);
  return new SearchSpace(s);
}
