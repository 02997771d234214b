// A WebSocket client that is not ours (Node `ws`), speaking the JSON
// heartbeat protocol against a managedws server.
//
//   node ws_client.mjs URL
//
// Expects connection_ack first, checks heartbeat -> heartbeat_ack (same
// timestamp), a text and a binary echo, then closes with 1000 "done".
// Prints one JSON object on stdout; exit code 0 if every check passed.
import WebSocket from 'ws';

const url = process.argv[2];
const out = { ok: false };
const ws = new WebSocket(url, { perMessageDeflate: false });
const timer = setTimeout(() => finish('timeout'), 10000);
let step = 0;
let ts = 0;

function finish(error) {
  clearTimeout(timer);
  if (error) out.error = error;
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(out.ok ? 0 : 1);
}

ws.on('message', (data, isBinary) => {
  if (step === 0) {
    const m = JSON.parse(data.toString());
    out.ack_type = m.type;
    out.connection_id = m.connectionId;
    ts = Date.now();
    ws.send(JSON.stringify({ type: 'heartbeat', timestamp: ts, connectionId: 'node' }));
    step = 1;
  } else if (step === 1) {
    const m = JSON.parse(data.toString());
    out.hb_ack_ok = m.type === 'heartbeat_ack' && m.timestamp === ts;
    ws.send('hello');
    step = 2;
  } else if (step === 2) {
    out.text_echo_ok = !isBinary && data.toString() === 'hello';
    ws.send(Buffer.from([0, 1, 2]));
    step = 3;
  } else if (step === 3) {
    out.binary_echo_ok = isBinary && Buffer.compare(data, Buffer.from([0, 1, 2])) === 0;
    out.ok = out.ack_type === 'connection_ack' && out.hb_ack_ok && out.text_echo_ok &&
      out.binary_echo_ok;
    ws.close(1000, 'done');
    step = 4;
  }
});
ws.on('close', (code) => { out.close_code = code; finish(); });
ws.on('error', (e) => finish(String(e)));
