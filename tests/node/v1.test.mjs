// mws.v1 through the Node binding, on the real C implementation: plain
// fallback against `ws`, and sessions against our own server (events on
// both ends, stable ids, receipts as Promises, nothing lost, duplicated or
// reordered across dropped connections, a lost session reported).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mws, startWs, stopWs, closeClient, nextEvent, waitFor, fast } from './helpers.mjs';

const { ManagedWebSocket, ManagedWebSocketServer } = mws;

async function startServer(opts = {}) {
  const srv = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, ...opts });
  await nextEvent(srv, 'listening');
  srv.url = `ws://127.0.0.1:${srv.port}/`;
  return srv;
}

/** A TCP proxy whose cut() resets every connection it carries; mode 'blackhole' forwards nothing. */
async function startCuttingProxy(targetPort) {
  const pairs = new Set();
  const proxy = { mode: 'pass', target: targetPort };
  const server = net.createServer((down) => {
    const up = net.connect(proxy.target, '127.0.0.1');
    const pair = { down, up };
    pairs.add(pair);
    const fwd = (from, to) => from.on('data', (d) => { if (proxy.mode === 'pass') to.write(d); });
    fwd(down, up);
    fwd(up, down);
    const end = () => { pairs.delete(pair); down.destroy(); up.destroy(); };
    down.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `ws://127.0.0.1:${server.address().port}/`;
  proxy.cut = () => {
    for (const p of pairs) { p.down.resetAndDestroy(); p.up.resetAndDestroy(); }
    pairs.clear();
  };
  proxy.close = () => { proxy.cut(); return new Promise((r) => server.close(() => r())); };
  return proxy;
}

const range = (prefix, a, b) => Array.from({ length: b - a + 1 }, (_, i) => `${prefix}${a + i}`);

// ws selects the first subprotocol a client offers unless handleProtocols
// says otherwise: these servers select none, as a plain server does.
const plainWs = () => startWs({ handleProtocols: () => false });

test('plain fallback against ws: sends numbered, flush resolves once written', async () => {
  const wss = await plainWs();
  const c = new ManagedWebSocket(wss.url, fast);
  try {
    await nextEvent(c, 'open');
    const got = [];
    c.on('message', (d) => got.push(d));
    const numbers = range('m', 1, 20).map((m) => c.send(m));
    assert.deepEqual(numbers, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(await c.flush({ timeoutMs: 5000 }), 20);
    assert.ok(c.ackedNumber >= 20);
    const st = c.stats();
    assert.equal(st.managed, 0);
    assert.equal(st.sendNumber, 20);
    assert.equal(c.session, null);
    await waitFor(() => got.length === 20, 5000, 'echoes');
    assert.deepEqual(got, range('m', 1, 20));
  } finally {
    await closeClient(c);
    await stopWs(wss);
  }
});

test("protocolMode 'require' against a plain server fails; bad values throw", async () => {
  const wss = await plainWs();
  const c = new ManagedWebSocket(wss.url, { ...fast, protocolMode: 'require', noReconnect: true });
  try {
    await nextEvent(c, 'state', (_f, to) => to === 'FAILED');
  } finally {
    await closeClient(c);
    await stopWs(wss);
  }
  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:9/', { protocolMode: 'sometimes' }), TypeError);
  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:9/', { sessionLostMode: 7, startClosed: true }),
    (e) => e.code === 'MWS_EINVAL');
  assert.throws(() => new ManagedWebSocketServer({ host: '127.0.0.1', protocolMode: 'require' }),
    (e) => e.code === 'MWS_EINVAL');
});

test("session: 'session' event, receipts as Promises, server id stable across resumes", async () => {
  const srv = await startServer();
  const proxy = await startCuttingProxy(srv.port);
  const c = new ManagedWebSocket(proxy.url, fast);
  const srvGot = [];
  const cliGot = [];
  const srvEvents = [];
  const connects = [];
  srv.on('connection', (conn) => connects.push(conn.id));
  srv.on('message', (conn, d) => srvGot.push([conn.id, d]));
  srv.on('suspended', (conn) => srvEvents.push(['suspended', conn.id]));
  srv.on('resumed', (conn) => srvEvents.push(['resumed', conn.id]));
  c.on('message', (d) => cliGot.push(d));
  const resumed = [];
  c.on('resumed', (info) => resumed.push(info));
  try {
    const [[info]] = await Promise.all([nextEvent(c, 'session'), nextEvent(c, 'open')]);
    assert.equal(info.event, 'started');
    assert.match(info.sessionId, /^[0-9a-f]{32}$/);
    assert.equal(c.stats().managed, 1);
    await waitFor(() => connects.length === 1, 5000, 'connection');
    const id = connects[0];

    let sent = 0;
    for (let cut = 1; cut <= 3; cut++) {
      for (let i = 0; i < 200; i++) {
        sent++;
        c.send(`c${sent}`);
        srv.send(id, `s${sent}`);
      }
      proxy.cut();
      await waitFor(() => resumed.length === cut, 10000, `resume ${cut}`);
      assert.equal(resumed[cut - 1].sessionId, info.sessionId);
    }
    const last = c.send('last');
    assert.equal(await c.acked(last, { timeoutMs: 10000 }), last);
    await c.flush({ timeoutMs: 10000 });
    await waitFor(() => srvGot.length === sent + 1 && cliGot.length === sent, 10000, 'everything');
    assert.deepEqual(srvGot.map(([, d]) => d.toString()), [...range('c', 1, sent), 'last']);
    assert.ok(srvGot.every(([cid]) => cid === id));
    assert.deepEqual(cliGot, range('s', 1, sent));
    assert.deepEqual(connects, [id]);
    assert.equal(srvEvents.filter(([e, cid]) => e === 'suspended' && cid === id).length, 3);
    assert.equal(srvEvents.filter(([e, cid]) => e === 'resumed' && cid === id).length, 3);
    const st = c.stats();
    assert.equal(st.sessionsResumed, 3);
    assert.equal(st.sessionsLost, 0);
    assert.ok(srv.stats().sessionsResumed >= 3);
  } finally {
    await closeClient(c);
    await proxy.close();
    await srv.close();
  }
});

for (const mode of ['resend', 'discard']) {
  test(`session lost (${mode}): 'sessionlost' with counts, flush still resolves`, async () => {
    const oldSrv = await startServer();
    const newSrv = await startServer();
    const oldGot = [];
    const newGot = [];
    oldSrv.on('message', (_c, d) => oldGot.push(d));
    newSrv.on('message', (_c, d) => newGot.push(d));
    const proxy = await startCuttingProxy(oldSrv.port);
    const c = new ManagedWebSocket(proxy.url, { ...fast, sessionLostMode: mode, heartbeatIntervalMs: 5000 });
    try {
      await nextEvent(c, 'open');
      proxy.mode = 'blackhole'; // written from here on, never acknowledged
      for (const m of range('x', 1, 50)) c.send(m);
      await waitFor(() => c.stats().unacked === 50, 5000, '50 written, unacknowledged');
      proxy.target = newSrv.port;
      proxy.mode = 'pass';
      const lostP = nextEvent(c, 'sessionlost', () => true, 10000);
      proxy.cut();
      const [lost] = await lostP;
      assert.equal(lost.event, 'lost');
      assert.equal(lost.unacked, 50);
      await c.flush({ timeoutMs: 10000 });
      const st = c.stats();
      assert.equal(st.sessionsLost, 1);
      if (mode === 'resend') {
        assert.equal(lost.resent, 50);
        assert.equal(st.lostResent, 50);
        await waitFor(() => newGot.length === 50, 5000, 'the re-sent messages');
        assert.deepEqual(newGot.map(String), range('x', 1, 50));
      } else {
        assert.equal(lost.discarded, 50);
        assert.deepEqual([lost.discardedFirst, lost.discardedLast], [1, 50]);
        assert.equal(st.lostDiscarded, 50);
        assert.equal(newGot.length, 0);
      }
      assert.equal(oldGot.length, 0);
    } finally {
      await closeClient(c);
      await proxy.close();
      await oldSrv.close();
      await newSrv.close();
    }
  });
}
