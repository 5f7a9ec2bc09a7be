#!/usr/bin/env node
// Thin launcher: everything lives in the compiled TypeScript (dist/). Run `npm run build` after a fresh clone.
'use strict';
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'kernel', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('tinylab: not built yet; run `npm run build` in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = typeof code === 'number' ? code : 0; },
  (err) => { process.stderr.write('tinylab: ' + (err && err.message ? err.message : String(err)) + '\n'); process.exitCode = 1; },
);
