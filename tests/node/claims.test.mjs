// README claims that had no test of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mws, startWs, stopWs, closeClient, nextEvent, fast } from './helpers.mjs';

const { ManagedWebSocket } = mws;

test('a message larger than queueMaxBytes throws MWS_ETOOBIG; smaller ones still go', async () => {
  const wss = await startWs();
  const url = `ws://127.0.0.1:${wss.address().port}/`;
  const c = new ManagedWebSocket(url, { ...fast, startClosed: true, queueMaxBytes: 1024 });
  assert.throws(() => c.send('x'.repeat(1025)), (e) => e.code === 'MWS_ETOOBIG' && /too big/.test(e.message));
  assert.throws(() => c.send(Buffer.alloc(4096)), (e) => e.code === 'MWS_ETOOBIG');
  // refused, not queued, and not counted as a full queue
  assert.equal(c.stats().queueMessages, 0);
  assert.equal(c.stats().queueFull, 0);
  c.send('y'.repeat(1024)); // exactly the bound is accepted
  const echoed = nextEvent(c, 'message');
  c.connect();
  const [ev] = await echoed;
  const data = typeof ev === 'string' ? ev : (ev.data ?? ev).toString();
  assert.equal(data, 'y'.repeat(1024));
  await closeClient(c);
  await stopWs(wss);
});
