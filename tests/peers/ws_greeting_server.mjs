#!/usr/bin/env node
// Node `ws` with its defaults (it selects the first subprotocol a client
// offers), greeting each connection with a JSON connection_ack text before
// echoing every message: the case where a client offering mws.v1 must fall
// back to plain and not deliver the echo of its own hello. Binds 127.0.0.1,
// prints "PORT <n>" once it listens; SIGTERM ends it.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
let n = 0;
wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'connection_ack', connectionId: 7000 + ++n }));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => process.stdout.write(`PORT ${wss.address().port}\n`));
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
});
