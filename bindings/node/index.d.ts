/// <reference types="node" />
// Types for managedws, the Node binding of the managedws C library.

import { EventEmitter } from 'node:events';

export type ManagedState =
  | 'DISCONNECTED'
  | 'CONNECTING'
  | 'CONNECTED'
  | 'RECONNECTING'
  | 'FAILED'
  | 'CLOSED';

export type ReadyState = 0 | 1 | 2 | 3;
export type BinaryType = 'nodebuffer' | 'arraybuffer';
export type Jitter = 'full' | 'equal' | 'decorrelated' | 'proportional' | 'none';
export type HeartbeatMode = 'ping' | 'json' | 'off';
export type CloseAction = 'default' | 'reconnect' | 'restart' | 'fail' | 'close';
/** mws.v1 (docs/PROTOCOL.md): offer with plain fallback (default), require, or plain only. */
export type ProtocolMode = 'offer' | 'require' | 'plain';
/** What a client does with its unacknowledged messages when its session was lost. */
export type SessionLostMode = 'resend' | 'discard';
export type SessionEvent = 'none' | 'started' | 'resumed' | 'lost' | 'suspended';
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView;
export type MessageData = string | Buffer | ArrayBuffer;
export type Headers = string | Record<string, string> | Map<string, string>;

/** The error codes of the C library, as `Error.code`. */
export type MwsErrorCode =
  | 'MWS_EINVAL'
  | 'MWS_ENOMEM'
  | 'MWS_ESTATE'
  | 'MWS_EQUEUEFULL'
  | 'MWS_ECLOSED'
  | 'MWS_ETOOBIG'
  | 'MWS_EIO'
  | 'MWS_ETIMEDOUT'
  | 'MWS_EFAILED'
  | 'MWS_ELISTEN'
  | 'MWS_EDEADLK'
  | 'MWS_ESTORE'
  | 'MWS_EUNSUPPORTED';

export interface MwsError extends Error {
  code: MwsErrorCode;
  /** The negative C code. */
  errno?: number;
  /** On 'error' events: the close code and state that caused it. */
  closeCode?: number;
  state?: ManagedState;
}

export interface Credentials {
  headers?: Headers;
  /** The URL query, without '?': "token=abc". */
  query?: string;
}

/** Every field of mws_client_config by its camelCase name; 0 or absent: the default. */
export interface ClientOptions {
  subprotocol?: string;
  origin?: string;
  headers?: Headers;
  connectTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  jitter?: Jitter | number;
  jitterProportion?: number;
  restartSpreadMs?: number;
  minUptimeMs?: number;
  maxAttempts?: number;
  breakerFailures?: number;
  breakerWindowMs?: number;
  heartbeatMode?: HeartbeatMode | number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  queueMaxMessages?: number;
  queueMaxBytes?: number;
  maxMessageBytes?: number;
  caFile?: string;
  insecure?: boolean;
  /** Overrides of the close-code table: {1008: 'reconnect'} or [[code, action]]. */
  closeRules?:
    | Record<number, CloseAction | number>
    | Array<[number, CloseAction | number] | { code: number; action: CloseAction | number }>;
  randomSeed?: number | bigint;
  /** one connection only: any end but 1000 -> FAILED */
  noReconnect?: boolean;
  /** 1: sends while away throw MWS_ESTATE; unsent messages are dropped when a connection ends */
  noOfflineQueue?: boolean;
  /** at CONNECTED hold the offline queue until released (onOpen sets it) */
  holdQueueOnConnect?: boolean;
  /** growth of the reconnect delay per attempt, 1..1000; default 2 */
  backoffFactor?: number;
  /** mws.v1: 'offer' (default), 'require' or 'plain' */
  protocolMode?: ProtocolMode | number;
  /** mws.v1: 'resend' (default: counted as possibly duplicated) or 'discard' (counted) */
  sessionLostMode?: SessionLostMode | number;
  /** mws.v1: acknowledge after this many messages received (32) ... */
  ackEvery?: number;
  /** ... or this long after the first unacknowledged one (50) */
  ackDelayMs?: number;
  /** Source IP address every connection leaves from ("127.0.0.2"); an IP literal, else TypeError. Default: the system picks. */
  localAddress?: string;

