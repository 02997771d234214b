// Option parity with the C config (and the Python binding): every field of
// mws_client_config and mws_server_config has a Node name, or a reason why
// not; and the options added for parity -- the server's
// releasePortOnShutdown and rxBufferBytes, the client's localAddress -- do
// what they say against a real server on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mws, pkgDir, WebSocket, nextEvent, waitFor, closeClient, fast } from './helpers.mjs';

const { ManagedWebSocket, ManagedWebSocketServer } = mws;
const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures');
const header = path.resolve(here, '..', '..', 'include', 'managedws.h');

// ---- every C field has a Node name ----

// C field -> Node option, or a string starting "-" that says why there is none.
const CLIENT_FIELDS = {
  size: '- set by mws_client_config_init()',
  subprotocol: 'subprotocol', origin: 'origin', headers: 'headers',
  connect_timeout_ms: 'connectTimeoutMs', handshake_timeout_ms: 'handshakeTimeoutMs',
  base_delay_ms: 'baseDelayMs', max_delay_ms: 'maxDelayMs', jitter: 'jitter',
  jitter_proportion: 'jitterProportion', restart_spread_ms: 'restartSpreadMs', min_uptime_ms: 'minUptimeMs',
  max_attempts: 'maxAttempts', breaker_failures: 'breakerFailures', breaker_window_ms: 'breakerWindowMs',
  heartbeat_mode: 'heartbeatMode', heartbeat_interval_ms: 'heartbeatIntervalMs',
  heartbeat_timeout_ms: 'heartbeatTimeoutMs', queue_max_messages: 'queueMaxMessages',
  queue_max_bytes: 'queueMaxBytes', max_message_bytes: 'maxMessageBytes', ca_file: 'caFile',
  insecure: 'insecure', close_rules: 'closeRules', close_rule_count: '- the length of closeRules',
  random_seed: 'randomSeed', no_reconnect: 'noReconnect', no_offline_queue: 'noOfflineQueue',
  hold_queue_on_connect: 'holdQueueOnConnect', backoff_factor: 'backoffFactor',
  protocol_mode: 'protocolMode', session_lost_mode: 'sessionLostMode', ack_every: 'ackEvery',
  ack_delay_ms: 'ackDelayMs', local_address: 'localAddress',
};
const SERVER_FIELDS = {
  size: '- set by mws_server_config_init()',
  iface: 'host', port: 'port', cert_file: 'certFile', key_file: 'keyFile',
  heartbeat_timeout_ms: 'heartbeatTimeoutMs', check_interval_ms: 'checkIntervalMs',
  ping_interval_ms: 'pingIntervalMs', json_protocol: 'jsonProtocol', max_message_bytes: 'maxMessageBytes',
  max_connections: 'maxConnections', rate_per_sec: 'ratePerSec', rate_burst: 'rateBurst',
  origins: 'origins', origin_count: '- the length of origins',
  handshake_timeout_ms: 'handshakeTimeoutMs', send_queue_max_bytes: 'sendQueueMaxBytes',
  random_seed: 'randomSeed', json_allow_invalid: 'jsonAllowInvalid',
  max_handshakes_per_address: 'maxHandshakesPerAddress', protocol_mode: 'protocolMode',
  session_ttl_ms: 'sessionTtlMs', max_sessions: 'maxSessions', session_max_bytes: 'sessionMaxBytes',
  session_max_messages: 'sessionMaxMessages',
  keep_headers: '- captureHeaders: the binding keeps the headers it captures',
  keep_header_count: '- the length of captureHeaders',
  rx_buffer_bytes: 'rxBufferBytes', session_store_url: 'sessionStore',
  release_port_on_shutdown: 'releasePortOnShutdown',
};
// Read by JavaScript into other fields, not by the addon's option table.
const JS_READ = new Set(['closeRules', 'origins']);

/**
 * Asserts that make() -- which builds an object with one option set to a
 * probe value -- does not throw "unknown option" (a probe of the wrong type
 * may throw otherwise: the name was known).
 */
function known(js, make) {
  try {
    make({ probe: true }).close();
  } catch (e) {
    assert.doesNotMatch(String(e.message), /unknown/, `${js}: ${e.message}`);
  }
}

/** The field names of `typedef struct name { ... } name;` in the header. */
function headerFields(name) {
  const text = fs.readFileSync(header, 'utf8');
  const m = text.match(new RegExp(`typedef struct ${name} \\{([\\s\\S]*?)\\n\\} ${name};`));
  assert.ok(m, `${name} not found in ${header}`);
  const body = m[1].replace(/\/\*[\s\S]*?\*\//g, '');
  return [...body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*;/g)].map((x) => x[1]);
}

/** js name -> C field, from the OPT("js", KIND, field) table of an addon source. */
function addonTable(file) {
  const src = fs.readFileSync(path.join(pkgDir, 'src', file), 'utf8');
  return new Map([...src.matchAll(/OPT\("(\w+)", \w+, (\w+)\)/g)].map((x) => [x[1], x[2]]));
}

