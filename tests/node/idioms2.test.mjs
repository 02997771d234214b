// Issue 12 leftovers in Node: a URL provider (sync or async, per attempt),
// the server's auth hook with the request's headers (answered later by the
// C library), pause()/resume() on clients and server connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mws, startWs, stopWs, closeClient, nextEvent, waitFor, fast } from './helpers.mjs';

const { ManagedWebSocket, ManagedWebSocketServer } = mws;

async function listening(opts) {
  const srv = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, ...opts });
  await nextEvent(srv, 'listening');
  return srv;
}

/** The status line a raw upgrade request gets, or '' if the socket closes first. */
function upgradeStatus(port, headers = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => { sock.destroy(); reject(new Error('no answer to the upgrade')); }, 8000);
    sock.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\r\n');
      if (i >= 0) { clearTimeout(t); sock.destroy(); resolve(buf.slice(0, i)); }
    });
    sock.on('close', () => { clearTimeout(t); resolve(buf.split('\r\n')[0]); });
    sock.on('error', () => {});
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    sock.write('GET /auth?room=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' + extra + '\r\n');
  });
}

test('a URL provider (async) is asked per attempt and moves the client to the URL it gives', async () => {
  const a = await startWs();
  const b = await startWs();
  const asked = [];
  const c = new ManagedWebSocket(async (info) => {
    asked.push(info.attempt);
    await new Promise((r) => setTimeout(r, 5));
    return asked.length === 1 ? a.url : new URL(`${b.url}?second=1`);
  }, fast);
  assert.equal(c.url, '');
  await c.opened;
  assert.equal(c.url, a.url);
  const onB = nextEvent(b, 'connection', () => true, 8000);
  for (const s of a.clients) s.close(1012, 'restart');
  const [, req] = await onB;
  assert.equal(req.url, '/?second=1');
  assert.ok(asked.length >= 2, `asked ${asked.length} times`);
  await waitFor(() => c.state === 'CONNECTED' && c.url.startsWith(b.url), 5000, 'connected to b');
  await closeClient(c);
  await stopWs(a);
  await stopWs(b);
});

test('a sync URL provider is used at once; a bad answer is an error and the URL stays', async () => {
  const a = await startWs();
  let n = 0;
  const c = new ManagedWebSocket(() => (++n === 1 ? a.url : 'http://not-a-websocket/'), fast);
  assert.equal(c.url, ''); // until the first attempt asks
  const errors = [];
  c.on('error', (e) => errors.push(e));
  await c.opened;
  assert.equal(c.url, a.url);
  const reopened = nextEvent(c, 'open', () => true, 5000); // back on the URL it had
  for (const s of a.clients) s.close(1012, 'restart');
  await waitFor(() => errors.some((e) => /not a ws:\/\/ or wss:\/\/ URL/.test(e.message)), 5000, 'the provider error');
  await reopened;
  assert.equal(c.url, a.url);
  await closeClient(c);
  await stopWs(a);
});

test('a provider that never answers fails that attempt only; the next attempt asks again', async () => {
  const a = await startWs();
  let n = 0;
  const c = new ManagedWebSocket(() => (++n === 1 ? new Promise(() => {}) : a.url), { ...fast, connectTimeoutMs: 300 });
  await c.waitFor('CONNECTED', { timeout: 8000 });
  assert.ok(n >= 2);
  assert.ok(c.stats().attemptsTotal >= 2);
  await closeClient(c);
  await stopWs(a);
});

