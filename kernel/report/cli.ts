/** `tinylab report executed.ipynb -o report.html`: render an executed notebook as a self-contained HTML report. */
import * as fs from 'fs';
import * as path from 'path';
import { InputError, TinylabError } from '../../src/common/errors';
import { readNotebook } from '../run/notebook';
import { renderReport } from './render';
import { addStaticCharts } from './static-charts';

export const REPORT_USAGE = `usage: tinylab report NOTEBOOK.ipynb [-o REPORT.html] [--title TEXT] [--static]

Render an executed notebook as one self-contained HTML file (works offline).

options:
  -o, --output FILE   where to write (default: NOTEBOOK.html beside the input)
      --title TEXT    title (default: the notebook's first heading)
      --static        static chart images only (no inlined vega scripts; a smaller file)
  -h, --help          this help`;

export async function run(argv: string[]): Promise<number> {
  let input: string | undefined;
  let output: string | undefined;
  let title: string | undefined;
  let staticOnly = false;
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      const value = (): string => {
        const v = argv[++i];
        if (v === undefined) throw new InputError(`option ${a} needs a value (see tinylab report --help)`);
        return v;
      };
      if (a === '-h' || a === '--help') {
        process.stdout.write(REPORT_USAGE + '\n');
        return 0;
      } else if (a === '-o' || a === '--output') output = value();
      else if (a === '--title') title = value();
      else if (a === '--static') staticOnly = true;
      else if (a.startsWith('-')) throw new InputError(`unknown option '${a}' (see tinylab report --help)`);
      else if (input) throw new InputError(`one notebook at a time: got '${input}' and '${a}'`);
      else input = a;
    }
    if (!input) throw new InputError('which notebook? usage: tinylab report NOTEBOOK.ipynb -o report.html');
    const nb = readNotebook(input);
    const out = output ?? path.join(path.dirname(input), path.basename(input).replace(/\.ipynb$/i, '') + '.html');
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    await addStaticCharts(nb);
    fs.writeFileSync(out, renderReport(nb, { title, staticOnly }));
    return 0;
  } catch (err) {
    if (err instanceof TinylabError) {
      process.stderr.write(`tinylab report: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
