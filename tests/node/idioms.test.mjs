// Issue 12's Node idioms: opened/waitFor across failed attempts, for await,
// onOpen before the offline queue, offlineQueue: false, clearQueue(),
// reconnecting-websocket options (fractions, growth factor, names in
// errors), send callbacks once written and 'drain'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mws, startWs, stopWs, closeClient, nextEvent, waitFor, fast } from './helpers.mjs';

const { ManagedWebSocket } = mws;

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

test('await ws.opened survives failed attempts until the server comes', async () => {
  const port = await freePort();
  const c = new ManagedWebSocket(`ws://127.0.0.1:${port}/`, fast);
  const opened = c.opened;
  let settled = false;
  opened.then(() => { settled = true; }, () => { settled = true; });
  await nextEvent(c, 'state', (_f, to) => to === 'RECONNECTING', 5000); // a failed attempt
  assert.equal(settled, false);
  const wss = await startWs({ port });
  assert.equal(await opened, 'CONNECTED');
  assert.equal(await c.waitFor('CONNECTED'), 'CONNECTED'); // already there: at once
  await assert.rejects(c.waitFor('DISCONNECTED', { timeout: 50 }), { code: 'MWS_ETIMEDOUT' });
  await closeClient(c);
  await assert.rejects(c.opened, { code: 'MWS_ECLOSED' });
  await stopWs(wss);
});

test('waitFor rejects when the client fails for good', async () => {
  const port = await freePort();
  const c = new ManagedWebSocket(`ws://127.0.0.1:${port}/`, { ...fast, maxRetries: 1 });
  await assert.rejects(c.waitFor(['CONNECTED']), { code: 'MWS_EFAILED', state: 'FAILED' });
  await closeClient(c);
});

test('for await over messages, across a reconnection, ends at close', async () => {
  const wss = await startWs();
  const c = new ManagedWebSocket(wss.url, fast);
  await c.opened;
  c.send('one');
  const got = [];
  for await (const msg of c) {
    got.push(msg);
    if (got.length === 1) {
      for (const s of wss.clients) s.terminate(); // the client reconnects
      await c.waitFor('RECONNECTING');
      c.send('two'); // queued, echoed by the next connection
    } else {
      c.close();
    }
  }
  assert.deepEqual(got, ['one', 'two']);
  await stopWs(wss);
});

test('onOpen runs before the offline queue is flushed', async () => {
  const wss = await startWs();
  const got = [];
  const c = new ManagedWebSocket(wss.url, {
    ...fast,
    startClosed: true,
    onOpen: async (ws) => {
      await new Promise((r) => setTimeout(r, 20));
      ws.send('resubscribe');
    },
  });
  c.on('message', (m) => got.push(m));
  c.send('queued');
  c.connect();
  await waitFor(() => got.length === 2, 5000, 'two echoes');
  assert.deepEqual(got, ['resubscribe', 'queued']);
  await closeClient(c);
  await stopWs(wss);
});

test('offlineQueue: false refuses sends while away; clearQueue drops queued ones', async () => {
  const wss = await startWs();
  const a = new ManagedWebSocket(wss.url, { ...fast, offlineQueue: false, startClosed: true });
  assert.throws(() => a.send('x'), { code: 'MWS_ESTATE' });
  await closeClient(a);

  const got = [];
  const b = new ManagedWebSocket(wss.url, { ...fast, startClosed: true });
  b.on('message', (m) => got.push(m));
  b.send('stale');
  b.clearQueue();
  b.send('fresh');
  b.connect();
  await waitFor(() => got.length === 1, 5000, 'an echo');
  assert.deepEqual(got, ['fresh']);
  await waitFor(() => b.stats().msgsDiscarded === 1, 5000, 'one discarded');
  await closeClient(b);
  await stopWs(wss);
});

