// The same measurement as client_bench.c with Node's `ws` client, so both
// clients are measured against the same servers in the same run.
//   node ws_client_bench.mjs URL throughput|rtt COUNT SIZE
import { createRequire } from 'node:module';
const require = createRequire(new URL('../tests/peers/package.json', import.meta.url));
const WebSocket = require('ws');

const [url, mode, countArg, sizeArg] = process.argv.slice(2);
const count = Number(countArg), size = Number(sizeArg);
const payload = Buffer.alloc(size, 'x');
const ws = new WebSocket(url);
const timer = setTimeout(() => { console.error('bench timed out'); process.exit(1); }, 60000);

ws.on('open', () => {
  let received = 0;
  if (mode === 'throughput') {
    const t0 = process.hrtime.bigint();
    ws.on('message', () => {
      if (++received === count) {
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        console.log(`client=ws mode=throughput msgs=${count} size=${size} seconds=${secs.toFixed(3)} ` +
          `msg_per_s=${(count / secs).toFixed(0)} mb_per_s=${(count * size / secs / 1e6).toFixed(1)}`);
        clearTimeout(timer);
        ws.close();
      }
    });
    for (let i = 0; i < count; i++) ws.send(payload);
  } else {
    const rtt = [];
    let t0;
    const next = () => { t0 = process.hrtime.bigint(); ws.send(payload); };
    ws.on('message', () => {
      rtt.push(Number(process.hrtime.bigint() - t0) / 1e3);
      if (++received < count) return next();
      rtt.sort((a, b) => a - b);
      const q = (p) => rtt[Math.floor(count * p)].toFixed(1);
      console.log(`client=ws mode=rtt msgs=${count} size=${size} p50_us=${q(0.5)} p90_us=${q(0.9)} p99_us=${q(0.99)}`);
      clearTimeout(timer);
      ws.close();
    });
    next();
  }
});
ws.on('error', (e) => { console.error(String(e)); process.exit(1); });