  // JavaScript-only
  /** false = noOfflineQueue */
  offlineQueue?: boolean;
  /** Runs at every CONNECTED before the messages that waited are sent: what it sends goes first. */
  onOpen?: (ws: ManagedWebSocket) => void | Promise<void>;
  binaryType?: BinaryType;
  /** Do not connect in the constructor; call connect(). */
  startClosed?: boolean;
  protocols?: string | string[];
  /** Fixed, or asked before the first connection and at every RECONNECTING (sync or async). */
  credentials?: Credentials | ((info: { attempt: number; retryDelayMs?: number; lastHttpStatus?: number }) => Credentials | undefined | Promise<Credentials | undefined>);

  // reconnecting-websocket names, accepted as aliases
  /** retries after the first attempt: 0 = noReconnect, n = maxAttempts n + 1, Infinity = unlimited */
  maxRetries?: number;
  /** = baseDelayMs */
  minReconnectionDelay?: number;
  /** = maxDelayMs */
  maxReconnectionDelay?: number;
  /** = connectTimeoutMs */
  connectionTimeout?: number;
  /** = queueMaxMessages */
  maxEnqueuedMessages?: number;
  /** = minUptimeMs */
  minUptime?: number;
  /** = backoffFactor (>= 1) */
  reconnectionDelayGrowFactor?: number;
  /** Ignored. */
  WebSocket?: unknown;
  /** Ignored. */
  debug?: boolean;
}

export interface ClientStats {
  state: ManagedState;
  connectionId: number;
  attempt: number;
  attemptsTotal: number;
  connects: number;
  reconnects: number;
  refusedEvents: number;
  heartbeatsSent: number;
  heartbeatTimeouts: number;
  rttP50Us: number;
  rttP90Us: number;
  rttP99Us: number;
  uptimeP50Ms: number;
  uptimeP90Ms: number;
  uptimeP99Ms: number;
  queueMessages: number;
  queueBytes: number;
  queueFull: number;
  msgsOut: number;
  bytesOut: number;
  msgsIn: number;
  bytesIn: number;
  msgsDiscarded: number;
  /** mws.v1: 1 when the current connection speaks it */
  managed: number;
  /** The send number of the last accepted send. */
  sendNumber: number;
  /** Delivery receipts: every message numbered <= this is settled. */
  ackedNumber: number;
  unacked: number;
  replayed: number;
  duplicatesDropped: number;
  sessionsStarted: number;
  sessionsResumed: number;
  sessionsLost: number;
  /** Re-sent after a session loss: possibly duplicated. */
  lostResent: number;
  /** Freed after a session loss (sessionLostMode 'discard'). */
  lostDiscarded: number;
  protocolErrors: number;
  batchesOut: number;
  goaways: number;
}

/** A client's mws.v1 session event, once per managed connection. */
export interface SessionInfo {
  event: SessionEvent;
  /** The server's session id, 32 hex digits. */
  sessionId: string;
  /** lost: written and never acknowledged (maybe delivered) */
  unacked: number;
  /** lost: of those, written again on the new session */
  resent: number;
  /** lost: of those, freed (sessionLostMode 'discard') */
  discarded: number;
  /** lost: never written; always kept and sent */
  unsent: number;
  /** send numbers of the discarded messages; 0 when none */
  discardedFirst: number;
  discardedLast: number;
}

export interface StateDetail {
  /** To RECONNECTING: the wait before the next attempt. */
  retryDelayMs: number;
  /** Attempts since the last stable connection. */
  attempt: number;
}

interface BaseEvent<T extends string> {
  type: T;
  target: ManagedWebSocket;
  currentTarget: ManagedWebSocket;
}
export interface OpenEvent extends BaseEvent<'open'> {}
export interface MessageEvent extends BaseEvent<'message'> {
  data: MessageData;
  isBinary: boolean;
}
export interface CloseEvent extends BaseEvent<'close'> {
  code: number;
  reason: string;
  wasClean: boolean;
}
export interface ErrorEvent extends BaseEvent<'error'> {
  error: MwsError;
  message: string;
}
export interface StateEvent extends BaseEvent<'state'> {
  from: ManagedState;
  to: ManagedState;
  reason: string;
  code: number;
  retryDelayMs: number;
  attempt: number;
}
interface EventMap {
  open: OpenEvent;
  message: MessageEvent;
  close: CloseEvent;
  error: ErrorEvent;
  state: StateEvent;
}

