/**
 * `tinylab magics`: the magic reference as Markdown, generated from the same MagicSpec declarations that drive
 * `%lsmagic` and `%name?`, so the README's reference cannot drift from the kernel.
 */
import { MAGIC_FAMILIES } from './families';
import { formatHelp } from './help';
import { MagicRegistry } from './registry';

export function magicReferenceMarkdown(): string {
  const reg = new MagicRegistry(MAGIC_FAMILIES);
  const out: string[] = [];
  for (const family of Object.keys(MAGIC_FAMILIES)) {
    const specs = reg.all().filter((s) => reg.familyOf.get(s.name) === family).sort((a, b) => a.name.localeCompare(b.name));
    if (specs.length === 0) continue;
    out.push(`### ${family}`, '');
    for (const s of specs) {
      const prefix = s.kind === 'cell' ? '%%' : '%';
      out.push(`<details><summary><code>${prefix}${s.name}</code> — ${s.summary}</summary>`, '', '```', formatHelp(s), '```', '', '</details>', '');
    }
  }
  return out.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: tinylab magics\n\nPrint the reference of every preloaded magic as Markdown.\n');
    return 0;
  }
  process.stdout.write(magicReferenceMarkdown() + '\n');
  return 0;
}
