// ManagedWebSocket against a `ws` server started in the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mws, startWs, stopWs, closeClient, nextEvent, waitFor, fast } from './helpers.mjs';

const { ManagedWebSocket } = mws;

test('text and binary both ways, in every accepted input type', async () => {
  const wss = await startWs();
  const c = new ManagedWebSocket(wss.url, fast);
  assert.equal(c.readyState, ManagedWebSocket.CONNECTING);
  assert.equal(c.url, wss.url);
  await nextEvent(c, 'open');
  assert.equal(c.readyState, ManagedWebSocket.OPEN);
  assert.equal(c.state, 'CONNECTED');

  const got = [];
  c.on('message', (data, isBinary) => got.push([data, isBinary]));
  c.send('héllo');
  c.send(Buffer.from([1, 2, 3]));
  c.send(new Uint8Array([4, 5]).buffer);
  c.send(new Uint16Array([0x0706]));
  c.send(new DataView(new Uint8Array([9, 9, 8]).buffer, 2, 1));
  c.send('as binary', { binary: true });
  await waitFor(() => got.length === 6, 5000, 'six echoes');
  assert.deepEqual(got[0], ['héllo', false]);
  assert.deepEqual(got[1], [Buffer.from([1, 2, 3]), true]);
  assert.deepEqual(got[2], [Buffer.from([4, 5]), true]);
  assert.deepEqual(got[3], [Buffer.from([6, 7]), true]);
  assert.deepEqual(got[4], [Buffer.from([8]), true]);
  assert.deepEqual(got[5], [Buffer.from('as binary'), true]);

  // server -> client, and binaryType 'arraybuffer' with an onmessage handler
  const [sock] = wss.clients;
  c.binaryType = 'arraybuffer';
  const events = [];
  c.onmessage = (ev) => events.push(ev);
  sock.send('from server');
  sock.send(Buffer.from([0xff, 0]));
  await waitFor(() => events.length === 2, 5000, 'server messages');
  assert.equal(events[0].type, 'message');
  assert.equal(events[0].data, 'from server');
  assert.equal(events[0].target, c);
  assert.ok(events[1].data instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(events[1].data)], [0xff, 0]);

  const st = c.stats();
  assert.equal(st.state, 'CONNECTED');
  assert.ok(st.msgsOut >= 6 && st.msgsIn >= 8, JSON.stringify(st));

  const closed = nextEvent(c, 'close');
  c.close(1000, 'done');
  assert.equal(c.readyState, ManagedWebSocket.CLOSING);
  const [code, reason] = await closed;
  assert.equal(code, 1000);
  assert.equal(reason, 'done');
  assert.equal(c.readyState, ManagedWebSocket.CLOSED);
  assert.equal(c.state, 'CLOSED');
  await stopWs(wss);
});

test('server restart: the client reconnects and queued messages arrive once, in order', async () => {
  let wss = await startWs({ echo: false });
  const port = wss.port;
  const c = new ManagedWebSocket(wss.url, { ...fast, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 500 });
  await nextEvent(c, 'open');
  const states = [];
  c.on('state', (from, to, reason, code) => states.push({ from, to, reason, code }));

  const dropped = nextEvent(c, 'state', (_f, to) => to === 'RECONNECTING', 5000);
  await stopWs(wss);
  await dropped;
  assert.notEqual(c.readyState, ManagedWebSocket.OPEN);

  for (let i = 0; i < 50; i++) c.send(`m${i}`);
  assert.equal(c.stats().queueMessages, 50);
  assert.ok(c.bufferedAmount > 0);

  wss = await startWs({ port, echo: false });
  const received = [];
  wss.on('connection', (s) => s.on('message', (d) => received.push(d.toString())));
  await nextEvent(c, 'open', () => true, 10000);
  c.send('after');
  await waitFor(() => received.includes('after'), 5000, 'the message sent after reconnect');
  assert.deepEqual(received, [...Array.from({ length: 50 }, (_, i) => `m${i}`), 'after']);
  assert.ok(states.some((s) => s.from === 'CONNECTED' && s.to === 'RECONNECTING'));
  assert.equal(c.stats().reconnects, 1);
  await closeClient(c);
  await stopWs(wss);
});

test('a 1008 close from the server fails the client for good', async () => {
  const wss = await startWs({ echo: false });
  let connections = 0;
  wss.on('connection', (s) => {
    connections++;
    s.close(1008, 'policy');
  });
  const c = new ManagedWebSocket(wss.url, fast);
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const [from, to, reason, code] = await nextEvent(c, 'state', (_f, t) => t === 'FAILED');
  assert.equal(to, 'FAILED');
  assert.equal(code, 1008);
  assert.equal(typeof reason, 'string');
  assert.ok(['CONNECTED', 'CONNECTING'].includes(from));
  assert.equal(c.readyState, ManagedWebSocket.CLOSED);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, 'MWS_EFAILED');
  assert.throws(() => c.send('x'), (e) => e instanceof Error && e.code === 'MWS_EFAILED');
  await new Promise((r) => setTimeout(r, 400)); // several backoff periods
  assert.equal(connections, 1, 'no reconnect after FAILED');
  assert.equal(c.state, 'FAILED');
  await closeClient(c);
  await stopWs(wss);
});

