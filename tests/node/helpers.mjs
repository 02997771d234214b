// Shared by the node:test files: the built package, `ws` from the binding's
// devDependencies, and waiting on conditions with a bounded timeout.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const pkgDir = path.resolve(here, '..', '..', 'bindings', 'node');
const require = createRequire(path.join(pkgDir, 'package.json'));

export const mws = require(pkgDir);
export const { WebSocketServer, WebSocket } = require('ws');

// Every build has the server half; a build that lost it must fail the run,
// not skip the server's tests quietly.
if (!mws.hasServer) {
  throw new Error('the built managedws has no server (serverNew missing): a broken build');
}

/** Resolves when pred() is true; rejects after timeoutMs. */
export async function waitFor(pred, timeoutMs = 5000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The next `event` from `emitter` whose args satisfy pred, with a timeout. */
export function nextEvent(emitter, event, pred = () => true, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    function on(...args) {
      if (!pred(...args)) return;
      clearTimeout(t);
      emitter.off(event, on);
      resolve(args);
    }
    emitter.on(event, on);
  });
}

/** A ws server on 127.0.0.1 (port 0 unless given) that echoes unless told otherwise. */
export async function startWs({ port = 0, echo = true, ...opts } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, ...opts });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  if (echo) {
    wss.on('connection', (s) => s.on('message', (d, isBinary) => s.send(d, { binary: isBinary })));
  }
  wss.port = wss.address().port;
  wss.url = `ws://127.0.0.1:${wss.port}/`;
  return wss;
}

/** Closes a ws server and drops its connections at once. */
export async function stopWs(wss) {
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => wss.close(() => r()));
}

/** Closes a client and waits until it is CLOSED. */
export async function closeClient(c) {
  if (c.state === 'CLOSED') return;
  const done = nextEvent(c, 'state', (_f, to) => to === 'CLOSED');
  c.close();
  await done;
}

export const fast = {
  baseDelayMs: 50,
  maxDelayMs: 200,
  restartSpreadMs: 100,
  connectTimeoutMs: 2000,
  handshakeTimeoutMs: 2000,
};

/**
 * A TCP proxy on 127.0.0.1 in front of `target` port. mode: 'pass' forwards,
 * 'blackhole' keeps the sockets open but forwards nothing (a zombie link).
 * proxy.target can be changed: new connections go to the new port.
 */
export async function startProxy(targetPort) {
  const net = await import('node:net');
  const pairs = new Set();
  const proxy = { mode: 'pass', connections: 0, target: targetPort };
  const server = net.createServer((down) => {
    proxy.connections++;
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
  proxy.port = server.address().port;
  proxy.url = `ws://127.0.0.1:${proxy.port}/`;
  proxy.close = () => {
    for (const p of pairs) { p.down.destroy(); p.up.destroy(); }
    return new Promise((r) => server.close(() => r()));
  };
  return proxy;
}