function checkParity(struct, fields, file, make) {
  const cFields = headerFields(struct);
  assert.deepEqual(cFields.filter((f) => !(f in fields)), [],
    `${struct} fields without a Node name: add them to the binding and to this table`);
  assert.deepEqual(Object.keys(fields).filter((f) => !cFields.includes(f)), [], 'fields the header no longer has');
  const table = addonTable(file);
  for (const [field, js] of Object.entries(fields)) {
    if (js.startsWith('-')) continue;
    known(js, (probe) => make(js, probe));
    if (!JS_READ.has(js)) assert.equal(table.get(js), field, `src/${file} reads ${js} into ${field}`);
  }
}

test('every mws_server_config field is a server option read into that field', () => {
  checkParity('mws_server_config', SERVER_FIELDS, 'server.c',
    (js, probe) => new ManagedWebSocketServer({ startClosed: true, [js]: probe }));
});

test('every mws_client_config field is a client option read into that field', () => {
  checkParity('mws_client_config', CLIENT_FIELDS, 'client.c',
    (js, probe) => new ManagedWebSocket('ws://127.0.0.1:9/', { startClosed: true, [js]: probe }));
});

// ---- releasePortOnShutdown ----

/** A raw WebSocket that never answers: resolves {sock, status} once the head came. */
function rawUpgrade(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => { sock.destroy(); reject(new Error('no answer to the upgrade')); }, 8000);
    const done = () => { clearTimeout(t); resolve({ sock, status: buf.split('\r\n')[0] }); };
    sock.on('data', (d) => { if (!buf.includes('\r\n')) { buf += d; if (buf.includes('\r\n')) done(); } });
    sock.on('close', done);
    sock.on('error', () => {});
    sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  });
}

/** null if a listener (SO_REUSEADDR, as Node sets) could take 127.0.0.1:port now, else the error code. */
function bindError(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (e) => resolve(e.code || String(e)));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(null)));
  });
}

/**
 * A server with `opts`, one raw client that never answers its close, and a
 * shutdown under way (the drain lasts until the client goes or 20 s). The
 * test's end (failed or not) ends the drain and frees the server.
 */
async function drainingServer(t, opts) {
  const d = { srv: new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, ...opts }), raw: null, sd: null };
  t.after(() => endDrain(d));
  await nextEvent(d.srv, 'listening');
  d.port = d.srv.port;
  const connected = nextEvent(d.srv, 'connection');
  d.raw = await rawUpgrade(d.port);
  assert.match(d.raw.status, / 101 /);
  await connected;
  d.sd = { settled: false };
  d.sd.promise = d.srv.shutdown({ code: 1012, spreadWindowMs: 5000, deadlineMs: 20000 })
    .finally(() => { d.sd.settled = true; });
  await waitFor(() => d.srv.stats().shuttingDown, 5000, 'the shutdown to begin');
  return d;
}

async function endDrain({ srv, raw, sd }) {
  if (raw) raw.sock.destroy(); // the drain ends
  if (sd) {
    let timer;
    const late = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('the shutdown did not end')), 15000); });
    await Promise.race([sd.promise, late]).finally(() => clearTimeout(timer));
  }
  await srv.close();
}

test('releasePortOnShutdown: a successor listens on the port while the old server still drains', { timeout: 60000 }, async (t) => {
  const d = await drainingServer(t, { releasePortOnShutdown: true });
  await waitFor(async () => (await bindError(d.port)) === null, 5000, `port ${d.port} to be free`);
  const next = new ManagedWebSocketServer({ host: '127.0.0.1', port: d.port });
  t.after(() => next.close());
  await nextEvent(next, 'listening');
  const ws = new WebSocket(`ws://127.0.0.1:${d.port}/`);
  t.after(() => ws.terminate());
  await nextEvent(ws, 'open', () => true, 5000);
  assert.equal(d.sd.settled, false, 'the old server still drains');
  assert.equal(d.srv.stats().shuttingDown, true);
});

test('without releasePortOnShutdown the port stays taken (503) until the drain ends', { timeout: 60000 }, async (t) => {
  const d = await drainingServer(t, {});
  const probe = await rawUpgrade(d.port);
  probe.sock.destroy();
  assert.match(probe.status, / 503 /);
  assert.equal(await bindError(d.port), 'EADDRINUSE');
  assert.equal(d.sd.settled, false, 'the server still drains');
});

test('releasePortOnShutdown takes a boolean', () => {
  for (const v of ['true', 1, null]) {
    assert.throws(() => new ManagedWebSocketServer({ startClosed: true, releasePortOnShutdown: v }),
      { name: 'TypeError', message: /releasePortOnShutdown must be a boolean/ });
  }
  new ManagedWebSocketServer({ startClosed: true, releasePortOnShutdown: false }).close();
});

// ---- rxBufferBytes ----

