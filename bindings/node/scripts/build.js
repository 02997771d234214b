#!/usr/bin/env node
// Builds the addon from a clean tree with no download: the C core with CMake
// into build-core/libmanagedws_static.a, then the addon with node-gyp against
// the headers of the installed Node (--nodedir: no header download).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
const root = path.resolve(here, '..', '..');
const core = path.join(here, 'build-core');

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

const type = process.env.MWS_NODE_DEBUG ? 'Debug' : 'RelWithDebInfo';
run('cmake', ['-S', root, '-B', core, `-DCMAKE_BUILD_TYPE=${type}`,
  '-DMWS_BUILD_TESTS=OFF', '-DMWS_BUILD_BENCH=OFF', '-DMWS_BUILD_TOOLS=OFF']);
run('cmake', ['--build', core, '--target', 'managedws_static', '--parallel']);
// The server half is wrapped only if the C library has it (it landed after
// the client); the addon's server.c reads this.
const archive = path.join(core, 'libmanagedws_static.a');
const syms = execFileSync('nm', ['-g', '--defined-only', archive], { encoding: 'utf8' });
const hasServer = /\bmws_server_new\b/.test(syms) ? 1 : 0;
fs.writeFileSync(path.join(core, 'mws_node_features.h'),
  `/* written by scripts/build.js */\n#define MWS_NODE_HAS_SERVER ${hasServer}\n`);
const [gyp, pre] = nodeGyp();
run(gyp, [...pre, 'rebuild', `--nodedir=${nodeDir()}`, ...(process.env.MWS_NODE_DEBUG ? ['--debug'] : [])]);
