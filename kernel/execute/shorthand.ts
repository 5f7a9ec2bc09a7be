/**
 * Work around a tslab converter bug: in `{ a }` (a shorthand property) where `a` was declared in an earlier cell, tslab
 * does not rewrite `a` to `exports.a` as it does everywhere else, so the cell throws "a is not defined". We expand
 * every shorthand property `{ a }` to `{ a: a }` before conversion: the same program in every case, so it is safe to
 * apply without knowing which names are previous declarations. Shorthands with a default (`{ a = 1 } = o`, only valid
 * as assignment targets) are left alone. Only the columns after an expansion on the same line move, by `len(a) + 2`.
 */
import type * as TS from '@tslab/typescript-for-tslab';

export function expandShorthandProperties(src: string): string {
  if (!src.includes('{')) return src;
  // Loaded on first use so kernel startup does not pay for the TypeScript compiler.
  const ts = require('@tslab/typescript-for-tslab') as typeof TS;
  const file = ts.createSourceFile('cell.ts', src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const inserts: Array<{ pos: number; text: string }> = [];
  const visit = (node: TS.Node): void => {
    if (ts.isShorthandPropertyAssignment(node) && !node.objectAssignmentInitializer) {
      inserts.push({ pos: node.name.getEnd(), text: `: ${node.name.text}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (inserts.length === 0) return src;
  let out = src;
  for (const ins of inserts.sort((a, b) => b.pos - a.pos)) out = out.slice(0, ins.pos) + ins.text + out.slice(ins.pos);
  return out;
}