test('reconnecting-websocket options: fractions rounded, any growth factor, errors name the key', async () => {
  const port = await freePort();
  const delays = [];
  const c = new ManagedWebSocket(`ws://127.0.0.1:${port}/`, {
    minReconnectionDelay: 100.4, maxReconnectionDelay: 100000, reconnectionDelayGrowFactor: 1.5,
    jitter: 'none', connectionTimeout: 2000.7, maxRetries: 4,
  });
  c.on('state', (_f, to, _r, _c, extra) => { if (to === 'RECONNECTING') delays.push(extra.retryDelayMs); });
  await assert.rejects(c.waitFor('CONNECTED'), { code: 'MWS_EFAILED' });
  assert.deepEqual(delays.slice(0, 3), [100, 150, 225]);
  await closeClient(c);

  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:9/', { minReconnectionDelay: -1 }),
    /minReconnectionDelay/);
  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:9/', { reconnectionDelayGrowFactor: 0.5 }),
    /reconnectionDelayGrowFactor/);
  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:9/', { maxReconnectionDelay: 'soon' }),
    /maxReconnectionDelay/);
  const inf = new ManagedWebSocket('ws://127.0.0.1:9/', { maxRetries: Infinity, startClosed: true });
  await closeClient(inf);
});

test('the send callback fires once the message is written; drain after a full queue', async () => {
  const wss = await startWs();
  const c = new ManagedWebSocket(wss.url, { ...fast, startClosed: true, queueMaxMessages: 2 });
  const order = [];
  c.send('a', () => order.push('a'));
  c.send('b', (err) => order.push(err ? 'b-err' : 'b'));
  assert.throws(() => c.send('c'), { code: 'MWS_EQUEUEFULL' });
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(order, []); // not connected: nothing written yet
  const drained = nextEvent(c, 'drain');
  c.connect();
  await drained;
  await waitFor(() => order.length === 2, 5000, 'both callbacks');
  assert.deepEqual(order, ['a', 'b']);
  assert.ok(c.stats().msgsOut >= 2);
  await closeClient(c);
  await stopWs(wss);
});

test('server: captured request headers reach the connection', async () => {
  const { ManagedWebSocketServer } = mws;
  const srv = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, captureHeaders: ['Authorization', 'X-Absent'] });
  await nextEvent(srv, 'listening');
  const seen = nextEvent(srv, 'connection');
  const c = new ManagedWebSocket(`ws://127.0.0.1:${srv.port}/`, { ...fast, headers: { Authorization: 'Bearer t0k' } });
  const [conn, info] = await seen;
  assert.deepEqual(conn.headers, { authorization: 'Bearer t0k' });
  assert.deepEqual(info.headers, { authorization: 'Bearer t0k' });
  assert.throws(() => new ManagedWebSocketServer({ captureHeaders: ['bad name'], startClosed: true }), /captureHeaders/);
  await closeClient(c);
  await srv.close();
});

test('an async credentials provider is asked before the first connection and every reconnection', async () => {
  const asked = [];
  const tokens = [];
  const wss = await startWs({ echo: false });
  wss.on('connection', (s, req) => {
    tokens.push(req.headers.authorization);
    if (tokens.length === 1) s.terminate(); // the client reconnects: the provider is asked again
  });
  const c = new ManagedWebSocket(wss.url, {
    ...fast,
    baseDelayMs: 300, // the answer (5 ms) comes well before the retry is due
    maxDelayMs: 1000,
    jitter: 'none',
    credentials: async ({ attempt }) => {
      asked.push(attempt);
      await new Promise((r) => setTimeout(r, 5));
      return { headers: { Authorization: `Bearer token-${asked.length}` } };
    },
  });
  await waitFor(() => tokens.length >= 2, 5000, 'two connections');
  assert.deepEqual(tokens.slice(0, 2), ['Bearer token-1', 'Bearer token-2']);
  assert.equal(asked[0], 1);
  await closeClient(c);
  await stopWs(wss);
});
