// Send callbacks and 'drain' come from the C library's send-progress events
// (on_sent), not from a timer; messages arrive in batches (on_messages),
// one thread-safe call per batch, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mws, startWs, stopWs, closeClient, nextEvent, waitFor, fast } from './helpers.mjs';

const { ManagedWebSocket } = mws;

// Counts the timers the binding arms while `fn` runs (a poll would be one).
async function countTimers(fn) {
  const real = { setInterval: globalThis.setInterval, setTimeout: globalThis.setTimeout };
  const armed = [];
  globalThis.setInterval = (f, ms, ...a) => { armed.push(['setInterval', ms, new Error().stack]); return real.setInterval(f, ms, ...a); };
  globalThis.setTimeout = (f, ms, ...a) => {
    const stack = new Error().stack;
    if (stack.includes('bindings/node')) armed.push(['setTimeout', ms, stack]);
    return real.setTimeout(f, ms, ...a);
  };
  try {
    await fn();
  } finally {
    Object.assign(globalThis, real);
  }
  return armed;
}

test('the send callback fires after the message is written, from an event, not a timer', async () => {
  const wss = await startWs();
  const c = new ManagedWebSocket(wss.url, { ...fast, startClosed: true });
  const seen = [];
  const armed = await countTimers(async () => {
    for (let i = 0; i < 5; i++) {
      c.send(`m${i}`, (err) => seen.push({ i, err, out: c.stats().msgsOut }));
    }
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [], 'not connected: nothing written, no callback');
    c.connect();
    await waitFor(() => seen.length === 5, 5000, 'five callbacks');
  });
  assert.deepEqual(armed.map((a) => a[0]), [], 'the binding armed no timer for send callbacks');
  assert.deepEqual(seen.map((s) => s.i), [0, 1, 2, 3, 4]);
  for (const s of seen) {
    assert.equal(s.err, null);
    assert.ok(s.out >= s.i + 1, `message ${s.i} was written when its callback ran`);
  }
  await closeClient(c);
  await stopWs(wss);
});

test('a message discarded before it is written fails its callback (clearQueue, close)', async () => {
  const c = new ManagedWebSocket('ws://127.0.0.1:9/', { ...fast, startClosed: true });
  const errs = [];
  c.send('a', (err) => errs.push(err && err.code));
  c.clearQueue();
  await waitFor(() => errs.length === 1, 5000, 'the callback of the cleared message');
  assert.deepEqual(errs, ['MWS_ECLOSED']);
  c.send('b', (err) => errs.push(err && err.code));
  await closeClient(c);
  await waitFor(() => errs.length === 2, 5000, 'the callback of the message discarded by close');
  assert.deepEqual(errs, ['MWS_ECLOSED', 'MWS_ECLOSED']);
});

test("'drain' comes from an event once the full queue is at most half full; sends go again", async () => {
  const wss = await startWs();
  const c = new ManagedWebSocket(wss.url, { ...fast, startClosed: true, queueMaxMessages: 8 });
  let accepted = 0;
  let queued = -1;
  const armed = await countTimers(async () => {
    assert.throws(() => { for (;;) { c.send('x'); accepted++; } }, { code: 'MWS_EQUEUEFULL' });
    assert.equal(accepted, 8);
    const drained = nextEvent(c, 'drain');
    c.connect();
    await drained;
    queued = c.stats().queueMessages;
  });
  assert.deepEqual(armed.filter((a) => a[0] === 'setInterval'), [], 'no polling timer for drain');
  assert.ok(queued <= 4, `at most half full at 'drain' (${queued})`);
  c.send('after drain');
  await closeClient(c);
  await stopWs(wss);
});

test('a burst of messages arrives whole and in order, text and binary', async () => {
  const wss = await startWs({ echo: false });
  const N = 3000;
  wss.on('connection', (s) => s.on('message', () => {
    for (let i = 0; i < N; i++) s.send(i % 2 ? Buffer.from(`b${i}`) : `t${i}`);
  }));
  const c = new ManagedWebSocket(wss.url, fast);
  await c.opened;
  const got = [];
  c.on('message', (data, isBinary) => got.push([String(data), isBinary]));
  c.send('go');
  await waitFor(() => got.length >= N, 10000, `${N} messages`);
  for (let i = 0; i < N; i++) {
    assert.deepEqual(got[i], [i % 2 ? `b${i}` : `t${i}`, i % 2 === 1]);
  }
  assert.equal(got.length, N);
  await closeClient(c);
  await stopWs(wss);
});

test('the sends of one tick (corked: one wake per tick and per 64) all go, in order', async () => {
  const wss = await startWs({ echo: false });
  const got = [];
  wss.on('connection', (s) => s.on('message', (d) => got.push(String(d))));
  const c = new ManagedWebSocket(wss.url, { ...fast, queueMaxMessages: 10000 });
  await c.opened;
  c.send('single'); // alone in its tick: goes once the tick ends
  await waitFor(() => got.length === 1, 5000, 'the single send');
  const N = 5000;
  for (let i = 0; i < N; i++) c.send(`m${i}`);
  c.send('last', (err) => { if (err) throw err; });
  await waitFor(() => got.length === N + 2, 10000, `${N} messages`);
  assert.deepEqual(got.slice(1, 4), ['m0', 'm1', 'm2']);
  for (let i = 0; i < N; i++) assert.equal(got[i + 1], `m${i}`);
  assert.equal(got[N + 1], 'last');
  await closeClient(c);
  await stopWs(wss);
});
