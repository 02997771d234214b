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

const STATES = Object.freeze(['DISCONNECTED', 'CONNECTING', 'CONNECTED', 'RECONNECTING', 'FAILED', 'CLOSED']);
const JITTER = Object.freeze({ full: 1, equal: 2, decorrelated: 3, proportional: 4, none: 5 });
const HEARTBEAT = Object.freeze({ ping: 1, json: 2, off: 3 });
const CLOSE_ACTION = Object.freeze({ default: 0, reconnect: 1, restart: 2, fail: 3, close: 4 });
// mws.v1 (docs/PROTOCOL.md): mws_protocol_mode, mws_session_lost_mode, mws_session_event.
const PROTOCOL_MODE = Object.freeze({ offer: 0, require: 1, plain: 2 });
const SESSION_LOST_MODE = Object.freeze({ resend: 0, discard: 1 });
const SESSION_EVENTS = Object.freeze(['none', 'started', 'resumed', 'lost', 'suspended']);

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function makeError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function headerLines(h, what) {
  if (h == null) return undefined;
  if (typeof h === 'string') return h;
  if (typeof h !== 'object') throw new TypeError(`${what} must be a string or an object`);
  const entries = h instanceof Map ? [...h] : Object.entries(h);
  return entries.map(([k, v]) => {
    const line = `${k}: ${v}`;
    if (/[\r\n]/.test(line)) throw new TypeError(`${what}: header ${k} contains CR or LF`);
    return line;
  }).join('\n');
}

function normaliseCloseRules(rules) {
  const pairs = Array.isArray(rules) ? rules.map((r) => (Array.isArray(r) ? r : [r.code, r.action]))
    : Object.entries(rules).map(([k, v]) => [Number(k), v]);
  return pairs.map(([code, action]) => {
    const a = typeof action === 'string' ? CLOSE_ACTION[action] : action;
    if (!Number.isInteger(code) || !Number.isInteger(a)) {
      throw new TypeError(`closeRules: bad rule ${JSON.stringify([code, action])}`);
    }
    return [code, a];
  });
}

// A name from `names` (jitter: 'full') as its number; numbers pass as they are.
function enumOption(names, value, what) {
  const v = typeof value === 'string' ? names[value] : value;
  if (v === undefined) throw new TypeError(`${what} must be one of ${Object.keys(names).join(', ')}`);
  return v;
}

// One option's value in the form the addon reads, by the kind its table gives.
function optionValue(kind, value) {
  switch (kind) {
    case 'headers': return headerLines(value, 'headers');
    case 'jitter': return enumOption(JITTER, value, 'jitter');
    case 'heartbeat': return enumOption(HEARTBEAT, value, 'heartbeatMode');
    case 'closeRules': return normaliseCloseRules(value);
    case 'protocolMode': return enumOption(PROTOCOL_MODE, value, 'protocolMode');
    case 'sessionLostMode': return enumOption(SESSION_LOST_MODE, value, 'sessionLostMode');
    case 'origins': return [...value].map(String);
    case 'seed': return typeof value === 'bigint' ? Number(value) : value;
    case 'boolean': return !!value;
    default: return value;
  }
}

// The options object for clientNew / serverNew: names from `kinds` (or an
// alias of one) only, undefined ones dropped, names in `skip` left to JS.
function nativeOptions(options, kinds, { skip, aliases, what }) {
  const out = {};
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || skip.has(name)) continue;
    const key = (aliases && aliases[name]) || name;
    const kind = kinds[key];
    if (!kind) throw new TypeError(`managedws: unknown ${what} ${name}`);
    out[key] = optionValue(kind, value);
  }
  return out;
}

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
  binaryOption,
  messageData,
};
