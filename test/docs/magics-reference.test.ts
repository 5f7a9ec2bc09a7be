/**
 * docs/magics.md is generated from the magic registry (`npm run docs:magics`); this test fails when a magic's
 * declaration changes and the committed reference was not regenerated, so the README's reference cannot drift.
 */
import * as fs from 'fs';
import * as path from 'path';
import { magicReferenceMarkdown } from '../../kernel/magics/reference';

test('docs/magics.md matches the registry', () => {
  const committed = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'magics.md'), 'utf8');
  expect(committed.trim()).toBe(magicReferenceMarkdown().trim());
});
