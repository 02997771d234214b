#!/usr/bin/env node
// Copies the C core the addon compiles (include/ and every folder of src/ in
// the repository) and the repository's LICENSE into this package folder, so the
// packed tarball carries everything it builds from: deps/managedws/ and
// LICENSE are gitignored copies, refreshed on every build in the repository
// (scripts/build.js) and by `npm pack` (prepack).
//
//   node scripts/copy-core.js      # fails outside the repository
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const repo = path.resolve(here, '..', '..');
const dest = path.join(here, 'deps', 'managedws');

/** True when this package folder is bindings/node of a managedws checkout. */
function inRepository() {
  const marker = path.join(repo, 'include', 'managedws.h');
  const self = path.join(repo, 'bindings', 'node');
  return fs.existsSync(marker) && fs.existsSync(self) && fs.realpathSync(self) === fs.realpathSync(here);
}

function copyCore() {
  if (!inRepository()) {
    throw new Error(`managedws: ${here} is not bindings/node of a managedws checkout; nothing to copy the C core from`);
  }
  // Start empty: a source file removed from the repository must not linger.
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(path.join(dest, 'include'), { recursive: true });
  let n = 0;
  for (const f of fs.readdirSync(path.join(repo, 'include'))) {
    if (!f.endsWith('.h')) continue;
    fs.copyFileSync(path.join(repo, 'include', f), path.join(dest, 'include', f));
    n++;
  }
  const layers = fs.readdirSync(path.join(repo, 'src'), { withFileTypes: true })
    .filter((d) => d.isDirectory()).map((d) => d.name);
  for (const layer of layers) {
    const from = path.join(repo, 'src', layer);
    const to = path.join(dest, 'src', layer);
    fs.mkdirSync(to, { recursive: true });
    for (const f of fs.readdirSync(from)) {
      if (!/\.[ch]$/.test(f)) continue;
      fs.copyFileSync(path.join(from, f), path.join(to, f));
      n++;
    }
  }
  fs.copyFileSync(path.join(repo, 'LICENSE'), path.join(here, 'LICENSE'));
  return n;
}

module.exports = { inRepository, copyCore, dest };

if (require.main === module) {
  const n = copyCore();
  process.stderr.write(`managedws: copied ${n} C files of the core into ${path.relative(here, dest)}/\n`);
}
