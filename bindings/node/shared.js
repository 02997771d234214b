'use strict';
// What the client (index.js) and the server (server.js) halves share: the
// addon, the enums, option conversion, and how events and messages arrive.

const path = require('node:path');

function loadBinding() {
  const tries = ['build/Release/managedws.node', 'build/Debug/managedws.node'];
  let first;
  for (const t of tries) {
    try {
      return require(path.join(__dirname, t));
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
      first = first || e;
    }
  }
  throw first;
}
const binding = loadBinding();

const {
  JITTER, HEARTBEAT, CLOSE_ACTION, PROTOCOL_MODE, SESSION_LOST_MODE,
  makeError, headerLines, nativeOptions, clientOptions,
} = require('./lib/options.js');

const STATES = Object.freeze(['DISCONNECTED', 'CONNECTING', 'CONNECTED', 'RECONNECTING', 'FAILED', 'CLOSED']);
const SESSION_EVENTS = Object.freeze(['none', 'started', 'resumed', 'lost', 'suspended']);

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

// send()'s options.binary: forces the message type; undefined: by the data.
function binaryOption(options) {
  return options && options.binary !== undefined ? !!options.binary : undefined;
}

// The one function the addon calls with events from the I/O thread (through
// a thread-safe function), with the owning object first.
binding.setDispatcher((owner, kind, ...args) => {
  owner._onNative(kind, ...args);
});
const hasServer = typeof binding.serverNew === 'function';

function toArrayBuffer(buf) {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf.buffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

// A received message as binaryType asks: binary ones arrive as Buffers.
function messageData(data, isBinary, binaryType) {
  return isBinary && binaryType === 'arraybuffer' ? toArrayBuffer(data) : data;
}

module.exports = {
  binding,
  hasServer,
  STATES,
  JITTER,
  HEARTBEAT,
  CLOSE_ACTION,
  PROTOCOL_MODE,
  SESSION_LOST_MODE,
  SESSION_EVENTS,
  CONNECTING,
  OPEN,
  CLOSING,
  CLOSED,
  makeError,
  headerLines,
  nativeOptions,
  clientOptions,
  binaryOption,
  messageData,
};
