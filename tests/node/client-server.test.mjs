// ManagedWebSocket against ManagedWebSocketServer: both ends ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mws, startProxy, closeClient, nextEvent, waitFor, fast } from './helpers.mjs';

const { ManagedWebSocket, ManagedWebSocketServer, internals } = mws;
const skip = false; // helpers.mjs fails the run when the server is missing

async function startServer(opts = {}) {
  const srv = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, ...opts });
  await nextEvent(srv, 'listening');
  srv.url = `ws://127.0.0.1:${srv.port}/`;
  return srv;
}

function echo(srv) {
  srv.on('connection', (conn) => conn.on('message', (d, isBinary) => conn.send(d, { binary: isBinary })));
}

test('text and binary both ways; send, broadcast, stats', { skip }, async () => {
  const srv = await startServer();
  echo(srv);
  const c = new ManagedWebSocket(`${srv.url}room?x=1`, fast);
  const [[conn, info]] = await Promise.all([nextEvent(srv, 'connection'), nextEvent(c, 'open')]);
  assert.equal(info.peerIp, '127.0.0.1');
  assert.equal(info.path, '/room?x=1');
  assert.equal(typeof conn.id, 'number');
  assert.equal(srv.connections.get(conn.id), conn);

  const got = [];
  c.on('message', (d, b) => got.push([d, b]));
  c.send('ünïcode');
  c.send(new Uint8Array([0, 1, 255]));
  await waitFor(() => got.length === 2, 5000, 'echoes');
  assert.deepEqual(got[0], ['ünïcode', false]);
  assert.deepEqual(got[1], [Buffer.from([0, 1, 255]), true]);

  srv.send(conn.id, 'direct');
  conn.send(Buffer.from('bin'));
  srv.broadcast('everyone');
  await waitFor(() => got.length === 5, 5000, 'server messages');
  assert.deepEqual(got.slice(2), [['direct', false], [Buffer.from('bin'), true], ['everyone', false]]);

  const st = srv.stats();
  assert.equal(st.connections, 1);
  assert.equal(st.accepted, 1);
  assert.ok(st.msgsIn >= 2 && st.msgsOut >= 5, JSON.stringify(st));

  const gone = nextEvent(srv, 'disconnect');
  await closeClient(c);
  const [dconn, code, , why] = await gone;
  assert.equal(dconn, conn);
  assert.equal(code, 1000);
  assert.equal(why, 'peer_closed');
  assert.equal(srv.connections.size, 0);
  assert.throws(() => srv.send(conn.id, 'stale'), (e) => e.code === 'MWS_ECLOSED');
  await srv.close();
  assert.equal(internals.liveCount().servers, 0);
});

test('graceful restart on the same port: reconnect, queued messages delivered once in order', { skip }, async (t) => {
  let srv = await startServer();
  const port = srv.port;
  const c = new ManagedWebSocket(srv.url, { ...fast, restartSpreadMs: 100 });
  t.after(async () => { await closeClient(c); await srv.close(); });
  await nextEvent(c, 'open');
  const down = nextEvent(c, 'state', (f) => f === 'CONNECTED');
  const why = nextEvent(srv, 'disconnect');
  const clean = await srv.shutdown({ code: 1012, spreadWindowMs: 100, deadlineMs: 3000 });
  assert.equal(clean, true);
  assert.equal((await why)[3], 'shutdown');
  const [, to, reason] = await down;
  assert.equal(to, 'RECONNECTING');
  assert.match(reason, /1012|retry-after/);
  await srv.close();

  for (let i = 0; i < 100; i++) c.send(`q${i}`);
  srv = await startServer({ port });
  const received = [];
  srv.on('message', (_conn, d) => received.push(d));
  await nextEvent(c, 'open', () => true, 5000);
  c.send('last');
  await waitFor(() => received.includes('last'), 5000, 'all queued messages');
  assert.deepEqual(received, [...Array.from({ length: 100 }, (_, i) => `q${i}`), 'last']);
});

