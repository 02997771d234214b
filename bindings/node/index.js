'use strict';
// managedws for Node: the browser's WebSocket vocabulary over a C client that
// reconnects, watches heartbeats and queues what is sent while it is away.

const { EventEmitter } = require('node:events');
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

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const { makeError, headerLines, nativeOptions, clientOptions } = require('./lib/options');
// send()'s options.binary: forces the message type; undefined: by the data.
function binaryOption(options) {
  return options && options.binary !== undefined ? !!options.binary : undefined;
}

// The one function the addon calls with events from the I/O thread (through
// a thread-safe function), with the owning object first.
binding.setDispatcher((owner, kind, a, b, c, d, e, f, g) => {
  owner._onNative(kind, a, b, c, d, e, f, g);
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

// Event objects for on* properties and addEventListener, shaped like the
// browser's (type, target, data / code, reason, wasClean / error, message).
function eventObject(type, target, fields) {
  return { type, target, currentTarget: target, ...fields };
}

const kHandlers = Symbol('handlers');
const kListeners = Symbol('listeners');

function defineEventHandlerProps(proto, names) {
  for (const name of names) {
    Object.defineProperty(proto, `on${name}`, {
      configurable: true,
      enumerable: true,
      get() { return this[kHandlers][name]?.handler ?? null; },
      set(handler) {
        const old = this[kHandlers][name];
        if (old) this.off(name, old.listener);
        delete this[kHandlers][name];
        if (typeof handler !== 'function') return;
        const listener = (...args) => handler.call(this, this._eventFor(name, args));
        this[kHandlers][name] = { handler, listener };
        this.on(name, listener);
      },
    });
  }
}

class ManagedWebSocket extends EventEmitter {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSING = CLOSING;
  static CLOSED = CLOSED;
  static STATES = STATES;

  constructor(url, protocolsOrOptions, options) {
    super();
    let protocols = protocolsOrOptions;
    if (protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols;
      protocols = undefined;
    }
    options = { ...(options || {}) };
    if (protocols === undefined) protocols = options.protocols ?? options.protocol;
    if (url instanceof URL) url = url.href;
    if (typeof url !== 'string') throw new TypeError('url must be a string or a URL');
    const list = protocols == null ? [] : Array.isArray(protocols) ? protocols : [protocols];
    if (list.length && options.subprotocol === undefined) options.subprotocol = list.join(', ');

    this[kHandlers] = {};
    this[kListeners] = new Map();
    this._url = url;
    this._protocol = options.subprotocol || '';
    this._state = 'DISCONNECTED';
    this._closing = false;
    this._connectPending = false;
    this._binaryType = 'nodebuffer';
    if (options.binaryType !== undefined) this.binaryType = options.binaryType;

    this._onOpen = typeof options.onOpen === 'function' ? options.onOpen : null;
    binding.clientNew(this, url, clientOptions(options));
    if (typeof options.credentials === 'function') {
      // Asked again before every reconnection (see lib/client-idioms.js);
      // the first connection waits for the first answer.
      this._credentialsProvider = options.credentials;
      const first = this._askCredentials({ attempt: 1, lastHttpStatus: 0 });
      if (!options.startClosed) first.then(() => { if (this._state === 'DISCONNECTED' && !this._closing) this.connect(); });
      return;
    }
    if (options.credentials) this.setCredentials(options.credentials);
    if (!options.startClosed) this.connect();
  }

  get url() { return this._url; }
  get protocol() { return this._protocol; }
  get extensions() { return ''; }

  /** One of the six managed states, as last reported by a 'state' event. */
  get state() { return this._state; }

  get readyState() {
    if (this._closing && this._state !== 'CLOSED') return CLOSING;
    switch (this._state) {
      case 'CONNECTED': return OPEN;
      case 'CONNECTING':
      case 'RECONNECTING': return CONNECTING;
      case 'DISCONNECTED': return this._connectPending ? CONNECTING : CLOSED;
      default: return CLOSED; // FAILED, CLOSED
    }
  }

  get binaryType() { return this._binaryType; }
  set binaryType(t) {
    if (t !== 'nodebuffer' && t !== 'arraybuffer') {
      throw new TypeError("binaryType must be 'nodebuffer' or 'arraybuffer'");
    }
    this._binaryType = t;
  }

  /** Bytes accepted by send() and not yet written to a socket. */
  get bufferedAmount() {
    return this._finalStats ? 0 : binding.clientStats(this).queueBytes;
  }

  /** Starts connecting (the constructor does, unless startClosed). */
  connect() {
    binding.clientConnect(this);
    this._connectPending = true;
    this._closing = false;
  }

  /**
   * Sends a message: a string as text, anything else as binary (or as
   * options.binary says). Never blocks; while not connected it waits in the
   * queue. Throws MWS_EQUEUEFULL, MWS_ECLOSED, MWS_EFAILED, MWS_ETOOBIG.
   */
  send(data, options, cb) {
    if (typeof options === 'function') { cb = options; options = undefined; }
    try {
      binding.clientSend(this, data, binaryOption(options));
    } catch (e) {
      if (e.code === 'MWS_EQUEUEFULL') this._wantDrain();
      if (typeof cb === 'function') { process.nextTick(cb, e); return; }
      throw e;
    }
    // cb(null) once written, cb(err) if discarded first (close, clearQueue).
    this._trackSend(cb);
  }

  /** Closes for good (-> CLOSED). code: 1000 or 3000-4999. */
  close(code, reason) {
    if (this._state === 'CLOSED') return;
    binding.clientClose(this, code, reason);
    this._closing = true;
  }

  /** Closes the connection and stays DISCONNECTED until connect(). */
  disconnect(code, reason) {
    binding.clientDisconnect(this, code, reason);
    this._connectPending = false;
  }

  /** Skips a pending backoff wait. Throws MWS_ESTATE unless RECONNECTING. */
  reconnectNow() { binding.clientReconnectNow(this); }

  /** reconnecting-websocket's reconnect(): close this connection, connect again. */
  reconnect(code, reason) {
    const st = STATES[binding.clientState(this)];
    if (st === 'RECONNECTING') { this.reconnectNow(); return; }
    if (st === 'CONNECTING' || st === 'CONNECTED') {
      // disconnect() is asynchronous: connect once DISCONNECTED is reached.
      const onState = (_from, to) => {
        if (to === 'DISCONNECTED') this.connect();
        if (to === 'DISCONNECTED' || to === 'CLOSED') this.off('state', onState);
      };
      this.on('state', onState);
      this.disconnect(code, reason);
      return;
    }
    this.connect();
  }

  /** The server's id from its JSON connection_ack, as it gave it, or null. */
  get serverConnectionId() {
    return this._finalStats ? null : binding.clientServerConnectionId(this);
  }

  /** Statistics; after CLOSED, the last ones taken before the client was freed. */
  stats() {
    if (this._finalStats) return { ...this._finalStats };
    const s = binding.clientStats(this);
    s.state = STATES[s.state];
    return s;
  }

  /** Headers and query for the next connection attempts (an expiring token). */
  setCredentials({ headers, query } = {}) {
    binding.clientSetCredentials(this, headerLines(headers, 'credentials.headers') ?? null,
      query == null ? null : String(query));
  }

  /** Let an active client keep the process alive (the default) or not. */
  ref() { binding.clientRef(this, true); return this; }
  unref() { binding.clientRef(this, false); return this; }

  addEventListener(type, listener, opts) {
    if (typeof listener !== 'function' && typeof listener?.handleEvent !== 'function') return;
    const fn = typeof listener === 'function' ? listener : (ev) => listener.handleEvent(ev);
    const wrapped = (...args) => fn.call(this, this._eventFor(type, args));
    let m = this[kListeners].get(type);
    if (!m) this[kListeners].set(type, (m = new Map()));
    if (m.has(listener)) return;
    m.set(listener, wrapped);
    if (opts && opts.once) {
      this.once(type, (...args) => { m.delete(listener); wrapped(...args); });
    } else {
      this.on(type, wrapped);
    }
  }

  removeEventListener(type, listener) {
    const m = this[kListeners].get(type);
    const wrapped = m && m.get(listener);
    if (!wrapped) return;
    m.delete(listener);
    this.off(type, wrapped);
  }

  _eventFor(type, args) {
    switch (type) {
      case 'message': return eventObject('message', this, { data: args[0], isBinary: args[1] });
      case 'close': return eventObject('close', this, { code: args[0], reason: args[1], wasClean: args[2] });
      case 'error': return eventObject('error', this, { error: args[0], message: args[0]?.message });
      case 'state': return eventObject('state', this, { from: args[0], to: args[1], reason: args[2], code: args[3], retryDelayMs: args[4]?.retryDelayMs, attempt: args[4]?.attempt });
      default: return eventObject(type, this, {});
    }
  }

  _onNative(kind, a, b, c, d, e, f) {
    if (kind === 1) {
      this.emit('message', messageData(a, b, this._binaryType), b);
      return;
    }
    const from = STATES[a];
    const to = STATES[b];
    const reason = c;
    const code = d;
    this._state = to;
    // The C client is freed right after this event: keep its last numbers.
    if (to === 'CLOSED') this._finalStats = this.stats();
    if (to !== 'DISCONNECTED') this._connectPending = false;
    if (to === 'CONNECTED') this._closing = false;
    if (to === 'CONNECTED') this._runOnOpen();
    if (to === 'RECONNECTING' && this._credentialsProvider) {
      this._askCredentials({ attempt: (f || 0) + 1, lastHttpStatus: code >= 400 && code < 600 ? code : 0, retryDelayMs: e });
    }
    this.emit('state', from, to, reason, code, { retryDelayMs: e, attempt: f });
    if (to === 'CONNECTED') this.emit('open');
    const failedAttempt = from === 'CONNECTING' && (to === 'RECONNECTING' || to === 'FAILED');
    if ((to === 'FAILED' || failedAttempt) && this.listenerCount('error') > 0) {
      const err = makeError(to === 'FAILED' ? 'MWS_EFAILED' : 'MWS_EIO', reason);
      err.closeCode = code;
      err.state = to;
      this.emit('error', err);
    }
    // 'close' whenever an open connection ends, and once more when the
    // client itself ends (CLOSED) without an open connection to report.
    if ((from === 'CONNECTED' && to !== 'CONNECTED') || (to === 'CLOSED' && from !== 'CONNECTED')) {
      const wasClean = code === 1000 || (code >= 3000 && code !== 4000) || code === 1001 || code === 1012;
      this.emit('close', code || 1005, reason, wasClean);
    }
  }
}
defineEventHandlerProps(ManagedWebSocket.prototype, ['open', 'message', 'close', 'error', 'state']);
require('./lib/client-idioms').install(ManagedWebSocket, { STATES, binding, makeError });
for (const [k, v] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(ManagedWebSocket.prototype, k, { value: v, enumerable: true });
}


// ---- server ---------------------------------------------------------------

const SERVER_OPTIONS = {
  host: 'string', port: 'int', certFile: 'string', keyFile: 'string',
  heartbeatTimeoutMs: 'int', checkIntervalMs: 'int', pingIntervalMs: 'int',
  jsonProtocol: 'boolean', maxMessageBytes: 'int', maxConnections: 'int',
  ratePerSec: 'number', rateBurst: 'int', origins: 'origins', handshakeTimeoutMs: 'int',
  sendQueueMaxBytes: 'int', randomSeed: 'seed',
  jsonAllowInvalid: 'boolean', maxHandshakesPerAddress: 'int',
};
const SERVER_JS_OPTIONS = new Set(['startClosed', 'binaryType', 'captureHeaders']);
const DISCONNECT_WHY = Object.freeze([undefined, 'peer_closed', 'reaped', 'too_big', 'shutdown', 'server_closed', 'error', 'invalid_message']);

// A connection's id, from the id or the ServerConnection.
function connId(idOrConn) {
  return typeof idOrConn === 'object' ? idOrConn.id : idOrConn;
}

/** One connection of a ManagedWebSocketServer: an id, looked up on each call. */
class ServerConnection extends EventEmitter {
  constructor(server, id, info) {
    super();
    this.server = server;
    this.id = id;
    this.peerIp = info.peerIp;
    this.path = info.path;
    this.origin = info.origin;
    this.subprotocol = info.subprotocol;
    /** The request headers named in the server's captureHeaders (lower-case names). */
    this.headers = info.headers || {};
    this.readyState = OPEN;
  }

  /** Queues a message for this connection. Throws MWS_ECLOSED once it is gone. */
  send(data, options) {
    binding.serverSend(this.server, this.id, data, binaryOption(options));
  }

  close(code, reason) {
    if (this.readyState === CLOSED) return;
    try {
      binding.serverCloseConn(this.server, this.id, code, reason);
      this.readyState = CLOSING;
    } catch (e) {
      if (e.code !== 'MWS_ECLOSED') throw e;
    }
  }
}

class ManagedWebSocketServer extends EventEmitter {
  constructor(options = {}, callback) {
    super();
    if (typeof binding.serverNew !== 'function') {
      throw makeError('MWS_ENOTSUP', 'managedws: this build of the C library has no server');
    }
    const opts = nativeOptions(options, SERVER_OPTIONS, { skip: SERVER_JS_OPTIONS, what: 'server option' });
    this._host = options.host || '0.0.0.0';
    this._binaryType = options.binaryType || 'nodebuffer';
    this._closed = false;
    this._closePromise = null;
    /** Open connections by id. */
    this.connections = new Map();
    if (options.captureHeaders !== undefined) {
      if (!Array.isArray(options.captureHeaders) || options.captureHeaders.some((h) => typeof h !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h))) {
        throw new TypeError('managedws: server option captureHeaders must be an array of header names');
      }
      opts.captureHeaders = options.captureHeaders.map((h) => h.toLowerCase());
    }
    binding.serverNew(this, opts);
    if (typeof callback === 'function') this.once('listening', callback);
    if (!options.startClosed) {
      try {
        this.listen();
      } catch (e) {
        this.close().catch(() => {}); // frees the native server at once
        throw e;
      }
    }
  }

  /** Starts listening (the constructor does unless startClosed); returns the port. */
  listen() {
    const port = binding.serverStart(this);
    process.nextTick(() => this.emit('listening'));
    return port;
  }

  get port() { return binding.serverPort(this); }
  address() { return { address: this._host, family: this._host.includes(':') ? 'IPv6' : 'IPv4', port: this.port }; }
  /** The open connections, as ws's server.clients. */
  get clients() { return new Set(this.connections.values()); }

  send(id, data, options) {
    binding.serverSend(this, connId(id), data, binaryOption(options));
  }

  broadcast(data, options) {
    binding.serverSend(this, null, data, binaryOption(options));
  }

  closeConnection(id, code, reason) {
    binding.serverCloseConn(this, connId(id), code, reason);
  }

  /**
   * Graceful shutdown: refuse new handshakes, close everyone with `code`
   * (1012) and a retry-after hint spread over spreadWindowMs, wait up to
   * deadlineMs. Resolves true if every connection closed in time.
   */
  shutdown({ code = 0, spreadWindowMs = 0, deadlineMs = 0 } = {}) {
    return binding.serverShutdown(this, code, spreadWindowMs, deadlineMs);
  }

  stats() { return binding.serverStats(this); }

  /** Stops listening, closes connections (1001) and frees the server. */
  close(callback) {
    if (!this._closePromise) {
      this._closePromise = this._closed ? Promise.resolve() : new Promise((resolve, reject) => {
        this.once('close', resolve);
        try {
          binding.serverClose(this).catch(reject);
        } catch (e) {
          reject(e);
        }
      });
    }
    if (typeof callback === 'function') this._closePromise.then(() => callback(), callback);
    return this._closePromise;
  }

  ref() { binding.serverRef(this, true); return this; }
  unref() { binding.serverRef(this, false); return this; }

  _onNative(kind, sub, id, a, b, c, d, e) {
    switch (sub) {
      case 0: {
        const info = { peerIp: a, path: b, origin: c, subprotocol: d, headers: e || {} };
        const conn = new ServerConnection(this, id, info);
        this.connections.set(id, conn);
        this.emit('connection', conn, info);
        break;
      }
      case 1: {
        const conn = this.connections.get(id);
        const data = messageData(a, b, this._binaryType);
        if (conn) conn.emit('message', data, b);
        this.emit('message', conn, data, b);
        break;
      }
      case 2: {
        const conn = this.connections.get(id);
        this.connections.delete(id);
        const why = DISCONNECT_WHY[c] || 'error';
        if (conn) {
          conn.readyState = CLOSED;
          conn.emit('close', a, b, why);
        }
        this.emit('disconnect', conn, a, b, why);
        break;
      }
      default:
        this._closed = true;
        this.emit('close');
    }
  }
}

module.exports = {
  ManagedWebSocket,
  ManagedWebSocketServer,
  ServerConnection,
  STATES,
  CONNECTING, OPEN, CLOSING, CLOSED,
  version: binding.version(),
  hasServer,
  internals: {
    /** Native clients and servers not yet freed in this environment. */
    liveCount: () => binding.liveCount(),
    binding,
  },
};
