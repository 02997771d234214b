'use strict';
// What users of ws and reconnecting-websocket reach for, added to
// ManagedWebSocket: waiting for a state across failed attempts, async
// iteration over messages, an open hook that runs before the offline queue
// is flushed, send callbacks once a message has left the queue, 'drain'
// (both from send-progress events of the C library, not polled).

function stateError(makeError, to, reason, code, what) {
  const e = makeError(to === 'FAILED' ? 'MWS_EFAILED' : 'MWS_ECLOSED',
    `managedws: ${to} while waiting for ${what}${reason ? `: ${reason}` : ''}`);
  e.closeCode = code;
  e.state = to;
  return e;
}

function install(Cls, { STATES, binding, makeError }) {
  const proto = Cls.prototype;

  /**
   * Resolves with the state once the client is in one of `states` (a name
   * or an array). Failed attempts (RECONNECTING) do not reject; FAILED and
   * CLOSED do, unless waited for. { timeout } in ms rejects MWS_ETIMEDOUT.
   */
  proto.waitFor = function waitFor(states, { timeout } = {}) {
    const targets = Array.isArray(states) ? states : [states];
    for (const t of targets) {
      if (!STATES.includes(t)) throw new TypeError(`managedws: waitFor: unknown state ${t}`);
    }
    const what = targets.join('/');
    if (targets.includes(this._state)) return Promise.resolve(this._state);
    if (this._state === 'CLOSED' || this._state === 'FAILED') {
      return Promise.reject(stateError(makeError, this._state, '', 0, what));
    }
    return new Promise((resolve, reject) => {
      let timer;
      const done = () => {
        this.off('state', onState);
        if (timer) clearTimeout(timer);
      };
      const onState = (_from, to, reason, code) => {
        if (targets.includes(to)) {
          done();
          resolve(to);
        } else if (to === 'FAILED' || to === 'CLOSED') {
          done();
          reject(stateError(makeError, to, reason, code, what));
        }
      };
      this.on('state', onState);
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(makeError('MWS_ETIMEDOUT', `managedws: still ${this._state} after ${timeout} ms waiting for ${what}`));
        }, timeout);
      }
    });
  };

  /** Resolves when connected (now or at the next CONNECTED); see waitFor. */
  Object.defineProperty(proto, 'opened', {
    configurable: true,
    get() { return this.waitFor('CONNECTED'); },
  });

  /**
   * for await (const data of ws): every message from now on, in order,
   * across reconnections; ends when the client is CLOSED, throws when it
   * FAILS. Messages arriving between two next() calls are buffered.
   */
  proto[Symbol.asyncIterator] = function iterate() {
    const queue = [];
    const waiters = [];
    let end = null; // { error } once the client ended
    const onMessage = (data) => {
      if (waiters.length) waiters.shift().resolve({ value: data, done: false });
      else queue.push(data);
    };
    const stop = (error) => {
      if (end) return;
      end = { error };
      this.off('message', onMessage);
      this.off('state', onState);
      for (const w of waiters.splice(0)) {
        if (error) w.reject(error);
        else w.resolve({ value: undefined, done: true });
      }
    };
    const onState = (_from, to, reason, code) => {
      if (to === 'CLOSED') stop(null);
      else if (to === 'FAILED') stop(stateError(makeError, to, reason, code, 'messages'));
    };
    this.on('message', onMessage);
    this.on('state', onState);
    if (this._state === 'CLOSED') stop(null);
    return {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
        if (end) return end.error ? Promise.reject(end.error) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
      },
      return: () => {
        stop(null);
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() { return this; },
    };
  };

  /** Discards what was sent before this call and is not yet written. */
  proto.clearQueue = function clearQueue() {
    binding.clientClearQueue(this);
  };

  // ---- called by ManagedWebSocket ----

  /**
   * options.credentials as a function: called with { attempt,
   * lastHttpStatus, retryDelayMs } before every connection attempt, sync or
   * async; its answer ({ headers, query }) is set for that attempt and the
   * next. The attempt waits for it (up to connectTimeoutMs).
   */
  proto._askCredentials = function askCredentials(info) {
    let r;
    try {
      r = this._credentialsProvider.call(this, info);
    } catch (e) {
      r = Promise.reject(e);
    }
    return Promise.resolve(r).then((creds) => {
      if (creds && this._state !== 'CLOSED') this.setCredentials(creds);
    }, (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  };

  /**
   * A URL provider (the constructor's url as a function): called before
   * every attempt with { attempt, lastHttpStatus, retryDelayMs }; returns a
   * ws:// or wss:// URL (string or URL), or a Promise of one, which that
   * attempt uses (it waits up to connectTimeoutMs). A bad answer keeps the
   * previous URL and emits 'error'.
   */
  proto._callUrlProvider = function callUrlProvider(provider, info) {
    try {
      const r = provider.call(this, info);
      return r instanceof URL ? r.href : r;
    } catch (e) {
      return Promise.reject(e);
    }
  };

  proto._settleUrl = function settleUrl(r) {
    return Promise.resolve(r).then((u) => {
      if (u instanceof URL) u = u.href;
      let ok = typeof u === 'string';
      try { ok = ok && ['ws:', 'wss:'].includes(new URL(u).protocol); } catch (_) { ok = false; }
      if (!ok) throw new TypeError(`managedws: the URL provider gave ${typeof u === 'string' ? JSON.stringify(u) : typeof u}, not a ws:// or wss:// URL`);
      if (this._state === 'CLOSED') return;
      binding.clientSetCredentials(this, this._credHeaders ?? null, this._credQuery ?? null, u);
      this._url = u;
    }).catch((e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  };

  proto._askUrl = function askUrl(info) {
    return this._settleUrl(this._callUrlProvider(this._urlProvider, info));
  };

  /** An attempt waits (the C hook answered PENDING): ask, set, let it go. */
  proto._answerCredentials = function answerCredentials(seq, attempt, lastHttpStatus) {
    const info = { attempt, lastHttpStatus, retryDelayMs: this._lastRetryDelay };
    const asks = [];
    if (this._credentialsProvider) asks.push(this._askCredentials(info));
    if (this._urlProvider) asks.push(this._askUrl(info));
    Promise.all(asks).then(() => {
      try {
        binding.clientCredentialsReady(this, seq);
      } catch (_) { /* freed meanwhile */ }
    });
  };

  /** At CONNECTED: the onOpen hook, then the held offline queue goes. */
  proto._runOnOpen = function runOnOpen() {
    const hook = this._onOpen;
    if (!hook) return;
    const release = () => {
      try {
        binding.clientReleaseQueue(this);
      } catch (_) { /* closed meanwhile: nothing is held */ }
    };
    let r;
    try {
      r = hook.call(this, this);
    } catch (e) {
      release();
      process.nextTick(() => this.emit('error', e));
      return;
    }
    Promise.resolve(r).then(release, (e) => {
      release();
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  };

  /** After a send: its callback once it has left the queue. */
  // `number` is the send number the C library gave: the n-th accepted send.
  proto._trackSend = function trackSend(cb, number) {
    (this._sendCbs || (this._sendCbs = [])).push({ n: number, cb });
  };

  /**
   * After a send refused because the queue was full: 'drain' once it is at
   * most half full. The queue may have emptied before the events were on:
   * look once more, after them.
   */
  proto._wantDrain = function wantDrain() {
    this._drainWanted = true;
    this._wantSent();
    process.nextTick(() => {
      if (!this._drainWanted) return;
      let s = this._finalStats;
      try {
        if (!s) s = binding.clientStats(this);
      } catch (_) { return; } // freed meanwhile: CLOSED settles everything
      this._sendProgress(s);
    });
  };

  // Send progress comes as events from the I/O thread (EV_SENT: the C
  // library's on_sent, at most once per pass of its loop), and only while
  // something waits for it. Turned on before the send it is for: no write
  // of that message can come before it.
  proto._wantSent = function wantSent() {
    if (this._sentWanted || this._finalStats) return;
    this._sentWanted = true;
    binding.clientWantSent(this, true);
  };

  proto._sentDone = function sentDone() {
    if (!this._sentWanted || (this._sendCbs && this._sendCbs.length) || this._drainWanted) return;
    this._sentWanted = false;
    if (!this._finalStats) binding.clientWantSent(this, false);
  };

  // Counters, not per-message events: messages leave the queue in order,
  // so the n-th accepted one has left when written + discarded >= n.
  // s: { msgsOut, msgsDiscarded, queueMessages, queueBytes }; at CLOSED the
  // last stats, and whatever still waits fails.
  proto._sendProgress = function sendProgress(s) {
    if (!s) return;
    const left = s.msgsOut + s.msgsDiscarded;
    const cbs = this._sendCbs || [];
    const closed = this._state === 'CLOSED';
    while (cbs.length && (cbs[0].n <= left || closed)) {
      const { n, cb } = cbs.shift();
      const written = n <= s.msgsOut;
      if (written && !closed) cb(null);
      else cb(makeError('MWS_ECLOSED', 'managedws: the message was discarded before it was written'));
    }
    const max = this._queueMax;
    if (this._drainWanted && (closed ||
        (s.queueMessages * 2 <= max.messages && s.queueBytes * 2 <= max.bytes))) {
      this._drainWanted = false;
      if (!closed) this.emit('drain');
    }
    this._sentDone();
  };
}

module.exports = { install };
