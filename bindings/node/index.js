'use strict';
// managedws for Node: the browser's WebSocket vocabulary over a C client that
// reconnects, watches heartbeats and queues what is sent while it is away.

const { EventEmitter } = require('node:events');
const {
  binding,
  hasServer,
  STATES,
  PROTOCOL_MODE,
  SESSION_LOST_MODE,
  SESSION_EVENTS,
  CONNECTING,
  OPEN,
  CLOSING,
  CLOSED,
  makeError,
  headerLines,
  clientOptions,
  binaryOption,
  messageData,
} = require('./shared.js');
const { ManagedWebSocketServer, ServerConnection } = require('./server.js');

// Event objects for on* properties and addEventListener, shaped like the
// browser's (type, target, data / code, reason, wasClean / error, message).
function eventObject(type, target, fields) {
  return { type, target, currentTarget: target, ...fields };
}

// A URL the C client is made with while an async URL provider has not
// answered; never connected to (connect() waits for the answer).
const PLACEHOLDER_URL = 'ws://127.0.0.1:9/';

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

function uncork(ws) {
  ws._corked = false;
  binding.clientCork(ws, false);
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
    // reconnecting-websocket's URL provider: a function (sync or async),
    // asked before every attempt (see lib/client-idioms.js).
    let urlProvider = null;
    if (typeof url === 'function') {
      urlProvider = url;
      url = PLACEHOLDER_URL;
    }
    if (url instanceof URL) url = url.href;
    if (typeof url !== 'string') throw new TypeError('url must be a string, a URL or a function returning one');
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
    this._acked = 0;
    this._ackWaiters = new Set();
    this._ackTimer = null;
    /** The latest mws.v1 session event ({ event, sessionId, ... }), null before one. */
    this.session = null;
    if (options.binaryType !== undefined) this.binaryType = options.binaryType;

    this._onOpen = typeof options.onOpen === 'function' ? options.onOpen : null;
    const copts = clientOptions(options);
    // 'drain' comes when the queue is at most half full by both bounds
    // (the C defaults when not given).
    this._queueMax = { messages: copts.queueMaxMessages || 1024, bytes: copts.queueMaxBytes || 4 * 1024 * 1024 };
    binding.clientNew(this, url, copts);
    if (urlProvider) {
      this._urlProvider = urlProvider;
      this._url = '';
    }
    if (typeof options.credentials === 'function') this._credentialsProvider = options.credentials;
    // Providers answer before every attempt: the C client waits for them.
    if (this._urlProvider || this._credentialsProvider) binding.clientDeferCredentials(this, true);
    if (options.credentials && !this._credentialsProvider) this.setCredentials(options.credentials);
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
   * queue. Returns the message's send number (1, 2, ...; see acked()).
   * Throws MWS_EQUEUEFULL, MWS_ECLOSED, MWS_EFAILED, MWS_ETOOBIG.
   */
  send(data, options, cb) {
    if (typeof options === 'function') { cb = options; options = undefined; }
    const tracked = typeof cb === 'function';
    // Progress events on before the message can be written (see _wantSent).
    if (tracked) this._wantSent();
    // The sends of one tick wake the I/O thread once (and every 64th),
    // not each: corked now, uncorked when the tick's code has run.
    if (!this._corked) {
      this._corked = true;
      binding.clientCork(this, true);
      process.nextTick(uncork, this);
    }
    let number;
    try {
      number = binding.clientSend(this, data, binaryOption(options));
    } catch (e) {
      if (e.code === 'MWS_EQUEUEFULL') this._wantDrain();
      if (tracked) { process.nextTick(cb, e); this._sentDone(); return undefined; }
      throw e;
    }
    // cb(null) once written, cb(err) if discarded first (close, clearQueue).
    if (tracked) this._trackSend(cb, number);
    return number;
  }

  /** Delivery receipts: every message whose send number is <= this is settled. */
  get ackedNumber() {
    if (this._finalStats) return Math.max(this._acked, this._finalStats.ackedNumber);
    return Math.max(this._acked, binding.clientStats(this).ackedNumber);
  }

  /**
   * Resolves once the message with send `number` is settled: acknowledged
   * by the server's mws.v1 session (on a plain connection: written).
   * Rejects (code MWS_ETIMEDOUT) after options.timeoutMs, and when the
   * client reaches CLOSED (MWS_ECLOSED) or FAILED (MWS_EFAILED) first.
   */
  acked(number, { timeoutMs } = {}) {
    return new Promise((resolve, reject) => {
      const w = { number, resolve, reject, timer: null };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          this._ackWaiters.delete(w);
          reject(makeError('MWS_ETIMEDOUT', `message ${number} not acknowledged after ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this._ackWaiters.add(w);
      this._checkAcked();
    });
  }

  /** Resolves once every message sent so far is settled (see acked()). */
  flush(options) {
    const n = this._finalStats ? this._finalStats.sendNumber : binding.clientStats(this).sendNumber;
    return this.acked(n, options);
  }

  // Settles the acked() promises that are due, rejects them all at CLOSED
  // or FAILED; while some wait, looks again every 100 ms (a plain
  // connection has no acks: a written message is settled).
  _checkAcked() {
    clearTimeout(this._ackTimer);
    this._ackTimer = null;
    if (!this._ackWaiters.size) return;
    const acked = this.ackedNumber;
    const terminal = this._state === 'CLOSED' || this._state === 'FAILED';
    for (const w of this._ackWaiters) {
      if (acked < w.number && !terminal) continue;
      this._ackWaiters.delete(w);
      clearTimeout(w.timer);
      if (acked >= w.number) w.resolve(w.number);
      else w.reject(makeError(this._state === 'CLOSED' ? 'MWS_ECLOSED' : 'MWS_EFAILED', `message ${w.number} not acknowledged: client ${this._state}`));
    }
    if (this._ackWaiters.size) {
      this._ackTimer = setTimeout(() => this._checkAcked(), 100);
      this._ackTimer.unref();
    }
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
    this._credHeaders = headerLines(headers, 'credentials.headers') ?? null;
    this._credQuery = query == null ? null : String(query);
    binding.clientSetCredentials(this, this._credHeaders, this._credQuery);
  }

  /**
   * Receive flow control: stops reading from the socket (TCP then slows
   * the server) until resume(); holds across reconnections. While paused
   * the heartbeat deadline is not enforced (its answer cannot be read).
   */
  pause() { binding.clientPauseRx(this, true); this._paused = true; }
  resume() { binding.clientPauseRx(this, false); this._paused = false; }
  get isPaused() { return !!this._paused; }

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

  _onNative(kind, a, b, c, d, e, f, g, h) {
    if (kind === 5) {
      this._onMessages(a, 0);
      return;
    }
    if (kind === 6) {
      this._sendProgress({ msgsOut: a, msgsDiscarded: b, queueMessages: c, queueBytes: d });
      return;
    }
    if (kind === 1) {
      this.emit('message', messageData(a, b, this._binaryType), b);
      return;
    }
    if (kind === 3) {
      const info = {
        event: SESSION_EVENTS[a] || a, sessionId: b, unacked: c, resent: d, discarded: e, unsent: f,
        discardedFirst: g, discardedLast: h,
      };
      this.session = info;
      this.emit('session', info);
      if (info.event === 'resumed') this.emit('resumed', info);
      if (info.event === 'lost') this.emit('sessionlost', info);
      return;
    }
    if (kind === 7) { // an attempt waits for the providers: a = ask, b = attempt, c = HTTP status
      this._answerCredentials(a, b, c);
      return;
    }
    if (kind === 4) {
      this._acked = Math.max(this._acked, a);
      this.emit('acked', a);
      this._checkAcked();
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
    if (to === 'RECONNECTING') this._lastRetryDelay = e;
    this.emit('state', from, to, reason, code, { retryDelayMs: e, attempt: f, session: SESSION_EVENTS[g] || g });
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
    // Written ones were told before this change; the rest fail now.
    if (to === 'CLOSED') this._sendProgress(this._finalStats);
    this._checkAcked();
  }

  // One batch from the I/O thread: [data, isBinary, ...], emitted from
  // index i on. A listener that throws does not lose the rest of the batch:
  // it follows on the next tick, and the error goes on as it would have.
  _onMessages(list, i) {
    const bt = this._binaryType;
    for (; i < list.length; i += 2) {
      try {
        this.emit('message', messageData(list[i], list[i + 1], bt), list[i + 1]);
      } catch (err) {
        if (i + 2 < list.length) process.nextTick(() => this._onMessages(list, i + 2));
        throw err;
      }
    }
  }
}
defineEventHandlerProps(ManagedWebSocket.prototype, ['open', 'message', 'close', 'error', 'state']);
require('./lib/client-idioms').install(ManagedWebSocket, { STATES, binding, makeError });
for (const [k, v] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(ManagedWebSocket.prototype, k, { value: v, enumerable: true });
}


module.exports = {
  ManagedWebSocket,
  ManagedWebSocketServer,
  ServerConnection,
  STATES,
  PROTOCOL_MODE,
  SESSION_LOST_MODE,
  CONNECTING, OPEN, CLOSING, CLOSED,
  version: binding.version(),
  hasServer,
  internals: {
    /** Native clients and servers not yet freed in this environment. */
    liveCount: () => binding.liveCount(),
    binding,
  },
};
