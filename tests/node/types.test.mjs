// The .d.ts compiles against a usage file written as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pkgDir } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

test('tsc --noEmit on types-usage.ts against index.d.ts', { timeout: 120000 }, () => {
  const tsc = path.join(pkgDir, 'node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(fs.existsSync(tsc), 'typescript is a devDependency of bindings/node: run npm ci there');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(here, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('ESM named imports of the CommonJS package', async () => {
  const m = await import(path.join(pkgDir, 'index.js'));
  assert.equal(typeof m.ManagedWebSocket, 'function');
  assert.equal(typeof m.ManagedWebSocketServer, 'function');
});