test('a server that stops answering pings: heartbeat timeout, then reconnect', async () => {
  const wss = await startWs({ autoPong: false });
  let connections = 0;
  wss.on('connection', () => connections++);
  const c = new ManagedWebSocket(wss.url, { ...fast, heartbeatIntervalMs: 150, heartbeatTimeoutMs: 250 });
  await nextEvent(c, 'open');
  const t0 = Date.now();
  const [, to, reason, code] = await nextEvent(c, 'state', (f, t) => f === 'CONNECTED', 5000);
  const took = Date.now() - t0;
  assert.equal(to, 'RECONNECTING');
  assert.equal(code, 4000);
  assert.match(reason, /heartbeat/);
  assert.ok(took < 2000, `zombie detected after ${took} ms`);
  await nextEvent(c, 'open', () => true, 5000);
  assert.ok(connections >= 2);
  assert.ok(c.stats().heartbeatTimeouts >= 1);
  await closeClient(c);
  await stopWs(wss);
});

test('C errors become Errors with a code; options are checked', async () => {
  assert.throws(() => new ManagedWebSocket('http://x/'), (e) => e.code === 'MWS_EINVAL');
  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:1/', { noSuchOption: 1 }), TypeError);
  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:1/', { baseDelayMs: 'x' }), TypeError);
  assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:1/', { jitter: 'sideways' }), TypeError);

  const c = new ManagedWebSocket('ws://127.0.0.1:1/', { startClosed: true, queueMaxMessages: 2 });
  assert.equal(c.state, 'DISCONNECTED');
  assert.equal(c.readyState, ManagedWebSocket.CLOSED);
  c.send('a');
  c.send('b');
  assert.throws(() => c.send('c'), (e) => e.code === 'MWS_EQUEUEFULL' && /full/.test(e.message));
  assert.equal(c.stats().queueFull, 1);
  assert.throws(() => c.send(42), TypeError);
  assert.throws(() => c.close(1006), (e) => e.code === 'MWS_EINVAL');
  assert.throws(() => c.reconnectNow(), (e) => e.code === 'MWS_ESTATE');
  await closeClient(c);
  assert.throws(() => c.send('d'), (e) => e.code === 'MWS_ECLOSED');
  c.close(); // closing twice does nothing
});

test('reconnecting-websocket option names and event-object handlers', async () => {
  const wss = await startWs();
  const c = new ManagedWebSocket(wss.url, [], {
    maxRetries: 3, minReconnectionDelay: 50, maxReconnectionDelay: 200,
    connectionTimeout: 1000, maxEnqueuedMessages: 10, minUptime: 100,
    jitter: 'equal', heartbeatMode: 'ping', closeRules: { 4100: 'fail' },
    headers: { 'X-Test': 'yes' },
  });
  const seen = [];
  c.onopen = (e) => seen.push(e.type);
  c.addEventListener('message', (e) => seen.push(`message:${e.data}`));
  c.onclose = (e) => seen.push(`close:${e.code}`);
  const hdr = new Promise((r) => wss.once('connection', (_s, req) => r(req.headers['x-test'])));
  await nextEvent(c, 'open');
  assert.equal(await hdr, 'yes');
  c.send('hi');
  await waitFor(() => seen.includes('message:hi'), 5000, 'echo');
  // closeRules: 4100 from the server -> FAILED
  const failed = nextEvent(c, 'state', (_f, to) => to === 'FAILED');
  [...wss.clients][0].close(4100, 'custom');
  await failed;
  assert.deepEqual(seen, ['open', 'message:hi', 'close:4100']);
  await closeClient(c);
  await stopWs(wss);
});

test('setCredentials: headers and query go with the next attempt', async () => {
  const wss = await startWs();
  const reqs = [];
  wss.on('connection', (s, req) => { reqs.push(req); });
  const c = new ManagedWebSocket(wss.url, { ...fast, startClosed: true, credentials: { headers: { Authorization: 'Bearer one' }, query: 'token=one' } });
  c.connect();
  await nextEvent(c, 'open');
  assert.equal(reqs[0].headers.authorization, 'Bearer one');
  assert.match(reqs[0].url, /token=one/);
  c.setCredentials({ headers: { Authorization: 'Bearer two' }, query: 'token=two' });
  [...wss.clients][0].terminate();
  await nextEvent(c, 'open', () => true, 5000);
  assert.equal(reqs[1].headers.authorization, 'Bearer two');
  assert.match(reqs[1].url, /token=two/);
  await closeClient(c);
  await stopWs(wss);
});

test('reconnect() and disconnect()/connect(); stats survive close()', async () => {
  const wss = await startWs();
  let connections = 0;
  wss.on('connection', () => connections++);
  const c = new ManagedWebSocket(wss.url, fast);
  await nextEvent(c, 'open');
  c.reconnect();
  await nextEvent(c, 'open');
  assert.equal(connections, 2);
  c.disconnect(1000, 'pause');
  await nextEvent(c, 'state', (_f, to) => to === 'DISCONNECTED');
  assert.equal(c.readyState, ManagedWebSocket.CLOSED);
  c.send('while disconnected');
  c.connect();
  const [msg] = await nextEvent(c, 'message');
  assert.equal(msg, 'while disconnected');
  await closeClient(c);
  const st = c.stats();
  assert.equal(st.state, 'CLOSED');
  assert.equal(st.connects, 3);
  assert.equal(c.bufferedAmount, 0);
  await stopWs(wss);
});
