#!/usr/bin/env node
// A WebSocket peer that is not ours: Node's `ws` package, for
// interoperability tests. Same interface as py_ws_server.py:
//
// Binds 127.0.0.1 (port 0 unless --port) and prints one line "PORT <n>" on
// stdout once it listens, then nothing more on stdout. Per connection it
// echoes every message (text as text, binary as binary) and understands
// these text commands:
//
//   __close <code> <reason>  close this connection with that code/reason
//   __headers                reply with a JSON object of the request headers
//                            (names lower-cased, repeats joined ", ")
//   __count                  reply with the number of WebSocket connections
//                            accepted so far, as decimal text
//
// Flags:
//   --port N            bind this port (to come back after a restart)
//   --json-heartbeat    answer {"type":"heartbeat",...} with
//                       {"type":"heartbeat_ack","timestamp":<same>};
//                       otherwise such messages are echoed
//   --reject-status S   refuse every handshake with HTTP status S
//   --no-pong           never answer pings (ws's autoPong: false)
//   --deflate           accept permessage-deflate (off by default, as in ws)
//   --max-size BYTES    largest accepted message; default 64 MiB
//   --log FILE          append one JSON object per line and event:
//                       connect (with headers), reject, message, close
//
// SIGTERM and SIGINT close every connection (1001) and exit with status 0.
// Run `npm ci` in this directory first.
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'json-heartbeat': { type: 'boolean', default: false },
    'reject-status': { type: 'string' },
    'no-pong': { type: 'boolean', default: false },
    deflate: { type: 'boolean', default: false },
    'max-size': { type: 'string', default: String(64 * 1024 * 1024) },
    log: { type: 'string' },
  },
});

function log(event, fields) {
  if (!opt.log) return;
  // Synchronous so that a test reading the file sees each event in order.
  appendFileSync(opt.log, JSON.stringify({ event, time: Date.now() / 1000, ...fields }) + '\n');
}

function headersOf(req) {
  const headers = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i].toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${raw[i + 1]}` : raw[i + 1];
  }
  return headers;
}

const rejectStatus = opt['reject-status'] ? Number(opt['reject-status']) : null;
let accepted = 0;
let nextId = 0;

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(opt.port),
  autoPong: !opt['no-pong'],
  perMessageDeflate: opt.deflate,
  maxPayload: Number(opt['max-size']),
  verifyClient: rejectStatus === null ? undefined : (info, cb) => {
    log('reject', { path: info.req.url, status: rejectStatus, headers: headersOf(info.req) });
    cb(false, rejectStatus, 'rejected by test peer');
  },
});

wss.on('listening', () => {
  process.stdout.write(`PORT ${wss.address().port}\n`);
});

wss.on('connection', (ws, req) => {
  accepted += 1;
  const id = ++nextId;
  const headers = headersOf(req);
  log('connect', { id, path: req.url, headers });

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      log('message', { id, type: 'binary', length: data.length });
      ws.send(data, { binary: true });
      return;
    }
    const text = data.toString('utf8');
    log('message', { id, type: 'text', length: text.length, data: text.slice(0, 1000) });
    if (text.startsWith('__close')) {
      const parts = text.split(' ');
      const code = parts.length > 1 ? Number(parts[1]) : 1000;
      const reason = parts.slice(2).join(' ');
      try {
        ws.close(code, reason);
      } catch (err) {
        ws.send(`__close failed: ${err.message}`);
      }
      return;
    }
    if (text === '__headers') {
      ws.send(JSON.stringify(headers));
      return;
    }
    if (text === '__count') {
      ws.send(String(accepted));
      return;
    }
    if (opt['json-heartbeat']) {
      let obj = null;
      try {
        obj = JSON.parse(text);
      } catch {
        obj = null;
      }
      if (obj && typeof obj === 'object' && obj.type === 'heartbeat') {
        ws.send(JSON.stringify({ type: 'heartbeat_ack', timestamp: obj.timestamp }));
        return;
      }
    }
    ws.send(text);
  });

  ws.on('close', (code, reason) => {
    log('close', { id, code, reason: reason.toString('utf8') });
    if (shuttingDown && wss.clients.size === 0) process.exit(0);
  });
  // A reset from the client must not crash the peer.
  ws.on('error', () => {});
});

let shuttingDown = false;

// Exits once every connection has logged its close.
function shutdown() {
  if (shuttingDown) return;
  shuttingDown = true;
  wss.close();
  if (wss.clients.size === 0) process.exit(0);
  for (const ws of wss.clients) ws.close(1001, 'server shutting down');
  // A client that never answers the close (a zombie behind the fault
  // proxy) must not keep the peer alive.
  setTimeout(() => {
    for (const ws of wss.clients) ws.terminate();
    process.exit(0);
  }, 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