/** Asked before the first connection and at every RECONNECTING (reconnecting-websocket's URL provider). */
export type UrlProvider = (info: { attempt: number; lastHttpStatus: number; retryDelayMs?: number }) =>
  string | URL | Promise<string | URL>;

export declare class ManagedWebSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  static readonly STATES: readonly ManagedState[];
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  constructor(url: string | URL | UrlProvider, protocols?: string | string[] | null, options?: ClientOptions);
  constructor(url: string | URL | UrlProvider, options?: ClientOptions);

  readonly url: string;
  readonly protocol: string;
  readonly extensions: string;
  /** The browser's four states: RECONNECTING reads as CONNECTING, FAILED as CLOSED. */
  readonly readyState: ReadyState;
  /** One of the six managed states, as of the last 'state' event. */
  readonly state: ManagedState;
  binaryType: BinaryType;
  /** Bytes accepted by send() and not yet written. */
  readonly bufferedAmount: number;

  onopen: ((this: ManagedWebSocket, ev: OpenEvent) => void) | null;
  onmessage: ((this: ManagedWebSocket, ev: MessageEvent) => void) | null;
  onclose: ((this: ManagedWebSocket, ev: CloseEvent) => void) | null;
  onerror: ((this: ManagedWebSocket, ev: ErrorEvent) => void) | null;
  onstate: ((this: ManagedWebSocket, ev: StateEvent) => void) | null;

  connect(): void;
  /** Returns the message's send number (for acked()); undefined when cb got the error. */
  send(data: SendData, options?: { binary?: boolean }, cb?: (err?: Error) => void): number;
  send(data: SendData, cb: (err?: Error) => void): number;
  /** Every message whose send number is <= this is settled. */
  readonly ackedNumber: number;
  /** The latest mws.v1 session event, null before one. */
  readonly session: SessionInfo | null;
  /** Resolves with `number` once that message is acknowledged (plain: written). */
  acked(number: number, options?: { timeoutMs?: number }): Promise<number>;
  /** Resolves once every message sent so far is settled. */
  flush(options?: { timeoutMs?: number }): Promise<number>;
  close(code?: number, reason?: string): void;
  disconnect(code?: number, reason?: string): void;
  reconnectNow(): void;
  reconnect(code?: number, reason?: string): void;
  /** Resolves at CONNECTED (now or later); failed attempts do not reject, FAILED/CLOSED do. */
  readonly opened: Promise<ManagedState>;
  /** Resolves once in one of `states`; rejects on FAILED/CLOSED (unless waited for) or after timeout ms. */
  waitFor(states: ManagedState | ManagedState[], options?: { timeout?: number }): Promise<ManagedState>;
  /** Every message from now on, across reconnections; ends at CLOSED, throws at FAILED. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer | ArrayBuffer | string>;
  /** Discards what was sent before this call and is not yet written. */
  clearQueue(): void;
  stats(): ClientStats;
  /** The server's id from its JSON connection_ack (numbers as their digits), or null. */
  readonly serverConnectionId: string | null;
  setCredentials(credentials: Credentials): void;
  /** Receive flow control: stop reading from the socket until resume(); holds across reconnections. */
  pause(): void;
  resume(): void;
  readonly isPaused: boolean;
  ref(): this;
  unref(): this;

  addEventListener<K extends keyof EventMap>(
    type: K,
    listener: ((ev: EventMap[K]) => void) | { handleEvent(ev: EventMap[K]): void },
    options?: { once?: boolean },
  ): void;
  removeEventListener<K extends keyof EventMap>(
    type: K,
    listener: ((ev: EventMap[K]) => void) | { handleEvent(ev: EventMap[K]): void },
  ): void;

  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: MessageData, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: string, wasClean: boolean) => void): this;
  on(event: 'error', listener: (err: MwsError) => void): this;
  /** After a send threw MWS_EQUEUEFULL: the queue is at most half full again. */
  on(event: 'drain', listener: () => void): this;
  on(event: 'session' | 'resumed' | 'sessionlost', listener: (info: SessionInfo) => void): this;
  on(event: 'acked', listener: (ackedNumber: number) => void): this;
  on(
    event: 'state',
    listener: (from: ManagedState, to: ManagedState, reason: string, code: number, detail: StateDetail) => void,
  ): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'open', listener: () => void): this;
  once(event: 'message', listener: (data: MessageData, isBinary: boolean) => void): this;
  once(event: 'close', listener: (code: number, reason: string, wasClean: boolean) => void): this;
  once(event: 'error', listener: (err: MwsError) => void): this;
  once(event: 'session' | 'resumed' | 'sessionlost', listener: (info: SessionInfo) => void): this;
  once(event: 'acked', listener: (ackedNumber: number) => void): this;
  once(
    event: 'state',
    listener: (from: ManagedState, to: ManagedState, reason: string, code: number, detail: StateDetail) => void,
  ): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

