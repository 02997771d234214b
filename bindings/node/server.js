'use strict';
// The server half: ManagedWebSocketServer and its ServerConnections.

const { EventEmitter } = require('node:events');
const {
  binding, SESSION_EVENTS, OPEN, CLOSING, CLOSED, makeError, nativeOptions, binaryOption, messageData,
} = require('./shared.js');


const SERVER_OPTIONS = {
  host: 'string', port: 'int', certFile: 'string', keyFile: 'string',
  heartbeatTimeoutMs: 'int', checkIntervalMs: 'int', pingIntervalMs: 'int',
  jsonProtocol: 'boolean', maxMessageBytes: 'int', maxConnections: 'int',
  ratePerSec: 'number', rateBurst: 'int', origins: 'origins', handshakeTimeoutMs: 'int',
  sendQueueMaxBytes: 'int', randomSeed: 'seed',
  jsonAllowInvalid: 'boolean', maxHandshakesPerAddress: 'int',
  protocolMode: 'protocolMode', sessionTtlMs: 'int', maxSessions: 'int', sessionMaxBytes: 'int',
  sessionMaxMessages: 'int', sessionStore: 'string',
  rxBufferBytes: 'rxBuffer', releasePortOnShutdown: 'strictBoolean',
};
const SERVER_JS_OPTIONS = new Set(['startClosed', 'binaryType', 'captureHeaders', 'auth']);
const DISCONNECT_WHY = Object.freeze([undefined, 'peer_closed', 'reaped', 'too_big', 'shutdown', 'server_closed', 'error', 'invalid_message',
  'expired', 'protocol_error', 'moved']);

function authStatus(v) {
  if (v === true || v === 0) return 0;
  if (v === false) return 401;
  if (Number.isInteger(v) && v >= 400 && v <= 599) return v;
  return 403;
}

// "Name: value\r\n" lines as an object with lower-case names, repeated
// headers joined with ", " (as Node's http does for most).
function parseHeaders(raw) {
  const out = {};
  for (const line of (raw || '').split('\r\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

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
    /** mws.v1: the connection ended, the session waits for a resume (sends are kept). */
    this.suspended = false;
    /** pause() was called and not resume(). */
    this.isPaused = false;
  }

  /** Queues a message for this connection. Throws MWS_ECLOSED once it is gone. */
  send(data, options) {
    binding.serverSend(this.server, this.id, data, binaryOption(options));
  }

  /**
   * Receive flow control: this connection is not read until resume(), so
   * TCP slows the client; meanwhile it is not reaped for silence and tells
   * the client it is alive. An mws.v1 session stays paused across resumes.
   */
  pause() { binding.serverPauseRx(this.server, this.id, true); this.isPaused = true; }
  resume() { binding.serverPauseRx(this.server, this.id, false); this.isPaused = false; }

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
    if (options.auth !== undefined) {
      if (typeof options.auth !== 'function') throw new TypeError('managedws: server option auth must be a function (req) => true | false | status');
      // The answer comes later, which libwebsockets 4.1.6 allows only where
      // the server reads the request itself (see README, "Server auth").
      if (options.certFile) throw new TypeError('managedws: server option auth needs a plain listener (no certFile): terminate TLS in front of it');
      this._auth = options.auth;
      opts.auth = true;
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

  // true (or 0) accepts; false refuses with 401; an HTTP status 400..599
  // refuses with it; anything else refuses with 403; a throw or a rejected
  // promise with 500.
  _runAuth(authId, req) {
    let r;
    try {
      r = this._auth.call(this, req);
    } catch (e) {
      r = Promise.reject(e);
    }
    Promise.resolve(r).then(authStatus, (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
      return 500;
    }).then((status) => {
      try {
        binding.serverAuthAnswer(this, authId, status);
      } catch (_) { /* the server is gone */ }
    });
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
      case 5: // a handshake waits for the auth hook; id is its handle
        this._runAuth(id, { peerIp: a, remoteAddress: a, path: b, url: b, origin: c, subprotocol: d, headers: parseHeaders(e) });
        break;
      case 4: { // mws.v1 session: suspended or resumed, same id
        const conn = this.connections.get(id);
        const event = SESSION_EVENTS[a];
        if (conn) conn.suspended = event === 'suspended';
        if (conn) conn.emit(event, conn);
        this.emit(event, conn);
        break;
      }
      default:
        this._closed = true;
        this.emit('close');
    }
  }
}

module.exports = { ManagedWebSocketServer, ServerConnection };
