// sessionStore: mws.v1 sessions in Redis through the Node binding, with a
// real redis-server started on a free port for the test (Redis cannot bind
// port 0: a port is probed free, another tried if it still fails). Skipped
// loudly when redis-server is not installed (scripts/setup.sh installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, execFileSync } from 'node:child_process';
import { mws, nextEvent, waitFor, closeClient, fast } from './helpers.mjs';

const { ManagedWebSocket, ManagedWebSocketServer } = mws;

function redisServerPath() {
  try { return execFileSync('sh', ['-c', 'command -v redis-server']).toString().trim() || null; } catch { return null; }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function pong(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

async function startRedis(exe) {
  for (let i = 0; i < 5; i++) {
    const port = await freePort();
    const p = spawn(exe, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' });
    const end = Date.now() + 5000;
    while (Date.now() < end && p.exitCode === null) {
      if (await pong(port)) return { url: `redis://127.0.0.1:${port}/0`, stop: () => new Promise((r) => { p.once('exit', r); p.kill('SIGTERM'); }) };
      await new Promise((r) => setTimeout(r, 20));
    }
    p.kill('SIGKILL');
  }
  throw new Error('redis-server did not start');
}

const exe = redisServerPath();
const skip = exe ? false : 'SKIPPED: redis-server is not installed (scripts/setup.sh installs it)';

test('an unreachable session store is MWS_ESTORE', { skip }, async () => {
  const port = await freePort();
  assert.throws(() => new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, sessionStore: `redis://127.0.0.1:${port}/0` }),
    (e) => e.code === 'MWS_ESTORE');
});

test('a send and a broadcast from another node reach the client', { skip }, async () => {
  const redis = await startRedis(exe);
  const a = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, sessionStore: redis.url });
  const b = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0, sessionStore: redis.url });
  const c = new ManagedWebSocket(`ws://127.0.0.1:${a.port}/`, fast);
  try {
    const [conn] = await nextEvent(a, 'connection');
    const got = [];
    c.on('message', (d) => got.push(String(d)));
    b.send(conn.id, 'from b'); // held by node a: through Redis
    b.broadcast('to every node');
    await waitFor(() => got.length === 2, 5000, 'messages from node b');
    assert.deepEqual(got, ['from b', 'to every node']);
  } finally {
    await closeClient(c);
    await a.close();
    await b.close();
    await redis.stop();
  }
});
