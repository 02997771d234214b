#!/usr/bin/env node
// Prints the C files of the copied core (deps/managedws/src/*/),
// relative to the package folder, one per line: binding.gyp reads them with
// <!@(...), so a file added to the core needs no edit here.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const base = path.join('deps', 'managedws', 'src');
const src = path.join(here, base);
if (!fs.existsSync(src)) {
  process.stderr.write(`managedws: ${src} is missing (the package ships it; in the repository scripts/build.js copies it)\n`);
  process.exit(1);
}
const out = [];
for (const layer of fs.readdirSync(src).sort()) {
  const dir = path.join(src, layer);
  if (!fs.statSync(dir).isDirectory()) continue;
  for (const f of fs.readdirSync(dir).sort()) {
    if (f.endsWith('.c')) out.push(path.posix.join('deps', 'managedws', 'src', layer, f));
  }
}
process.stdout.write(out.join('\n') + '\n');
