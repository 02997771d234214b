// A real browser against a managedws server: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. The page comes from a tiny
// HTTP server on 127.0.0.1 (Chromium blocks a public page from opening
// sockets to loopback: Local Network Access), and uses the browser's native
// WebSocket: it waits for connection_ack, sends a JSON heartbeat and expects
// heartbeat_ack, and expects its messages echoed.
//
//   node browser_client.mjs URL
//
// Prints one JSON object on stdout; exit code 0 if every check passed.
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = process.argv[2];
const out = { ok: false };
const pages = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><title>mws</title>');
});
await new Promise((resolve) => pages.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${pages.address().port}`;
out.page_origin = origin;
const profile = mkdtempSync(join(tmpdir(), 'mws-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  const page = context.pages()[0] || await context.newPage();
  await page.goto(origin + '/index.html');
  const result = await page.evaluate((wsUrl) => new Promise((resolve) => {
    const r = { events: [] };
    const ws = new WebSocket(wsUrl);
    ws.binaryType = 'arraybuffer';
    let step = 0;
    let ts = 0;
    const done = (why) => { r.end = why; resolve(r); };
    setTimeout(() => done('timeout'), 10000);
    ws.onmessage = (ev) => {
      if (step === 0) {
        const m = JSON.parse(ev.data);
        r.ack_type = m.type;
        r.connection_id = m.connectionId;
        ts = Date.now();
        ws.send(JSON.stringify({ type: 'heartbeat', timestamp: ts }));
        step = 1;
      } else if (step === 1) {
        const m = JSON.parse(ev.data);
        r.hb_ack_ok = m.type === 'heartbeat_ack' && m.timestamp === ts;
        ws.send('hello from chromium');
        step = 2;
      } else if (step === 2) {
        r.text_echo_ok = ev.data === 'hello from chromium';
        ws.send(new Uint8Array([7, 8, 9]));
        step = 3;
      } else if (step === 3) {
        const b = new Uint8Array(ev.data);
        r.binary_echo_ok = b.length === 3 && b[0] === 7 && b[2] === 9;
        step = 4;
        ws.close(1000, 'browser done');
      }
    };
    ws.onclose = (ev) => { r.close_code = ev.code; done('closed'); };
    ws.onerror = () => r.events.push('error');
  }), url);
  Object.assign(out, result);
  out.user_agent = await page.evaluate(() => navigator.userAgent);
  out.ok = out.ack_type === 'connection_ack' && !!out.hb_ack_ok && !!out.text_echo_ok &&
    !!out.binary_echo_ok && out.close_code === 1000;
} catch (e) {
  out.error = String(e);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  pages.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(out.ok ? 0 : 1);
