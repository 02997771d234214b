// Node `ws` server for bench/run.sh: node server.mjs echo|sink
// Prints "PORT n". In sink mode binary messages are counted and a text
// message is answered with the count (see bench/README.md).
import { WebSocketServer } from 'ws';

const mode = process.argv[2] || 'echo';
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on('listening', () => process.stdout.write(`PORT ${wss.address().port}\n`));
wss.on('connection', (ws) => {
  let count = 0;
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    if (mode !== 'sink') return ws.send(data, { binary: isBinary });
    if (isBinary) count++;
    else ws.send(String(count));
  });
});
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