// ---- server ----------------------------------------------------------------

/** Every field of mws_server_config by its camelCase name; `host` is `iface`. */
/** What the server's auth hook is given: the upgrade request. */
export interface AuthRequest {
  /** Every request header, lower-case names, repeated ones joined with ", ". */
  headers: Record<string, string>;
  path: string;
  url: string;
  peerIp: string;
  remoteAddress: string;
  origin: string;
  subprotocol: string;
}

export interface ServerOptions {
  /**
   * Called for every WebSocket upgrade, sync or async: true accepts, false
   * refuses with 401, an HTTP status 400..599 refuses with it, anything else
   * with 403, a throw with 500. Waits at most handshakeTimeoutMs (then 503).
   * Needs a plain listener (not with certFile).
   */
  auth?: (req: AuthRequest) => boolean | number | Promise<boolean | number>;
  /** Request headers to copy at the handshake into conn.headers / info.headers. */
  captureHeaders?: string[];
  host?: string;
  port?: number;
  certFile?: string;
  keyFile?: string;
  heartbeatTimeoutMs?: number;
  checkIntervalMs?: number;
  /** < 0: no RFC 6455 pings. */
  pingIntervalMs?: number;
  jsonProtocol?: boolean;
  maxMessageBytes?: number;
  maxConnections?: number;
  /** < 0: no per-address rate limit. */
  ratePerSec?: number;
  rateBurst?: number;
  origins?: Iterable<string>;
  handshakeTimeoutMs?: number;
  sendQueueMaxBytes?: number;
  randomSeed?: number | bigint;
  /** With jsonProtocol: deliver text that is not JSON instead of closing with 1003. */
  jsonAllowInvalid?: boolean;
  /** Upgrades in progress per peer address (default 64); < 0: no bound. */
  maxHandshakesPerAddress?: number;
  /** 'offer' (default): mws.v1 and plain on the same port; 'plain': plain only. */
  protocolMode?: 'offer' | 'plain' | number;
  /** mws.v1: a suspended session ends after this (120000). */
  sessionTtlMs?: number;
  /** mws.v1 sessions (10000); more are closed with 4013. */
  maxSessions?: number;
  /** mws.v1: unacknowledged bytes kept per session (1 MiB). */
  sessionMaxBytes?: number;
  /** mws.v1: unacknowledged messages kept per session (1024). */
  sessionMaxMessages?: number;
  /** mws.v1 sessions in Redis ("redis://127.0.0.1:6379/0"), shared by every server using it. */
  sessionStore?: string;
  /**
   * Each connection's receive buffer in libwebsockets: the most one read
   * takes (up to 64 KiB). 0: 512; else 128..1048576 (RangeError otherwise).
   * 4096 reads big messages with fewer calls at 3.5 KiB more per connection.
   */
  rxBufferBytes?: number;
  /**
   * true: the listening socket closes when shutdown() begins, so a successor
   * can listen on the port while this server drains (connects to it are
   * refused meanwhile). Default false: the port answers 503 until the drain ends.
   */
  releasePortOnShutdown?: boolean;
  // JavaScript-only
  startClosed?: boolean;
  binaryType?: BinaryType;
}

export type DisconnectWhy = 'peer_closed' | 'reaped' | 'too_big' | 'shutdown' | 'server_closed' | 'error' | 'invalid_message'
  | 'expired' | 'protocol_error' | 'moved';

