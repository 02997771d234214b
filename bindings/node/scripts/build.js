#!/usr/bin/env node
// Builds the addon with node-gyp alone, offline: binding.gyp compiles the
// addon and the C core (deps/managedws/, shipped in the package; copied from
// the repository first when building inside a checkout) against the headers
// of the installed Node (--nodedir: no header download). libwebsockets,
// msgpack-c and cJSON come from the system through pkg-config.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { inRepository, copyCore, dest } = require('./copy-core.js');

const here = path.resolve(__dirname, '..');
const PKG_MODULES = ['libwebsockets', 'msgpack', 'libcjson'];

function run(cmd, args, opts = {}) {
  process.stderr.write(`+ ${cmd} ${args.join(' ')}\n`);
  execFileSync(cmd, args, { stdio: 'inherit', cwd: here, ...opts });
}

// Node's headers: $npm_config_nodedir, else the prefix Node runs from
// (/usr for a distribution Node: /usr/include/node/node_api.h).
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local'];
  for (const d of candidates) {
    if (d && fs.existsSync(path.join(d, 'include', 'node', 'node_api.h'))) return d;
  }
  throw new Error('managedws: cannot find Node headers (include/node/node_api.h); set npm_config_nodedir');
}

function nodeGyp() {
  // npm tells lifecycle scripts where its bundled node-gyp lives.
  const p = process.env.npm_config_node_gyp;
  if (p && fs.existsSync(p)) return [process.execPath, [p]];
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(bundled)) return [process.execPath, [bundled]];
  return ['node-gyp', []];
}

// One clear line instead of a gyp traceback when a system library is missing.
function checkSystemLibraries() {
  try {
    execFileSync('pkg-config', ['--exists', ...PKG_MODULES], { stdio: 'ignore' });
  } catch (e) {
    throw new Error(`managedws: pkg-config does not find ${PKG_MODULES.join(', ')}; ` +
      'install pkg-config and the development packages (Debian: libwebsockets-dev libmsgpack-dev libcjson-dev)');
  }
}

if (inRepository()) copyCore();
if (!fs.existsSync(path.join(dest, 'include', 'managedws.h'))) {
  throw new Error(`managedws: the C core is missing from ${dest} (a packed managedws ships it)`);
}
checkSystemLibraries();
const [gyp, pre] = nodeGyp();
run(gyp, [...pre, 'rebuild', `--nodedir=${nodeDir()}`, '--jobs=2',
  ...(process.env.MWS_NODE_DEBUG ? ['--debug'] : [])]);
