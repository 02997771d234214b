// ManagedWebSocket against `ws` servers that do what JSON-protocol servers
// do: connection ids of either type, 1001 on every connection; and send()
// after close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mws, startWs, stopWs, closeClient, nextEvent, waitFor, fast } from './helpers.mjs';

const { ManagedWebSocket } = mws;

async function idEchoed(id, sentText) {
  const wss = await startWs({ echo: false });
  const heartbeats = [];
  wss.on('connection', (s) => {
    s.send(JSON.stringify({ type: 'connection_ack', connectionId: id }));
    s.on('message', (d) => {
      const text = d.toString();
      if (JSON.parse(text).type !== 'heartbeat') return;
      heartbeats.push(text);
      s.send(JSON.stringify({ type: 'heartbeat_ack', timestamp: JSON.parse(text).timestamp }));
    });
  });
  const c = new ManagedWebSocket(wss.url, [], {
    ...fast, heartbeatMode: 'json', heartbeatIntervalMs: 100, heartbeatTimeoutMs: 5000,
  });
  assert.equal(c.serverConnectionId, null);
  await nextEvent(c, 'open');
  await waitFor(() => heartbeats.length > 0, 5000, 'a heartbeat');
  assert.ok(heartbeats[0].includes(`"connectionId":${sentText}}`), heartbeats[0]);
  const ts = JSON.parse(heartbeats[0]).timestamp;
  assert.ok(Math.abs(ts - Date.now()) < 60000, `timestamp ${ts} is not Date.now()`);
  assert.equal(c.serverConnectionId, String(id));
  await closeClient(c);
  await stopWs(wss);
}

test('JSON heartbeats send a string connectionId back as the same string', async () => {
  await idEchoed('conn-"42"', '"conn-\\"42\\""');
});

test('JSON heartbeats send a numeric connectionId back as a number', async () => {
  await idEchoed(9007199254740991, '9007199254740991');
});

test('send() after close() throws MWS_ECLOSED every time', async () => {
  const wss = await startWs();
  for (const connectFirst of [false, true]) {
    const c = new ManagedWebSocket(wss.url, [], { ...fast, startClosed: !connectFirst });
    if (connectFirst) await nextEvent(c, 'open');
    c.close();
    for (let i = 0; i < 50; i++) {
      assert.throws(() => c.send('late'), (e) => e.code === 'MWS_ECLOSED', `send ${i}`);
    }
    await closeClient(c);
    assert.equal(c.stats().msgsOut, 0);
  }
  await stopWs(wss);
});

test('maxRetries: 0 makes exactly one connection', async () => {
  const wss = await startWs({ echo: false });
  let connections = 0;
  wss.on('connection', (s) => {
    connections++;
    s.close(1001, 'going away');
  });
  const c = new ManagedWebSocket(wss.url, [], { ...fast, maxRetries: 0 });
  c.on('error', () => {});
  const [, , reason] = await nextEvent(c, 'state', (_f, t) => t === 'FAILED');
  assert.equal(reason, 'reconnection off');
  assert.equal(connections, 1);
  assert.throws(() => new ManagedWebSocket(wss.url, [], { maxRetries: -1, startClosed: true }),
    TypeError);
  await closeClient(c);
  await stopWs(wss);
});
