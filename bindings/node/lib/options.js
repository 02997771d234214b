'use strict';
// The options of ManagedWebSocket and ManagedWebSocketServer: names, aliases
// from reconnecting-websocket, and values checked with the name the user wrote.

const { isIP } = require('node:net');

const JITTER = Object.freeze({ full: 1, equal: 2, decorrelated: 3, proportional: 4, none: 5 });
const HEARTBEAT = Object.freeze({ ping: 1, json: 2, off: 3 });
const CLOSE_ACTION = Object.freeze({ default: 0, reconnect: 1, restart: 2, fail: 3, close: 4 });
// mws.v1 (docs/PROTOCOL.md)
const PROTOCOL_MODE = Object.freeze({ offer: 0, require: 1, plain: 2 });
const SESSION_LOST_MODE = Object.freeze({ resend: 0, discard: 1 });

// Options of mws_client_config by their camelCase names, and what each takes.
const CLIENT_OPTIONS = {
  subprotocol: 'string', origin: 'string', headers: 'headers',
  connectTimeoutMs: 'int', handshakeTimeoutMs: 'int', baseDelayMs: 'int', maxDelayMs: 'int',
  jitter: 'jitter', jitterProportion: 'number', restartSpreadMs: 'int', minUptimeMs: 'int',
  maxAttempts: 'int', breakerFailures: 'int', breakerWindowMs: 'int',
  heartbeatMode: 'heartbeat', heartbeatIntervalMs: 'int', heartbeatTimeoutMs: 'int',
  queueMaxMessages: 'int', queueMaxBytes: 'int', maxMessageBytes: 'int',
  caFile: 'string', insecure: 'boolean', closeRules: 'closeRules', randomSeed: 'seed',
  noReconnect: 'boolean', noOfflineQueue: 'boolean', holdQueueOnConnect: 'boolean', backoffFactor: 'factor',
  protocolMode: 'protocolMode', sessionLostMode: 'sessionLostMode', ackEvery: 'int', ackDelayMs: 'int',
  localAddress: 'ipAddress',
};
// reconnecting-websocket's names, accepted as aliases (see README).
// maxRetries is translated by clientOptions().
const RWS_ALIASES = {
  minReconnectionDelay: 'baseDelayMs',
  maxReconnectionDelay: 'maxDelayMs',
  connectionTimeout: 'connectTimeoutMs',
  maxEnqueuedMessages: 'queueMaxMessages',
  minUptime: 'minUptimeMs',
  reconnectionDelayGrowFactor: 'backoffFactor',
};
// Options whose value is a count of milliseconds (or a count): fractions are
// rounded, as setTimeout would; Infinity is not a count.
const INT_MAX = 2 ** 31 - 1;
// mws_server_config.rx_buffer_bytes: 0 is the default (512), else this range.
const RX_BUFFER_MIN = 128;
const RX_BUFFER_MAX = 1048576;
const JS_OPTIONS = new Set(['binaryType', 'startClosed', 'protocols', 'protocol', 'credentials', 'maxRetries',
  'offlineQueue', 'onOpen',
  // accepted from reconnecting-websocket and ignored: they have no meaning here
  'WebSocket', 'debug']);

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

// One option's value in the form the addon reads, by the kind its table
// gives; errors name the option as the user spelled it.
function optionValue(kind, value, name) {
  switch (kind) {
    case 'int': {
      if (typeof value !== 'number' || Number.isNaN(value)) {
        throw new TypeError(`managedws: option ${name} must be a number, got ${typeof value}`);
      }
      const v = Math.round(value);
      if (v > INT_MAX || v < -INT_MAX) throw new RangeError(`managedws: option ${name} out of range: ${value}`);
      return v;
    }
    case 'factor':
      if (typeof value !== 'number' || !(value >= 1 && value <= 1000)) {
        throw new RangeError(`managedws: option ${name} must be a number from 1 to 1000, got ${value}`);
      }
      return value;
    case 'headers': return headerLines(value, 'headers');
    case 'jitter': return enumOption(JITTER, value, 'jitter');
    case 'heartbeat': return enumOption(HEARTBEAT, value, 'heartbeatMode');
    case 'closeRules': return normaliseCloseRules(value);
    case 'protocolMode': return enumOption(PROTOCOL_MODE, value, 'protocolMode');
    case 'sessionLostMode': return enumOption(SESSION_LOST_MODE, value, 'sessionLostMode');
    case 'origins': return [...value].map(String);
    case 'seed': return typeof value === 'bigint' ? Number(value) : value;
    case 'boolean': return !!value;
    // Options added since: a boolean, not any value made one ('false' is
    // not false).
    case 'strictBoolean':
      if (typeof value !== 'boolean') {
        throw new TypeError(`managedws: option ${name} must be a boolean, got ${typeof value}`);
      }
      return value;
    case 'rxBuffer':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new TypeError(`managedws: option ${name} must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
      }
      if (value !== 0 && (value < RX_BUFFER_MIN || value > RX_BUFFER_MAX)) {
        throw new RangeError(`managedws: option ${name} must be 0 (the default, 512) or from ${RX_BUFFER_MIN} to ${RX_BUFFER_MAX}, got ${value}`);
      }
      return value;
    case 'ipAddress':
      // The C library takes an IP literal only (no name lookups).
      if (typeof value !== 'string') {
        throw new TypeError(`managedws: option ${name} must be a string, got ${typeof value}`);
      }
      if (!isIP(value)) {
        throw new TypeError(`managedws: option ${name} must be an IP address ("127.0.0.2"), got ${JSON.stringify(value)}`);
      }
      return value;
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
    out[key] = optionValue(kind, value, name);
  }
  return out;
}

function clientOptions(options) {
  const out = nativeOptions(options, CLIENT_OPTIONS, { skip: JS_OPTIONS, aliases: RWS_ALIASES, what: 'option' });
  for (const [name, value] of Object.entries(options)) {
    if (typeof value === 'number' && value < 0 && !JS_OPTIONS.has(name)) {
      throw new RangeError(`managedws: option ${name} must not be negative, got ${value}`);
    }
  }
  if (options.offlineQueue === false) out.noOfflineQueue = true;
  if (typeof options.onOpen === 'function') out.holdQueueOnConnect = true;
  else if (options.onOpen != null) throw new TypeError('managedws: option onOpen must be a function');
  // reconnecting-websocket's maxRetries counts retries after the first
  // attempt: 0 is one connection and no reconnect, n is n + 1 attempts in a
  // row, Infinity is unlimited.
  const retries = options.maxRetries;
  if (retries !== undefined) {
    if (retries !== Infinity && (!Number.isInteger(retries) || retries < 0)) {
      throw new TypeError('managedws: maxRetries must be a non-negative integer or Infinity');
    }
    if (out.maxAttempts !== undefined || out.noReconnect !== undefined) {
      throw new TypeError('managedws: maxRetries together with maxAttempts or noReconnect');
    }
    if (retries === 0) out.noReconnect = true;
    else if (retries !== Infinity) out.maxAttempts = retries + 1;
  }
  return out;
}

module.exports = {
  JITTER, HEARTBEAT, CLOSE_ACTION, PROTOCOL_MODE, SESSION_LOST_MODE,
  makeError, headerLines, nativeOptions, clientOptions,
};
