// A round trip through an INSTALLED managedws npm package.
//
// scripts/check-packages.sh copies this file into a fresh folder outside the
// repository, installs the packed tarball there and runs it: the package's
// own ManagedWebSocketServer and ManagedWebSocket exchange a text and a
// binary message on 127.0.0.1. Prints one line and exits 0, or says what went
// wrong and exits 1 (at most 10 s).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const WAIT_MS = 10000;
function fail(why) {
  console.error(`roundtrip.cjs: ${why}`);
  process.exit(1);
}
setTimeout(() => fail(`no round trip within ${WAIT_MS} ms`), WAIT_MS).unref();

const entry = require.resolve('managedws');
const pkgDir = path.dirname(entry);
const expected = path.join(__dirname, 'node_modules', 'managedws');
if (fs.realpathSync(pkgDir) !== fs.realpathSync(expected)) {
  fail(`managedws resolved to ${pkgDir}, not to the installed ${expected}`);
}
const { ManagedWebSocket, ManagedWebSocketServer } = require('managedws');
const version = require('managedws/package.json').version;
if (process.env.MWS_EXPECT_VERSION && version !== process.env.MWS_EXPECT_VERSION) {
  fail(`the installed package.json says ${version}, expected ${process.env.MWS_EXPECT_VERSION}`);
}

const server = new ManagedWebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('message', (conn, data, isBinary) => server.send(conn, data, { binary: isBinary }));
const client = new ManagedWebSocket(`ws://127.0.0.1:${server.port}/`);
const replies = [];
client.on('open', () => {
  client.send('hello through the package');
  client.send(Buffer.from([0, 1, 0x62]), { binary: true });
});
client.on('message', (data, isBinary) => {
  replies.push(isBinary ? `binary:${Buffer.from(data).toString('hex')}` : `text:${data}`);
  if (replies.length === 2) client.close(1000, 'done');
});
client.on('close', async () => {
  await server.close();
  const want = ['text:hello through the package', 'binary:000162'];
  if (JSON.stringify(replies) !== JSON.stringify(want)) fail(`echo differs: ${JSON.stringify(replies)}`);
  console.log(`roundtrip.cjs: managedws ${version} from ${pkgDir}: echo ok`);
});
