// Process lifetime, resource leaks and the finalizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mws, pkgDir, startWs, stopWs, nextEvent, waitFor } from './helpers.mjs';

const { ManagedWebSocket, internals } = mws;
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Runs a fixture; resolves {code, out, ms, timedOut} (killed after limitMs). */
function runFixture(name, args, env, limitMs, nodeArgs = []) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [...nodeArgs, path.join(fixtures, name), ...args], {
      env: { ...process.env, MWS_PKG: pkgDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, ms: Date.now() - t0, timedOut });
    });
  });
}

test('a script that exchanges messages and closes exits by itself', async () => {
  const wss = await startWs();
  const r = await runFixture('exchange-and-close.cjs', ['close'], { MWS_URL: wss.url }, 10000);
  assert.equal(r.timedOut, false, `did not exit within 10 s: ${r.out}`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /exchanged/);
  assert.match(r.out, /closed 1000/);
  await stopWs(wss);
});

test('an unref()d connected client lets the process exit; a ref()d one keeps it', async () => {
  const wss = await startWs();
  const r = await runFixture('exchange-and-close.cjs', ['unref'], { MWS_URL: wss.url }, 10000);
  assert.equal(r.timedOut, false, `did not exit within 10 s: ${r.out}`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /exchanged/);
  const k = await runFixture('exchange-and-close.cjs', ['keep'], { MWS_URL: wss.url }, 1500);
  assert.equal(k.timedOut, true, 'a connected client should keep the process alive');
  assert.match(k.out, /exchanged/);
  await stopWs(wss);
});

test('idle and failed clients do not keep the process alive', async () => {
  const wss = await startWs({ echo: false });
  wss.on('connection', (s) => s.close(4100, 'go away'));
  const r = await runFixture('idle-clients.cjs', [], { MWS_URL: wss.url }, 10000);
  assert.equal(r.timedOut, false, `did not exit within 10 s: ${r.out}`);
  assert.equal(r.code, 0, r.out);
  await stopWs(wss);
});

test('objects dropped without close() are freed by the finalizer (--expose-gc)', async () => {
  const wss = await startWs();
  const r = await runFixture('gc-finalizer.cjs', [], { MWS_URL: wss.url }, 30000, ['--expose-gc']);
  assert.equal(r.timedOut, false, r.out);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /idle collected/);
  assert.match(r.out, /unrefd collected/);
  assert.match(r.out, /pinned kept, then freed/);
  await waitFor(() => wss.clients.size === 0, 5000, 'the server to see every connection closed');
  await stopWs(wss);
});

test('a script with our server and client exits by itself; dropped servers are collected', async () => {
  const r = await runFixture('server-roundtrip.cjs', ['gc'], {}, 10000, ['--expose-gc']);
  assert.equal(r.timedOut, false, `did not exit within 10 s: ${r.out}`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /done/);
  assert.match(r.out, /servers collected/);
});

test('environment teardown with clients and a server still open (workers, process.exit)', async () => {
  const wss = await startWs();
  const r = await runFixture('worker-teardown.cjs', [], { MWS_URL: wss.url }, 20000);
  assert.equal(r.timedOut, false, r.out);
  assert.equal(r.signal, null, r.out);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /workers ended 5/);
  await stopWs(wss);
});

// The pool's one thread is busy when the work is queued, so the work waits
// there while the fixture drops the server and calls gc() over and over.
for (const kind of ['shutdown', 'close']) {
  test(`an unref()d server dropped while ${kind}() is in flight outlives the work (--expose-gc)`, async () => {
    const r = await runFixture('server-work-gc.cjs', [kind], { UV_THREADPOOL_SIZE: '1' }, 60000, ['--expose-gc']);
    assert.equal(r.timedOut, false, r.out);
    assert.equal(r.signal, null, r.out);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, kind === 'shutdown' ? /settled after .*: (true|false);/ : /settled after .*: undefined;/);
    assert.match(r.out, new RegExp(`${kind}: settled, collected, live servers back at 0`));
  });
}

const countDir = (d) => fs.readdirSync(d).length;

test('1,000 clients created and closed: no growth in fds or threads', { timeout: 120000 }, async () => {
  const wss = await startWs();
  async function round(n) {
    const clients = [];
    for (let i = 0; i < n; i++) clients.push(new ManagedWebSocket(wss.url, { heartbeatIntervalMs: 60000 }));
    await Promise.all(clients.map((c) => nextEvent(c, 'open', () => true, 20000)));
    await Promise.all(clients.map((c) => {
      const done = nextEvent(c, 'state', (_f, to) => to === 'CLOSED', 20000);
      c.close();
      return done;
    }));
  }
  const settle = () =>
    waitFor(() => wss.clients.size === 0 && internals.liveCount().clients === 0, 20000, 'settling');
  await round(50); // warm-up: the default context, its I/O thread, resolver
  await settle();
  const fds0 = countDir('/proc/self/fd');
  const threads0 = countDir('/proc/self/task');
  for (let i = 0; i < 20; i++) await round(50);
  await settle();
  // Closed sockets leave the descriptor table asynchronously: wait for the
  // count to come back (bounded), then assert on what is there.
  await waitFor(() => countDir('/proc/self/fd') <= fds0 + 2 &&
    countDir('/proc/self/task') <= threads0, 5000, 'descriptors and threads back').catch(() => {});
  const fds1 = countDir('/proc/self/fd');
  const threads1 = countDir('/proc/self/task');
  assert.ok(fds1 <= fds0 + 2, `fds grew from ${fds0} to ${fds1}`);
  assert.ok(threads1 <= threads0, `threads grew from ${threads0} to ${threads1}`);
  assert.equal(internals.liveCount().clients, 0);
  await stopWs(wss);
});