export interface ConnectionInfo {
  peerIp: string;
  headers: Record<string, string>;
  path: string;
  origin: string;
  subprotocol: string;
}

export interface ServerStats {
  connections: number;
  accepted: number;
  refused: { rateLimited: number; maxConnections: number; origin: number; auth: number; shutdown: number };
  refusedTotal: number;
  reaped: number;
  tooBig: number;
  disconnects: number;
  msgsIn: number;
  bytesIn: number;
  msgsOut: number;
  bytesOut: number;
  heartbeatsIn: number;
  pingsSent: number;
  pongsIn: number;
  sendDropped: number;
  rttP50Us: number;
  rttP90Us: number;
  rttP99Us: number;
  durationP50Ms: number;
  durationP90Ms: number;
  durationP99Ms: number;
  shuttingDown: boolean;
  invalidMessages: number;
  sendQueueFull: number;
  handshakesOverAddressLimit: number;
  headersTooLarge: number;
  sessionsActive: number;
  sessionsSuspended: number;
  sessionsCreated: number;
  sessionsResumed: number;
  sessionsExpired: number;
  protocolErrors: number;
  replayed: number;
  duplicatesDropped: number;
  batchesOut: number;
  goawaysSent: number;
  pausedConnections: number;
}

export declare class ServerConnection extends EventEmitter {
  readonly server: ManagedWebSocketServer;
  readonly id: number;
  readonly peerIp: string;
  readonly path: string;
  readonly origin: string;
  readonly subprotocol: string;
  /** The request headers named in captureHeaders (lower-case names) that were present. */
  readonly headers: Record<string, string>;
  readyState: ReadyState;
  /** mws.v1: the connection ended and the session waits for a resume (sends are kept). */
  suspended: boolean;
  send(data: SendData, options?: { binary?: boolean }): void;
  /** Receive flow control: not read until resume() (TCP slows the client). */
  pause(): void;
  resume(): void;
  isPaused: boolean;
  close(code?: number, reason?: string): void;
  on(event: 'suspended' | 'resumed', listener: (conn: ServerConnection) => void): this;
  on(event: 'message', listener: (data: MessageData, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: string, why: DisconnectWhy) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare class ManagedWebSocketServer extends EventEmitter {
  constructor(options?: ServerOptions, onListening?: () => void);
  /** Open connections by id. */
  readonly connections: Map<number, ServerConnection>;
  readonly clients: Set<ServerConnection>;
  readonly port: number;
  listen(): number;
  address(): { address: string; family: string; port: number };
  send(conn: number | ServerConnection, data: SendData, options?: { binary?: boolean }): void;
  broadcast(data: SendData, options?: { binary?: boolean }): void;
  closeConnection(conn: number | ServerConnection, code?: number, reason?: string): void;
  /** Resolves true if every connection closed before the deadline. */
  shutdown(options?: { code?: number; spreadWindowMs?: number; deadlineMs?: number }): Promise<boolean>;
  stats(): ServerStats;
  close(callback?: (err?: Error) => void): Promise<void>;
  ref(): this;
  unref(): this;

  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'connection', listener: (conn: ServerConnection, info: ConnectionInfo) => void): this;
  /** mws.v1: a session's connection ended (its TTL runs) / the client came back (same id). */
  on(event: 'suspended' | 'resumed', listener: (conn: ServerConnection | undefined) => void): this;
  on(event: 'message', listener: (conn: ServerConnection, data: MessageData, isBinary: boolean) => void): this;
  on(
    event: 'disconnect',
    listener: (conn: ServerConnection | undefined, code: number, reason: string, why: DisconnectWhy) => void,
  ): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare const STATES: readonly ManagedState[];
export declare const PROTOCOL_MODE: Readonly<Record<ProtocolMode, number>>;
export declare const SESSION_LOST_MODE: Readonly<Record<SessionLostMode, number>>;
export declare const CONNECTING: 0;
export declare const OPEN: 1;
export declare const CLOSING: 2;
export declare const CLOSED: 3;
/** False if the C library this was built against has no server. */
export declare const hasServer: boolean;
export declare const version: { library: string; libraryNumber: number; headerNumber: number };
export declare const internals: {
  /** Native clients and servers not yet freed in this environment (a debug counter). */
  liveCount(): { clients: number; servers: number };
  binding: unknown;
};