test('graceful restart behind a proxy: reconnect, queued messages delivered once in order', { skip }, async () => {
  // The restarted server listens on another port behind a proxy that keeps
  // the address the client knows.
  let srv = await startServer();
  const proxy = await startProxy(srv.port);
  const c = new ManagedWebSocket(proxy.url, { ...fast, restartSpreadMs: 100 });
  await nextEvent(c, 'open');
  const down = nextEvent(c, 'state', (f) => f === 'CONNECTED');
  const why = nextEvent(srv, 'disconnect');
  const clean = await srv.shutdown({ code: 1012, spreadWindowMs: 100, deadlineMs: 3000 });
  assert.equal(clean, true);
  assert.equal((await why)[3], 'shutdown');
  const [, to, reason] = await down;
  assert.equal(to, 'RECONNECTING');
  assert.match(reason, /1012|retry-after/);
  await srv.close();

  for (let i = 0; i < 100; i++) c.send(`q${i}`);
  c.send(Buffer.from([1, 2]));
  srv = await startServer();
  proxy.target = srv.port;
  const received = [];
  srv.on('message', (_conn, d, isBinary) => received.push(isBinary ? [...d] : d));
  await nextEvent(c, 'open', () => true, 10000);
  c.send('last');
  await waitFor(() => received.includes('last'), 5000, 'all queued messages');
  assert.deepEqual(received, [...Array.from({ length: 100 }, (_, i) => `q${i}`), [1, 2], 'last']);
  assert.equal(c.stats().reconnects, 1);
  await closeClient(c);
  await proxy.close();
  await srv.close();
});

test('a second server on a port in use fails with MWS_ELISTEN', { skip }, async () => {
  const srv = await startServer();
  let second;
  let err;
  try {
    second = new ManagedWebSocketServer({ host: '127.0.0.1', port: srv.port });
  } catch (e) {
    err = e;
  }
  if (second) await second.close();
  await srv.close();
  assert.equal(err?.code, 'MWS_ELISTEN');
});

test('a 1008 close from our server fails the client', { skip }, async () => {
  const srv = await startServer();
  let connections = 0;
  srv.on('connection', (conn) => { connections++; conn.close(1008, 'policy violation'); });
  const c = new ManagedWebSocket(srv.url, fast);
  const [, to, , code] = await nextEvent(c, 'state', (_f, t) => t === 'FAILED');
  assert.equal(to, 'FAILED');
  assert.equal(code, 1008);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(connections, 1);
  await closeClient(c);
  await srv.close();
});

test('zombie link (blackhole proxy): client heartbeat timeout, then reconnect', { skip }, async () => {
  const srv = await startServer();
  echo(srv);
  const proxy = await startProxy(srv.port);
  const c = new ManagedWebSocket(proxy.url, { ...fast, heartbeatIntervalMs: 150, heartbeatTimeoutMs: 250 });
  await nextEvent(c, 'open');
  proxy.mode = 'blackhole';
  const t0 = Date.now();
  const [, to, reason, code] = await nextEvent(c, 'state', (f) => f === 'CONNECTED', 5000);
  assert.equal(to, 'RECONNECTING');
  assert.equal(code, 4000);
  assert.match(reason, /heartbeat/);
  assert.ok(Date.now() - t0 < 2000);
  proxy.mode = 'pass';
  await nextEvent(c, 'open', () => true, 5000);
  c.send('alive');
  await nextEvent(c, 'message', (d) => d === 'alive');
  await closeClient(c);
  await proxy.close();
  await srv.close();
});

test('the server reaps a silent client with 4000 and the client comes back', { skip }, async () => {
  const srv = await startServer({ heartbeatTimeoutMs: 300, checkIntervalMs: 100, pingIntervalMs: -1 });
  // Plain: an mws.v1 session reaped for silence is suspended, not ended.
  const c = new ManagedWebSocket(srv.url, { ...fast, heartbeatMode: 'off', protocolMode: 'plain' });
  await nextEvent(c, 'open');
  const [, code, , why] = await nextEvent(srv, 'disconnect', () => true, 5000);
  assert.equal(code, 4000);
  assert.equal(why, 'reaped');
  await nextEvent(c, 'open', () => true, 5000);
  assert.ok(srv.stats().reaped >= 1);
  await closeClient(c);
  await srv.close();
});

test('server errors: options checked, closed server', { skip }, async () => {
  const srv = await startServer();
  assert.throws(() => new ManagedWebSocketServer({ nope: 1 }), TypeError);
  await srv.close();
  await srv.close(); // twice is fine
  assert.throws(() => srv.broadcast('x'), (e) => e.code === 'MWS_ECLOSED');
  await waitFor(() => internals.liveCount().servers === 0, 5000, 'servers freed');
});
