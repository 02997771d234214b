// Node clients for bench/run.sh, the `ws` package or the managedws Node
// binding (bindings/node) with the same code:
//   node client.mjs ws|managedws URL throughput|rtt COUNT SIZE
// throughput: COUNT binary messages, then "__sync"; the clock stops at the
// text answer. rtt: the next message leaves from the message handler (the
// event loop is the app thread). One JSON line on stdout.
import { createRequire } from 'node:module';

const [lib, url, mode, countArg, sizeArg] = process.argv.slice(2);
const count = Number(countArg), size = Number(sizeArg);
const require = createRequire(import.meta.url);
const payload = Buffer.alloc(size, 'x');
let ws;
if (lib === 'managedws') {
  const { ManagedWebSocket } = require('../../../bindings/node');
  ws = new ManagedWebSocket(url, { heartbeatMode: 'off', queueMaxMessages: 1 << 20, queueMaxBytes: 1 << 30 });
} else {
  const WebSocket = require('ws');
  ws = new WebSocket(url, { perMessageDeflate: false });
}
const name = lib === 'managedws' ? 'managedws-node' : 'ws';
const timer = setTimeout(() => { console.error('bench timed out'); process.exit(1); }, 120000);
const finish = (fields) => {
  console.log(JSON.stringify({ client: name, mode, msgs: count, size, ...fields }));
  clearTimeout(timer);
  ws.close();
  setTimeout(() => process.exit(0), 200).unref();
};

ws.on('open', () => {
  if (mode === 'throughput') {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(c0); // the whole process: every thread
      const cpu_s = (cpu.user + cpu.system) / 1e6;
      // The sink's answer: how many of our messages it counted.
      const answer = String(data);
      finish({ seconds: secs, msg_per_s: count / secs, cpu_s, counted: /^\d+$/.test(answer) ? Number(answer) : null });
    });
    for (let i = 0; i < count; i++) ws.send(payload, { binary: true });
    ws.send('__sync');
    return;
  }
  const rtt = [];
  let t0;
  const next = () => { t0 = process.hrtime.bigint(); ws.send(payload, { binary: true }); };
  ws.on('message', () => {
    rtt.push(Number(process.hrtime.bigint() - t0) / 1e3);
    if (rtt.length < count) return next();
    rtt.sort((a, b) => a - b);
    const q = (p) => rtt[Math.floor(count * p)];
    finish({ p50_us: q(0.5), p90_us: q(0.9), p99_us: q(0.99) });
  });
  next();
});
ws.on('error', (e) => { console.error(String(e)); process.exit(1); });
