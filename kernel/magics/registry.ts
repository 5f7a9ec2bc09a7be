/**
 * The magic registry: every family's MagicSpecs by name, lookups with "did you mean" errors, and the kernel-side
 * context extension built-ins use (run code in the session, list and reset variables).
 */
import { InputError } from '../../src/common/errors';
import { closestMatch } from '../../src/common/suggest';
import type { MagicContext, MagicSpec } from './types';

/** Extra declaration a magic may carry: take its text verbatim (e.g. `%time <code>`) instead of parsed options. */
export interface RawTextMagic {
  /** When true, the first positional argument receives the whole argument text, unparsed. */
  rawArgs?: boolean;
}

export type KernelMagicSpec = MagicSpec & RawTextMagic;

/** What the kernel passes to magics: the MagicContext contract plus session access for the built-ins. */
export interface KernelMagicContext extends MagicContext {
  /** Type-check and run TypeScript in the user's session; returns the last expression's value, throws on error. */
  runCode(code: string): Promise<unknown>;
  /** Names of the user's variables. */
  listVariables(): string[];
  /** Forget every user definition (preloads stay). */
  resetSession(): void;
  registry: MagicRegistry;
}

export function isKernelContext(ctx: MagicContext): ctx is KernelMagicContext {
  return typeof (ctx as Partial<KernelMagicContext>).runCode === 'function';
}

export class MagicRegistry {
  private readonly byName = new Map<string, KernelMagicSpec>();
  readonly familyOf = new Map<string, string>();
  readonly conflicts: string[] = [];

  constructor(families: Record<string, readonly MagicSpec[]>) {
    for (const [family, specs] of Object.entries(families)) {
      for (const spec of specs) {
        if (this.byName.has(spec.name)) {
          // First registration wins (builtin is listed first); report instead of silently shadowing.
          this.conflicts.push(`%${spec.name} is declared by both '${this.familyOf.get(spec.name)}' and '${family}'`);
          continue;
        }
        this.byName.set(spec.name, spec);
        this.familyOf.set(spec.name, family);
      }
    }
  }

  get(name: string): KernelMagicSpec | undefined {
    return this.byName.get(name);
  }

  all(): KernelMagicSpec[] {
    return [...this.byName.values()];
  }

  names(kind?: 'line' | 'cell'): string[] {
    return this.all()
      .filter((s) => !kind || s.kind === 'both' || s.kind === kind)
      .map((s) => s.name)
      .sort();
  }

  /** The spec for `%name` (line) or `%%name` (cell), or an InputError naming the nearest valid magic. */
  lookup(name: string, kind: 'line' | 'cell'): KernelMagicSpec {
    const spec = this.byName.get(name);
    const prefix = kind === 'cell' ? '%%' : '%';
    if (spec && (spec.kind === 'both' || spec.kind === kind)) return spec;
    if (spec) {
      const other = kind === 'cell' ? '%' : '%%';
      throw new InputError(`${prefix}${name} is a ${spec.kind} magic; write it as ${other}${name}`);
    }
    const near = closestMatch(name, this.names(kind));
    throw new InputError(`unknown magic ${prefix}${name}${near ? `; did you mean ${prefix}${near}?` : ''} (%lsmagic lists them all)`);
  }
}
