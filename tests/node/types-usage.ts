// Checked with `tsc --noEmit -p tests/node` (types.test.mjs): a small program
// written the way a user would, against bindings/node/index.d.ts.
import {
  ManagedWebSocket,
  ManagedWebSocketServer,
  type ClientOptions,
  type ManagedState,
  type MwsError,
  type ServerConnection,
  type SessionInfo,
} from 'managedws';

const options: ClientOptions = {
  baseDelayMs: 200,
  maxDelayMs: 5000,
  jitter: 'full',
  heartbeatMode: 'ping',
  heartbeatIntervalMs: 10000,
  heartbeatTimeoutMs: 5000,
  queueMaxMessages: 100,
  closeRules: { 4001: 'fail', 1013: 'reconnect' },
  headers: { Authorization: 'Bearer x' },
  maxRetries: 10, // reconnecting-websocket's name
  binaryType: 'arraybuffer',
};

const ws = new ManagedWebSocket('ws://127.0.0.1:8080/', ['chat'], options);
const ws2 = new ManagedWebSocket(new URL('ws://127.0.0.1:8080/'), { startClosed: true });
ws2.connect();

ws.on('open', () => ws.send('hello'));
ws.on('message', (data, isBinary) => {
  if (typeof data === 'string') console.log(data.toUpperCase());
  else if (!isBinary) throw new Error('text is a string');
});
ws.on('state', (from: ManagedState, to: ManagedState, reason: string, code: number, detail) => {
  console.log(from, to, reason, code, detail.retryDelayMs, detail.attempt);
});
ws.on('error', (err: MwsError) => console.log(err.code === 'MWS_EFAILED'));
ws.onmessage = (ev) => console.log(ev.data, ev.isBinary, ev.target.url);
ws.onclose = (ev) => console.log(ev.code, ev.reason, ev.wasClean);
ws.onerror = null;
ws.addEventListener('open', (ev) => console.log(ev.type));

const st = ws.stats();
const n: number = st.queueMessages + st.rttP99Us;
const ready: boolean = ws.readyState === ManagedWebSocket.OPEN || ws.readyState === ws.CONNECTING;
ws.send(Buffer.from([1, 2]));
ws.send(new Uint8Array(4));
ws.send(new ArrayBuffer(8), { binary: true }, (err) => console.log(err));
try {
  ws.send('x');
} catch (e) {
  if ((e as MwsError).code === 'MWS_EQUEUEFULL') console.log('back off');
}
ws.setCredentials({ headers: { Authorization: 'Bearer y' }, query: 'token=y' });
ws.unref().ref();
ws.close(1000, 'bye');
console.log(n, ready, ws.state, ws.binaryType, ws.bufferedAmount);

const server = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, heartbeatTimeoutMs: 30000 }, () => {
  console.log('listening on', server.port);
});
server.on('connection', (conn: ServerConnection, info) => {
  console.log(conn.id, info.peerIp, info.path);
  conn.on('message', (data, isBinary) => conn.send(data, { binary: isBinary }));
  conn.on('close', (code, reason, why) => console.log(code, reason, why === 'reaped'));
});
server.broadcast('to all');
void server.shutdown({ code: 1012, spreadWindowMs: 1000, deadlineMs: 3000 }).then((clean: boolean) => {
  console.log(clean, server.stats().connections);
  return server.close();
});

// mws.v1: sessions and delivery receipts.
const v1 = new ManagedWebSocket('ws://127.0.0.1:8080/', { protocolMode: 'require', sessionLostMode: 'discard', ackEvery: 8, ackDelayMs: 20 });
v1.on('session', (info: SessionInfo) => console.log(info.event, info.sessionId));
v1.on('resumed', (info) => console.log(info.unacked));
v1.on('sessionlost', (info) => console.log(info.resent, info.discarded, info.discardedFirst, info.discardedLast));
const num: number = v1.send('x');
void v1.acked(num, { timeoutMs: 1000 }).then((n: number) => console.log(n, v1.ackedNumber, v1.session?.event));
void v1.flush().then(() => console.log(v1.stats().ackedNumber, v1.stats().lostResent));
server.on('suspended', (conn) => console.log(conn?.suspended));
server.on('resumed', (conn) => console.log(conn?.id, server.stats().sessionsResumed));
new ManagedWebSocketServer({ protocolMode: 'plain', sessionTtlMs: 1000, maxSessions: 10, sessionMaxBytes: 1 << 20, sessionMaxMessages: 100 });
new ManagedWebSocketServer({ rxBufferBytes: 4096, releasePortOnShutdown: true });
new ManagedWebSocket('ws://127.0.0.1:8080/', { localAddress: '127.0.0.2' });
// @ts-expect-error: protocolMode is 'offer' | 'require' | 'plain'
new ManagedWebSocket('ws://x/', { protocolMode: 'sometimes' });

// @ts-expect-error: binaryType is 'nodebuffer' | 'arraybuffer'
ws.binaryType = 'blob';
// @ts-expect-error: a number is not sendable
ws.send(42);
// @ts-expect-error: unknown option
new ManagedWebSocket('ws://x/', { noSuchOption: 1 });

// issue 12 idioms
async function idioms(): Promise<void> {
  const ws = new ManagedWebSocket('ws://127.0.0.1:1/', {
    onOpen: async (w) => { w.send('resubscribe'); },
    offlineQueue: true,
    reconnectionDelayGrowFactor: 1.5,
    minReconnectionDelay: 100.5,
  });
  const st: ManagedState = await ws.waitFor(['CONNECTED', 'FAILED'], { timeout: 100 });
  await ws.opened;
  for await (const msg of ws) { void msg; break; }
  ws.on('drain', () => {});
  ws.clearQueue();
  void st;
}
void idioms;