test('the server auth hook gets the headers, path and address, and answers later', async () => {
  const seen = [];
  const srv = await listening({
    auth: async (req) => {
      seen.push(req);
      await new Promise((r) => setTimeout(r, 20)); // JS answers on its own time
      if (req.headers.authorization === 'Bearer good') return true;
      if (req.headers.authorization === 'Bearer teapot') return 418;
      return false;
    },
  });
  const conns = [];
  srv.on('connection', (conn) => conns.push(conn));
  const good = new ManagedWebSocket(`ws://127.0.0.1:${srv.port}/feed?x=1`, {
    ...fast, headers: { Authorization: 'Bearer good', 'X-Extra': 'one' },
  });
  await good.opened;
  await waitFor(() => conns.length === 1, 5000, 'the connection');
  const req = seen[0];
  assert.equal(req.path, '/feed?x=1');
  assert.equal(req.peerIp, '127.0.0.1');
  assert.equal(req.headers['x-extra'], 'one');
  assert.equal(req.headers.upgrade.toLowerCase(), 'websocket');
  assert.equal(await upgradeStatus(srv.port, { Authorization: 'Bearer bad' }), 'HTTP/1.1 401 Unauthorized');
  assert.equal(await upgradeStatus(srv.port, { Authorization: 'Bearer teapot' }), 'HTTP/1.1 418 Client Error');
  assert.equal(srv.stats().refused.auth, 2);
  // A refused managed client fails (401 twice: the credentials retry, then FAILED).
  const bad = new ManagedWebSocket(`ws://127.0.0.1:${srv.port}/`, { ...fast, headers: { Authorization: 'Bearer bad' } });
  bad.on('error', () => {});
  await assert.rejects(bad.waitFor('CONNECTED', { timeout: 8000 }), /FAILED/);
  await closeClient(bad);
  await closeClient(good);
  await srv.close();
});

test('a throwing auth hook refuses with 500; auth with a certificate is refused at construction', async () => {
  const srv = await listening({ auth: () => { throw new Error('db down'); } });
  const errors = [];
  srv.on('error', (e) => errors.push(e));
  assert.equal(await upgradeStatus(srv.port), 'HTTP/1.1 500 Internal Server Error');
  assert.equal(errors[0].message, 'db down');
  await srv.close();
  assert.throws(() => new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, certFile: '/x.pem', keyFile: '/x.key', auth: () => true }),
    /auth needs a plain listener/);
  assert.throws(() => new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, auth: 'yes' }), /auth must be a function/);
});

test('pause() on a server connection holds the client back; resume() delivers everything in order', async () => {
  const srv = await listening({});
  const got = [];
  let conn;
  srv.on('connection', (cn) => {
    conn = cn;
    cn.on('message', (d) => got.push(Number(String(d).slice(0, 8))));
  });
  const c = new ManagedWebSocket(`ws://127.0.0.1:${srv.port}/`, {
    ...fast, protocolMode: mws.PROTOCOL_MODE.plain, queueMaxMessages: 1024, queueMaxBytes: 1024 * 16384,
  });
  await c.opened;
  await waitFor(() => conn, 5000, 'the connection');
  conn.pause();
  assert.equal(conn.isPaused, true);
  await waitFor(() => srv.stats().pausedConnections === 1, 5000, 'the pause');
  const pad = 'x'.repeat(16384 - 8);
  for (let i = 0; i < 1024; i++) c.send(String(i).padStart(8, '0') + pad);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(got.length, 0, 'read while paused');
  assert.ok(c.bufferedAmount > 8 * 1024 * 1024, `only ${c.bufferedAmount} bytes held back`);
  conn.resume();
  await waitFor(() => got.length === 1024, 30000, 'every message after resume');
  assert.deepEqual(got, Array.from({ length: 1024 }, (_, i) => i));
  await closeClient(c);
  await srv.close();
});

test('pause() on a client stops reading until resume(), across the same connection', async () => {
  const wss = await startWs({ echo: false });
  const c = new ManagedWebSocket(wss.url, fast);
  await c.opened;
  const peer = [...wss.clients][0];
  c.pause();
  assert.equal(c.isPaused, true);
  const got = [];
  c.on('message', (d) => got.push(String(d)));
  // the pause takes effect on the I/O thread: messages after it wait
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < 5; i++) peer.send(`m${i}`);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(got.length, 0, 'read while paused');
  c.resume();
  await waitFor(() => got.length === 5, 5000, 'the messages after resume');
  assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
  await closeClient(c);
  await stopWs(wss);
});