test('rxBufferBytes: 0 or undefined is the default; out of 128..1048576 is a RangeError, not an integer a TypeError', () => {
  for (const v of [-1, 1, 127, 1048577]) {
    assert.throws(() => new ManagedWebSocketServer({ startClosed: true, rxBufferBytes: v }),
      { name: 'RangeError', message: /rxBufferBytes must be 0 \(the default, 512\) or from 128 to 1048576/ });
  }
  for (const v of ['4096', 4096.5, NaN, true]) {
    assert.throws(() => new ManagedWebSocketServer({ startClosed: true, rxBufferBytes: v }),
      { name: 'TypeError', message: /rxBufferBytes must be an integer/ });
  }
  for (const v of [0, undefined, 128, 1048576]) {
    new ManagedWebSocketServer({ startClosed: true, rxBufferBytes: v }).close();
  }
});

for (const rx of [128, 1048576]) {
  test(`rxBufferBytes ${rx}: a 2 MiB message is echoed whole`, { timeout: 30000 }, async (t) => {
    const srv = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, rxBufferBytes: rx, maxMessageBytes: 4 << 20 });
    t.after(() => srv.close());
    srv.on('connection', (conn) => conn.on('message', (d, b) => conn.send(d, { binary: b })));
    await nextEvent(srv, 'listening');
    const big = Buffer.alloc(2 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/`, { maxPayload: 4 << 20 });
    t.after(() => ws.terminate());
    await nextEvent(ws, 'open', () => true, 5000);
    const echoed = nextEvent(ws, 'message', () => true, 20000);
    ws.send(big);
    const [data, isBinary] = await echoed;
    assert.equal(isBinary, true);
    assert.equal(Buffer.compare(data, big), 0, 'the echo differs');
  });
}

/** The recv() counter (fixtures/recv_max.c), built once with the system's cc. */
let recvShim;
function buildRecvShim() {
  if (!recvShim) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mws-recv-'));
    recvShim = path.join(dir, 'recv_max.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', recvShim, path.join(fixtures, 'recv_max.c')]);
  }
  return recvShim;
}

/**
 * Runs fixtures/rx-buffer-server.cjs (rxBufferBytes `rx`, or 'none') under
 * the counter, echoes one `size`-byte message through it with a ws client;
 * returns the largest number of bytes one recv() of the server took.
 */
async function largestServerRead(rx, size) {
  const so = buildRecvShim();
  const out = path.join(path.dirname(so), `recv-${rx}.txt`);
  fs.rmSync(out, { force: true });
  const child = spawn(process.execPath, [path.join(fixtures, 'rx-buffer-server.cjs'), String(rx)], {
    env: { ...process.env, MWS_PKG: pkgDir, LD_PRELOAD: so, MWS_RECV_OUT: out },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20000);
  try {
    const port = await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        log += d;
        const m = log.match(/port (\d+)/);
        if (m) resolve(Number(m[1]));
      });
      child.stderr.on('data', (d) => { log += d; });
      exited.then(() => reject(new Error(`the server exited early: ${log}`)));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await nextEvent(ws, 'open', () => true, 5000);
    const echoed = nextEvent(ws, 'message', () => true, 10000);
    ws.send(Buffer.alloc(size, 0x5a));
    assert.equal((await echoed)[0].length, size);
    ws.close();
    assert.equal(await exited, 0, log);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
  const [calls, largest] = fs.readFileSync(out, 'utf8').trim().split(' ').map(Number);
  assert.ok(calls > 0, 'the recv() counter was not reached');
  return largest;
}

test('rxBufferBytes reaches libwebsockets: one read takes more than the default 512 bytes only with it', { timeout: 60000 }, async (t) => {
  t.after(() => { if (recvShim) fs.rmSync(path.dirname(recvShim), { recursive: true, force: true }); });
  // libwebsockets reads a WebSocket with recv() of at most its receive
  // buffer (plus LWS_PRE headroom, 16 bytes); 64 KiB is its per-thread cap.
  const big = await largestServerRead(65536, 256 * 1024);
  assert.ok(big > 4096, `with rxBufferBytes 65536 the largest read was ${big} bytes`);
  const dflt = await largestServerRead('none', 256 * 1024);
  t.diagnostic(`largest server read: ${big} bytes with rxBufferBytes 65536, ${dflt} without`);
  assert.ok(dflt <= 1024, `with the default 512 a read took ${dflt} bytes`);
});

// ---- localAddress ----

test('localAddress: the connection leaves from that address (127.0.0.2)', { timeout: 30000 }, async (t) => {
  const srv = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0 });
  let c = null;
  t.after(async () => {
    if (c) await closeClient(c);
    await srv.close();
  });
  await nextEvent(srv, 'listening');
  const conn = nextEvent(srv, 'connection', () => true, 8000);
  c = new ManagedWebSocket(`ws://127.0.0.1:${srv.port}/`, { ...fast, localAddress: '127.0.0.2' });
  const [, info] = await conn;
  assert.equal(info.peerIp, '127.0.0.2');
});

test('localAddress must be an IP literal (TypeError)', () => {
  for (const v of ['localhost', '', 7]) {
    assert.throws(() => new ManagedWebSocket('ws://127.0.0.1:9/', { startClosed: true, localAddress: v }),
      { name: 'TypeError', message: /localAddress must be/ });
  }
});
