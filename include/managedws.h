/*
 * managedws — WebSocket connections that stay up.
 *
 * This header is the whole supported API. Same major version, same ABI:
 * structs that start with `size` only ever grow at their end, enums only
 * gain values, functions are never removed within a major version.
 *
 * Threads. Every context runs one I/O thread. Callbacks run on that thread,
 * with no library lock held; they must not block. Calls marked "any thread"
 * may also be made from inside a callback.
 *
 * Errors. Fallible calls return 0 or a negative MWS_E* code;
 * mws_strerror() and mws_err_name() describe it. If a call that registers a
 * callback fails, that callback never fires.
 *
 * Ownership. Send calls copy the payload. Buffers handed to a callback live
 * only during that callback.
 */
#ifndef MANAGEDWS_H
#define MANAGEDWS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MWS_VERSION_MAJOR 0
#define MWS_VERSION_MINOR 1
#define MWS_VERSION_PATCH 0

#ifndef MWS_API
#if defined(_WIN32)
#define MWS_API __declspec(dllimport)
#else
#define MWS_API __attribute__((visibility("default")))
#endif
#endif

/* ---- version ---------------------------------------------------------- */

/* (major << 16) | (minor << 8) | patch of the loaded library. Bindings
 * compare it with the header they were built against. Any thread. */
MWS_API unsigned mws_version(void);
/* "0.1.0". Static storage. Any thread. */
MWS_API const char *mws_version_string(void);

/* ---- errors ----------------------------------------------------------- */

#define MWS_ERRNO_MAP(XX)                                                  \
	XX(EINVAL, -1, "invalid argument")                                  \
	XX(ENOMEM, -2, "out of memory")                                     \
	XX(ESTATE, -3, "not allowed in the current state")                  \
	XX(EQUEUEFULL, -4, "send queue is full")                            \
	XX(ECLOSED, -5, "closed, or no such connection")                    \
	XX(ETOOBIG, -6, "message too big")                                  \
	XX(EIO, -7, "I/O or libwebsockets failure")                         \
	XX(ETIMEDOUT, -8, "timed out")                                      \
	XX(EFAILED, -9, "connection failed permanently")                    \
	XX(ELISTEN, -10, "cannot listen on the requested address")          \
	XX(EDEADLK, -11, "would wait on the I/O thread from the I/O thread") \
	XX(ESTORE, -12, "session store unavailable")                       \
	XX(EUNSUPPORTED, -13, "not available in this build or on this system")

typedef enum mws_err {
	MWS_OK = 0,
#define MWS__ERR_ENUM(name, value, text) MWS_##name = value,
	MWS_ERRNO_MAP(MWS__ERR_ENUM)
#undef MWS__ERR_ENUM
} mws_err;

/* A sentence for `err`, static storage; "unknown error" if unknown. */
MWS_API const char *mws_strerror(int err);
/* "MWS_EQUEUEFULL" and so on, static storage; "MWS_UNKNOWN" if unknown. */
MWS_API const char *mws_err_name(int err);

/* ---- logging ---------------------------------------------------------- */

typedef enum mws_log_level {
	MWS_LOG_ERROR = 1,
	MWS_LOG_WARN = 2,
	MWS_LOG_INFO = 3,
	MWS_LOG_DEBUG = 4
} mws_log_level;

/* Runs on the I/O thread (or the calling thread for argument errors).
 * `msg` lives only during the call. The library itself prints nothing. */
typedef void (*mws_log_cb)(int level, const char *msg, void *user_data);

/* ---- context ---------------------------------------------------------- */

/* A context owns one libwebsockets context and one I/O thread. Many clients
 * and servers share one context. */
typedef struct mws_ctx mws_ctx;

/* What the I/O thread waits in. poll(2) (libwebsockets' own loop) scans
 * every socket at every wake, so its idle cost grows with connections
 * times heartbeats; epoll(7) costs what is ready. EPOLL is libev on epoll
 * through libwebsockets' evlib plugin: at run time it needs the Debian
 * package libwebsockets-evlib-ev (and libev4), else mws_ctx_new() fails
 * with MWS_EUNSUPPORTED and logs why. */
typedef enum mws_event_loop {
	MWS_EVENT_LOOP_DEFAULT = 0, /* EPOLL if the environment has
	                               MWS_EVENT_LOOP=epoll, else POLL */
	MWS_EVENT_LOOP_POLL = 1,
	MWS_EVENT_LOOP_EPOLL = 2
} mws_event_loop;

typedef struct mws_ctx_config {
	size_t size;            /* set by mws_ctx_config_init() */
	mws_log_cb log_cb;      /* NULL: no logging */
	void *log_user_data;
	int log_level;          /* 0: MWS_LOG_WARN */
	int fd_limit;           /* 0: the process's RLIMIT_NOFILE, whose soft
	                           limit is first raised towards the hard one
	                           (to at most 65,536). A smaller value
	                           bounds the sockets of this context (and its
	                           memory, about 16 bytes a socket), with
	                           slower lookups in libwebsockets. */
	int event_loop;         /* mws_event_loop; 0: MWS_EVENT_LOOP_DEFAULT */
	int max_connecting;     /* 0: 256; -1: no bound. Connection attempts of
	                           this context's clients in flight at once (from
	                           the socket to the open WebSocket); one that
	                           falls due beyond it waits, in order, within
	                           its connect timeout. Below -1: MWS_EINVAL */
} mws_ctx_config;

/* Fills `cfg` with defaults. MWS_EINVAL if cfg is NULL. */
MWS_API int mws_ctx_config_init(mws_ctx_config *cfg);

/* Creates a context and starts its I/O thread. `cfg` may be NULL.
 * Errors: MWS_EINVAL, MWS_ENOMEM, MWS_EIO. Free with mws_ctx_free(). */
MWS_API int mws_ctx_new(mws_ctx **out, const mws_ctx_config *cfg);

/* Closes every client and server on the context with a close frame (bounded
 * by about two seconds), stops the I/O thread and frees the context.
 * Clients and servers still alive become unusable: free them first.
 * Not from a callback (MWS_EDEADLK). */
MWS_API int mws_ctx_free(mws_ctx *ctx);

/* The loop the context's I/O thread waits in: MWS_EVENT_LOOP_POLL or
 * MWS_EVENT_LOOP_EPOLL (never DEFAULT). MWS_EINVAL if ctx is NULL. Any
 * thread. */
MWS_API int mws_ctx_event_loop(const mws_ctx *ctx);

/* The process-wide context, created on first use and freed at exit.
 * NULL only if it cannot be created. Any thread. */
MWS_API mws_ctx *mws_ctx_default(void);

/* ---- client ----------------------------------------------------------- */

typedef struct mws_client mws_client;

/* The six states. One transition table decides every move. */
typedef enum mws_state {
	MWS_STATE_DISCONNECTED = 0, /* initial, and after mws_client_disconnect() */
	MWS_STATE_CONNECTING = 1,   /* an attempt is in flight */
	MWS_STATE_CONNECTED = 2,    /* handshake done, messages flow */
	MWS_STATE_RECONNECTING = 3, /* waiting for the backoff timer */
	MWS_STATE_FAILED = 4,       /* permanent failure or circuit open */
	MWS_STATE_CLOSED = 5        /* closed by the application or server; terminal */
} mws_state;

/* "CONNECTING" and so on, static storage. */
MWS_API const char *mws_state_name(int state);

typedef enum mws_heartbeat_mode {
	MWS_HEARTBEAT_DEFAULT = 0, /* = MWS_HEARTBEAT_PING */
	MWS_HEARTBEAT_PING = 1,    /* RFC 6455 ping, answered by any server */
	MWS_HEARTBEAT_JSON = 2,    /* {"type":"heartbeat",...} -> heartbeat_ack */
	MWS_HEARTBEAT_OFF = 3
} mws_heartbeat_mode;

typedef enum mws_jitter {
	MWS_JITTER_DEFAULT = 0,     /* = MWS_JITTER_FULL */
	MWS_JITTER_FULL = 1,        /* uniform [0, d] */
	MWS_JITTER_EQUAL = 2,       /* d/2 + uniform [0, d/2] */
	MWS_JITTER_DECORRELATED = 3,/* min(max, uniform [base, 3 * previous]) */
	MWS_JITTER_PROPORTIONAL = 4,/* d + uniform [0, p * d] */
	MWS_JITTER_NONE = 5         /* d */
} mws_jitter;

/* What the client does when a connection ends with a given close code. */
typedef enum mws_close_action {
	MWS_CLOSE_ACTION_DEFAULT = 0,   /* the built-in table (see README) */
	MWS_CLOSE_ACTION_RECONNECT = 1, /* backoff with jitter, attempt counted */
	MWS_CLOSE_ACTION_RESTART = 2,   /* random spread, attempt not counted */
	MWS_CLOSE_ACTION_FAIL = 3,      /* -> FAILED, no retry */
	MWS_CLOSE_ACTION_CLOSE = 4      /* -> CLOSED */
} mws_close_action;

typedef struct mws_close_rule {
	int code;   /* 1000..4999 */
	int action; /* mws_close_action */
} mws_close_rule;

typedef enum mws_msg_type {
	MWS_MSG_TEXT = 1,
	MWS_MSG_BINARY = 2
} mws_msg_type;

/* Durations are in milliseconds; 0 means the default written beside it. */
typedef struct mws_client_config {
	size_t size;                   /* set by mws_client_config_init() */
	const char *subprotocol;       /* NULL: none requested */
	const char *origin;            /* NULL: no Origin header */
	const char *headers;           /* "Name: value" lines, '\n'-separated */
	int connect_timeout_ms;        /* 0: 10000, TCP (and TLS) connect */
	int handshake_timeout_ms;      /* 0: 10000, HTTP upgrade */
	int base_delay_ms;             /* 0: 500 */
	int max_delay_ms;              /* 0: 30000 */
	int jitter;                    /* mws_jitter; 0: full */
	double jitter_proportion;      /* 0: 0.3, for MWS_JITTER_PROPORTIONAL */
	int restart_spread_ms;         /* 0: 5000, spread after 1001/1012 */
	int min_uptime_ms;             /* 0: 5000, up this long resets attempts */
	int max_attempts;              /* 0: unlimited; see below */
	int breaker_failures;          /* 0: breaker off; N failures ... */
	int breaker_window_ms;         /* ... within this window: 0: 60000 */
	int heartbeat_mode;            /* mws_heartbeat_mode; 0: ping */
	int heartbeat_interval_ms;     /* 0: 20000 */
	int heartbeat_timeout_ms;      /* 0: 10000 */
	int queue_max_messages;        /* 0: 1024 messages waiting */
	size_t queue_max_bytes;        /* 0: 4 MiB waiting */
	size_t max_message_bytes;      /* 0: 16 MiB received; larger -> 1009 */
	const char *ca_file;           /* NULL: the system's CAs (wss://) */
	int insecure;                  /* 1: accept any certificate (tests) */
	const mws_close_rule *close_rules; /* overrides of the table, copied */
	size_t close_rule_count;
	uint64_t random_seed;          /* 0: seeded from the OS */
	int no_reconnect;              /* 1: one connection: any end but 1000 -> FAILED */
	int no_offline_queue;          /* 1: no queue while away: a send when not
	                                  CONNECTED is MWS_ESTATE, and what is not
	                                  written when a connection ends is discarded */
	int hold_queue_on_connect;     /* 1: at CONNECTED the messages that waited
	                                  stay held, while new sends go out, until
	                                  mws_client_release_queue() (for bindings
	                                  whose open hook runs on another thread) */
	double backoff_factor;         /* 0: 2.0; the reconnect delay's growth per
	                                  attempt, >= 1 (1: always base_delay_ms) */
	/* mws.v1, the managed protocol (docs/PROTOCOL.md) */
	int protocol_mode;             /* mws_protocol_mode; 0: offer mws.v1, fall back to plain */
	int session_lost_mode;         /* mws_session_lost_mode; 0: re-send the unacknowledged */
	int ack_every;                 /* 0: 32; ack after this many messages received ... */
	int ack_delay_ms;              /* ... or this long after the first unacked one: 0: 50 */
	const char *local_address;     /* NULL: the system picks; an IP literal
	                                  ("127.0.0.2"): every connection leaves
	                                  from it (ports of several source
	                                  addresses for very many connections);
	                                  copied; not an IP literal: MWS_EINVAL */
} mws_client_config;
/* max_attempts: the client goes FAILED at the max_attempts-th failed attempt
 * in a row, counted alike after connect() and after a lost connection; an
 * attempt fails when it does not connect or its connection ends before
 * min_uptime_ms (a 1001/1012 restart only from the second in a row). */

/* Fills `cfg` with defaults. MWS_EINVAL if cfg is NULL. */
MWS_API int mws_client_config_init(mws_client_config *cfg);

/* mws.v1 (docs/PROTOCOL.md): a managed connection numbers, acknowledges and
 * keeps every message until the peer has it, so a reconnect that resumes
 * the session loses, duplicates and reorders nothing. On a managed
 * connection the outbox (queue_max_messages / queue_max_bytes) holds every
 * message not yet acknowledged, written or not: stats.queue_messages falls
 * when acks arrive, not when messages are written. */
typedef enum mws_protocol_mode {
	MWS_PROTOCOL_OFFER = 0,   /* offer mws.v1; a server that does not select it: plain */
	MWS_PROTOCOL_REQUIRE = 1, /* client: a server not selecting mws.v1 -> FAILED;
	                             server: MWS_EINVAL (not supported) */
	MWS_PROTOCOL_PLAIN = 2    /* client: offer nothing; server: serve plain only */
} mws_protocol_mode;

/* What the client does with its written but unacknowledged messages when
 * the server no longer has its session (TTL passed, server restarted). */
typedef enum mws_session_lost_mode {
	MWS_SESSION_LOST_RESEND = 0,  /* write them again on the new session; the
	                                 old server may have delivered them:
	                                 counted in stats.lost_resent */
	MWS_SESSION_LOST_DISCARD = 1  /* free them, counted in stats.lost_discarded */
} mws_session_lost_mode;

/* Session events, for mws_state_change.session and the on_session
 * callbacks of client and server. */
typedef enum mws_session_event {
	MWS_SESSION_NONE = 0,      /* plain connection */
	MWS_SESSION_STARTED = 1,   /* a new session (the first, or after close) */
	MWS_SESSION_RESUMED = 2,   /* the session went on: nothing lost */
	MWS_SESSION_LOST = 3,      /* the client asked to resume; the server no
	                              longer had the session: a new one began */
	MWS_SESSION_SUSPENDED = 4  /* server: its connection ended, the TTL runs */
} mws_session_event;

/* What a state callback is told. Lives only during the callback. */
typedef struct mws_state_change {
	int from;               /* mws_state */
	int to;                 /* mws_state */
	const char *reason;     /* never NULL: "connected", "heartbeat timeout", ... */
	int close_code;         /* close code that caused it, 0 if none */
	int retry_delay_ms;     /* to RECONNECTING: the wait before the next try */
	uint32_t attempt;       /* attempts since the last stable connection */
	int session;            /* to CONNECTED: mws_session_event of this
	                           connection (NONE when plain); the reason is
	                           then "session started", "session resumed" or
	                           "session lost" */
} mws_state_change;

/* On the I/O thread. May call mws_client_send/close/disconnect. */
typedef void (*mws_state_cb)(mws_client *client, const mws_state_change *change,
                             void *user_data);
/* On the I/O thread. `data` lives only during the call; text is UTF-8, not
 * NUL-terminated. May call mws_client_send/close/disconnect. */
typedef void (*mws_message_cb)(mws_client *client, const void *data, size_t len,
                               int type, void *user_data);

/* Handed to the credentials callback; valid only during it. */
typedef struct mws_credentials mws_credentials;

/* Called on the I/O thread before every connection attempt, so a token is
 * fresh when it is used. Return 0 to go on, MWS_CREDENTIALS_PENDING to
 * answer later (see mws_client_credentials_ready), other non-zero to fail
 * the client (-> FAILED). Must not block for long: it delays other
 * connections. */
typedef int (*mws_credentials_cb)(mws_client *client, mws_credentials *creds,
                                  void *user_data);

/* Inside a credentials callback: add a header (copied) to this attempt.
 * MWS_EINVAL on a bad name or value (CR/LF), MWS_ENOMEM. */
MWS_API int mws_credentials_set_header(mws_credentials *creds, const char *name,
                                       const char *value);
/* Inside a credentials callback: replace the URL's query ("a=1&b=2",
 * without '?'; copied). MWS_EINVAL, MWS_ENOMEM. */
MWS_API int mws_credentials_set_query(mws_credentials *creds, const char *query);
/* The 1-based number of this attempt since the last stable connection. */
MWS_API uint32_t mws_credentials_attempt(const mws_credentials *creds);
/* HTTP status that refused the previous attempt (401, 403), else 0. */
MWS_API int mws_credentials_last_http_status(const mws_credentials *creds);

/* Delivery receipts. Every message a send accepts gets a number: 1, 2, 3,
 * ... per client in the order sends returned (mws_client_send_seq gives
 * it), never reused and NOT the wire sequence number, so it survives a
 * session-lost renumbering. on_acked(n) means: every message numbered <= n
 * is settled, i.e. acknowledged by the peer's mws.v1 session, except those
 * a MWS_SESSION_LOST event reported as discarded (numbers
 * discarded_first..discarded_last) and those written while the connection
 * was plain (plain WebSocket has no acknowledgements; they count as settled
 * once written). It fires on the I/O thread when n grows: on a managed
 * connection as acks arrive, on a plain one once messages are written to
 * the socket (there a receipt means "handed to the kernel", not
 * "delivered"); n only grows; stats.acked_number is the same n. A message
 * re-sent after a session loss is settled when the new session acks it. */
typedef void (*mws_acked_cb)(mws_client *client, uint64_t acked_number, void *user_data);

/* What on_session is told. Lives only during the callback. */
typedef struct mws_session_info {
	int event;                   /* mws_session_event: STARTED, RESUMED, LOST */
	unsigned char session_id[16];/* the server's id of the (new) session */
	uint64_t unacked;            /* LOST: written, never acknowledged (maybe delivered) */
	uint64_t resent;             /* LOST: of those, written again (resend mode) */
	uint64_t discarded;          /* LOST: of those, freed (discard mode) */
	uint64_t unsent;             /* LOST: never written; always kept and sent */
	uint64_t discarded_first, discarded_last; /* their send numbers; 0, 0 if none */
} mws_session_info;
/* On the I/O thread, on each managed connection once the server's welcome
 * arrived, just before the transition to CONNECTED. */
typedef void (*mws_session_cb)(mws_client *client, const mws_session_info *info,
                               void *user_data);

/* One message of a batch: received (on_messages) or to send
 * (mws_client_send_many). An element of arrays, so it never grows. */
typedef struct mws_message {
	const void *data;            /* text is UTF-8, not NUL-terminated */
	size_t len;
	int type;                    /* MWS_MSG_TEXT or MWS_MSG_BINARY */
} mws_message;

/* Batched delivery, for bindings that pay per crossing into their language
 * (a CFFI callback, a Node thread-safe function call). When set, it
 * replaces on_message: every message read in one pass of the I/O loop
 * comes in one call, in order, msgs[0..count) (count >= 1), after the
 * reads of that pass and before any state change that follows them.
 * Messages and their data live only during the call.
 * Why a push of batches and not a pull API (a receive ring the application
 * drains): the bindings already hand events over from the I/O thread (GIL,
 * thread-safe function) and must copy each message once anyway; a batch
 * handed over once is that copy and that crossing, with no second ring,
 * wake-up or lifetime across threads, and pause_rx stays the flow control.
 * On the I/O thread. May call mws_client_send/close/disconnect. */
typedef void (*mws_messages_cb)(mws_client *client, const mws_message *msgs, size_t count,
                                void *user_data);

/* What on_sent is told. Lives only during the callback. Messages leave the
 * queue in the order they were sent, except those held by
 * hold_queue_on_connect, so the n-th send (mws_client_send_seq's number on
 * a plain connection) has left once written + discarded >= n. */
typedef struct mws_send_progress {
	uint64_t written;            /* stats.msgs_out */
	uint64_t discarded;          /* stats.msgs_discarded */
	uint32_t queue_messages;     /* stats.queue_messages: accepted, not yet written */
	uint64_t queue_bytes;        /* stats.queue_bytes */
} mws_send_progress;
/* Messages left the send queue (written to a socket, or discarded): at
 * most once per pass of the I/O loop, after the writes of that pass and
 * before a state change that follows them. For send callbacks and a
 * 'drain' event without polling the statistics. On the I/O thread. May
 * call mws_client_send/close/disconnect. */
typedef void (*mws_sent_cb)(mws_client *client, const mws_send_progress *progress,
                            void *user_data);

typedef struct mws_client_callbacks {
	size_t size;                 /* sizeof(mws_client_callbacks) */
	mws_state_cb on_state;
	mws_message_cb on_message;
	mws_credentials_cb on_credentials;
	mws_acked_cb on_acked;       /* may be NULL */
	mws_session_cb on_session;   /* may be NULL */
	mws_messages_cb on_messages; /* may be NULL; when set, on_message is not called */
	mws_sent_cb on_sent;         /* may be NULL */
} mws_client_callbacks;

/* Creates a client for `url` (ws:// or wss://) on `ctx` (NULL: the default
 * context). Nothing connects until mws_client_connect(). `cfg` may be NULL.
 * Errors: MWS_EINVAL (bad URL or config), MWS_ENOMEM. Any thread. */
MWS_API int mws_client_new(mws_client **out, mws_ctx *ctx, const char *url,
                           const mws_client_config *cfg);

/* Registers callbacks (copied) and user data; `free_user_data`, if any, runs
 * exactly once when the client is freed. Only before the first connect:
 * MWS_ESTATE afterwards. */
MWS_API int mws_client_set_callbacks(mws_client *client,
                                     const mws_client_callbacks *cbs,
                                     void *user_data,
                                     void (*free_user_data)(void *));

/* Starts connecting: DISCONNECTED or FAILED -> CONNECTING. MWS_ESTATE in
 * other states, MWS_ECLOSED once CLOSED. Any thread; asynchronous. */
MWS_API int mws_client_connect(mws_client *client);

/* Skips a pending backoff wait (a "network is back" signal). MWS_ESTATE
 * unless RECONNECTING at the time the I/O thread sees it. Any thread. */
MWS_API int mws_client_reconnect_now(mws_client *client);

/* Closes the connection with `code` (0: 1000) and `reason` (may be NULL)
 * and goes to DISCONNECTED; connect() may be called again. Messages still
 * waiting stay queued. Any thread; asynchronous. */
MWS_API int mws_client_disconnect(mws_client *client, int code, const char *reason);

/* Closes for good: -> CLOSED, no attempt after. Messages not yet written
 * are discarded (counted in stats). Any thread; asynchronous. */
MWS_API int mws_client_close(mws_client *client, int code, const char *reason);

/* Sends a message (copied). Never blocks. While not CONNECTED the message
 * waits in the queue and is sent, in order, before anything newer once a
 * connection is up. MWS_EQUEUEFULL when the waiting messages would exceed
 * queue_max_messages or queue_max_bytes (nothing queued is lost; try again
 * once stats.queue_messages falls), MWS_ETOOBIG when the message alone is
 * larger than queue_max_bytes, MWS_ECLOSED once CLOSED, MWS_EFAILED in
 * FAILED, MWS_EINVAL on a bad type or a NULL pointer with len > 0,
 * MWS_ENOMEM. Any thread; concurrent senders on one client are serialised.
 * "Waiting" counts every message accepted and not yet written to a socket,
 * so a slow connection pushes back as well as an absent one. */
MWS_API int mws_client_send(mws_client *client, const void *data, size_t len,
                            int type);

/* mws_client_send that also writes the message's send number (see
 * mws_acked_cb) to `*number` when it returns 0; `number` may be NULL.
 * A caller waits for one message with on_acked / stats.acked_number >= it,
 * and flushes everything with acked_number >= the last number it got. */
MWS_API int mws_client_send_seq(mws_client *client, const void *data, size_t len,
                                int type, uint64_t *number);

/* Waits for room in the send queue: until it has fallen to half of
 * queue_max_messages and of queue_max_bytes (a low-water mark, as Python
 * websockets' drain() and Node's 'drain' wait for) and a message of `len`
 * bytes would be accepted. For a sender that met MWS_EQUEUEFULL: one wake
 * buys many sends, where retrying on a timer costs a wake each time. 0
 * then; MWS_ETIMEDOUT after timeout_ms (-1: no limit; 0: only looks),
 * MWS_ECLOSED once CLOSED or closed, MWS_EFAILED in FAILED, MWS_ETOOBIG
 * when len exceeds queue_max_bytes, MWS_EDEADLK on the I/O thread (the
 * queue drains only after the callback returns), MWS_EINVAL. While no
 * connection is up the queue does not drain: it waits for one. Any thread
 * but the I/O thread; not concurrently with mws_client_free(). */
MWS_API int mws_client_wait_room(mws_client *client, size_t len, int timeout_ms);

/* The current state (mws_state). Any thread. */
MWS_API int mws_client_state(const mws_client *client);

typedef struct mws_client_stats {
	size_t size;                    /* set by the caller: sizeof(mws_client_stats) */
	int state;
	uint64_t connection_id;         /* 1.. for each connection made, 0 before */
	uint32_t attempt;               /* attempts since the last stable connection */
	uint64_t attempts_total;
	uint64_t connects;              /* connections established */
	uint64_t reconnects;            /* connections established after the first */
	uint64_t refused_events;        /* events the state table refused */
	uint64_t heartbeats_sent;
	uint64_t heartbeat_timeouts;
	uint32_t rtt_p50_us, rtt_p90_us, rtt_p99_us; /* heartbeat round trip */
	uint32_t uptime_p50_ms, uptime_p90_ms, uptime_p99_ms; /* connection durations */
	uint32_t queue_messages;        /* accepted, not yet written */
	uint64_t queue_bytes;
	uint64_t queue_full;            /* sends refused with MWS_EQUEUEFULL */
	uint64_t msgs_out, bytes_out;   /* written to a socket */
	uint64_t msgs_in, bytes_in;
	uint64_t msgs_discarded;        /* dropped by close(), never silently */
	/* mws.v1 */
	int managed;                    /* 1: the current connection speaks mws.v1 */
	uint64_t send_number;           /* the number the last accepted send got */
	uint64_t acked_number;          /* receipts: every message <= this is settled */
	uint64_t unacked;               /* written, not yet acknowledged */
	uint64_t replayed;              /* messages written again after a resume */
	uint64_t duplicates_dropped;    /* received again after a resume, dropped */
	uint64_t sessions_started, sessions_resumed, sessions_lost;
	uint64_t lost_resent;           /* re-sent after a loss: possibly duplicated */
	uint64_t lost_discarded;        /* freed after a loss (discard mode) */
	uint64_t protocol_errors;       /* malformed or unexpected input: closed 4002..4009 */
	uint64_t batches_out;           /* envelopes holding more than one message */
	uint64_t goaways;               /* goaway envelopes received */
} mws_client_stats;

/* Copies the statistics into `out` (out->size must be set). Any thread. */
MWS_API int mws_client_stats_get(const mws_client *client, mws_client_stats *out);

/* The server's id for the current connection, as its JSON connection_ack
 * gave it (a string's text, or a number as written), NUL-terminated in
 * `buf`. Returns its length (0: none received on this connection), or
 * MWS_ETOOBIG if it needs more than `cap` bytes, MWS_EINVAL. Any thread. */
MWS_API int mws_client_server_connection_id(const mws_client *client, char *buf,
                                            size_t cap);

/* Closes (if not yet CLOSED) and frees the client; returns when the I/O
 * thread no longer references it. From a callback the teardown is deferred
 * to after the callback returns. NULL is ignored. */
MWS_API void mws_client_free(mws_client *client);

/* ---- server ----------------------------------------------------------- */

typedef struct mws_server mws_server;
/* A server's connection: an id, never a pointer. Stale ids give MWS_ECLOSED. */
typedef uint64_t mws_conn_id;

/* Why a server connection ended, as told to on_disconnect. */
typedef enum mws_disconnect_why {
	MWS_DISCONNECT_PEER_CLOSED = 1,   /* the client sent a close frame */
	MWS_DISCONNECT_REAPED = 2,        /* silent beyond heartbeat_timeout: 4000 */
	MWS_DISCONNECT_TOO_BIG = 3,       /* a message over max_message_bytes: 1009 */
	MWS_DISCONNECT_SHUTDOWN = 4,      /* mws_server_shutdown() or freeing */
	MWS_DISCONNECT_SERVER_CLOSED = 5, /* mws_server_close() */
	MWS_DISCONNECT_ERROR = 6,         /* lost without a close frame (1006) */
	MWS_DISCONNECT_INVALID_MESSAGE = 7, /* json_protocol: text that is not JSON: 1003 */
	MWS_DISCONNECT_EXPIRED = 8,       /* mws.v1: suspended longer than session_ttl_ms */
	MWS_DISCONNECT_PROTOCOL_ERROR = 9, /* mws.v1: malformed or unexpected input, 4002..4013 */
	MWS_DISCONNECT_MOVED = 10         /* mws.v1 with a shared store: the session was
	                                     resumed on another node, where it goes on */
} mws_disconnect_why;

/* Why a handshake was refused; indexes mws_server_stats.refused[]. */
typedef enum mws_refuse_reason {
	MWS_REFUSE_RATE_LIMITED = 0,    /* per-address token bucket empty: 429 */
	MWS_REFUSE_MAX_CONNECTIONS = 1, /* max_connections reached: 503 */
	MWS_REFUSE_ORIGIN = 2,          /* Origin not in the allow-list: 403 */
	MWS_REFUSE_AUTH = 3,            /* on_auth returned a status */
	MWS_REFUSE_SHUTDOWN = 4,        /* shutting down: 503 */
	MWS_REFUSE_COUNT = 5
} mws_refuse_reason;

/* Durations in milliseconds; 0 means the default written beside it. */
typedef struct mws_server_config {
	size_t size;                 /* set by mws_server_config_init() */
	const char *iface;           /* NULL: every interface, IPv6 and IPv4
	                                ([::], dual stack); an IP literal
	                                ("127.0.0.1", "::1"): that address only;
	                                else an interface name ("lo"): its first
	                                IPv4 address, else its first IPv6 one.
	                                Host names are not resolved. */
	int port;                    /* 0: a free port, see mws_server_port() */
	const char *cert_file;       /* PEM certificate: wss:// (with key_file) */
	const char *key_file;
	int heartbeat_timeout_ms;    /* 0: 60000; silent longer -> 4000 */
	int check_interval_ms;       /* 0: 5000; how often silence is checked */
	int ping_interval_ms;        /* 0: 25000; < 0: no RFC 6455 pings */
	int json_protocol;           /* 1: send connection_ack on connect */
	size_t max_message_bytes;    /* 0: 1 MiB received; larger -> 1009 */
	int max_connections;         /* 0: 10000 */
	double rate_per_sec;         /* 0: 10 handshakes/s per address; < 0: off */
	int rate_burst;              /* 0: 20 */
	const char *const *origins;  /* allow-list ("https://a.example"), copied;
	                                NULL: any. A missing Origin is allowed. */
	size_t origin_count;
	int handshake_timeout_ms;    /* 0: 10000; rounded up to seconds */
	size_t send_queue_max_bytes; /* 0: 8 MiB waiting per connection */
	uint64_t random_seed;        /* 0: seeded from the OS */
	int json_allow_invalid;      /* 0: with json_protocol, a text message that
	                                is not one JSON value closes with 1003
	                                "Invalid message format" (what
	                                hand-written JSON servers do); 1: it is
	                                delivered like any other */
	int max_handshakes_per_address; /* 0: 64 upgrades in progress per peer
	                                address; more are closed at once, before
	                                any byte is read; < 0: no bound */
	/* mws.v1 sessions (docs/PROTOCOL.md), kept in memory */
	int protocol_mode;           /* 0: serve mws.v1 and plain on the same port;
	                                MWS_PROTOCOL_PLAIN: plain only */
	int session_ttl_ms;          /* 0: 120000; a suspended session ends after */
	int max_sessions;            /* 0: 10000; more -> close 4013 */
	size_t session_max_bytes;    /* 0: 1 MiB unacknowledged per session */
	int session_max_messages;    /* 0: 1024 unacknowledged per session */
	const char *const *keep_headers; /* request headers ("Authorization") kept
	                                    for on_connect, copied: an mws.v1
	                                    session's on_connect comes with its
	                                    hello, when the request is gone */
	size_t keep_header_count;
	size_t rx_buffer_bytes;      /* 0: 512; every WebSocket connection holds
	                                this much for libwebsockets to receive
	                                into: the most one recv() reads (up to
	                                64 KiB) and one piece of a message
	                                (larger ones arrive in pieces, rebuilt).
	                                4096 reads big messages with fewer calls
	                                at 3.5 KiB more per connection.
	                                128..1048576, else MWS_EINVAL */
	const char *session_store_url; /* NULL: sessions in this process's memory;
	                                  "redis://127.0.0.1:6379/0": in Redis, shared
	                                  by every server using it, so a session
	                                  resumes on any of them and sends and
	                                  broadcasts reach other nodes
	                                  (docs/SESSIONS-REDIS.md). Unreachable at
	                                  mws_server_new(): MWS_ESTORE. Copied. */
	int release_port_on_shutdown; /* 0: the port keeps listening while a
	                                 shutdown drains (new connections get 503,
	                                 /healthz says "draining"); 1: the listening
	                                 socket closes when the shutdown begins, so
	                                 a successor can listen on the port at once
	                                 (connects to it are refused meanwhile) */
} mws_server_config;

/* Fills `cfg` with defaults. MWS_EINVAL if cfg is NULL. */
MWS_API int mws_server_config_init(mws_server_config *cfg);

/* A connection's handshake, for on_auth and on_connect. Lives only during
 * the callback; strings are NUL-terminated, "" when absent. */
typedef struct mws_conn_info {
	size_t size;
	const char *peer_ip;         /* "127.0.0.1", "::1" */
	const char *path;            /* "/chat?token=abc" */
	const char *origin;
	const char *subprotocol;     /* requested Sec-WebSocket-Protocol */
	uint64_t auth_id;            /* in on_auth, when it may answer later (a plain
	                                listener): the handle for mws_server_auth_answer();
	                                0 otherwise */
} mws_conn_info;

/* Inside on_auth or on_connect: copies request header `name` ("Authorization",
 * case-insensitive, no colon) with a NUL into buf. Returns its length (0 if
 * absent), MWS_ETOOBIG if buf is too small, MWS_EINVAL. In the on_connect
 * of an mws.v1 session, which comes with the session's hello when the
 * request is gone, only the headers named in keep_headers can be read:
 * MWS_ESTATE for any other (on_auth sees them all, at every handshake). */
MWS_API int mws_conn_info_header(const mws_conn_info *info, const char *name,
                                 char *buf, size_t cap);

/* On the I/O thread, at the handshake, after the origin, rate and
 * connection limits passed. Return 0 to accept, or an HTTP status
 * (400..599; others mean 403) to refuse, or MWS_AUTH_PENDING to answer
 * later (see mws_server_auth_answer). Must not block. */
typedef int (*mws_server_auth_cb)(mws_server *srv, const mws_conn_info *info,
                                  void *user_data);
/* On the I/O thread, once the connection is open (after connection_ack).
 * May call mws_server_send/close/broadcast. */
typedef void (*mws_server_connect_cb)(mws_server *srv, mws_conn_id id,
                                      const mws_conn_info *info, void *user_data);
/* On the I/O thread, one whole message (fragments joined). `data` lives
 * only during the call. JSON heartbeats are answered and not delivered. */
typedef void (*mws_server_message_cb)(mws_server *srv, mws_conn_id id,
                                      const void *data, size_t len, int type,
                                      void *user_data);
/* On the I/O thread, exactly once per connected id; the id is stale after.
 * `why` is a mws_disconnect_why; `reason` is never NULL. */
typedef void (*mws_server_disconnect_cb)(mws_server *srv, mws_conn_id id, int code,
                                         const char *reason, int why,
                                         void *user_data);

/* mws.v1: the id of a managed connection is its session's, stable across
 * resumes; on_connect fires once per session (at its first connection),
 * on_disconnect once when it ends (closed with 1000 by either side,
 * mws_server_close, TTL passed: MWS_DISCONNECT_EXPIRED, server freed).
 * Between connections the session is suspended: sends to it are kept
 * (bounded by session_max_*) and delivered on resume. On the I/O thread;
 * `event` is MWS_SESSION_SUSPENDED or MWS_SESSION_RESUMED. */
typedef void (*mws_server_session_cb)(mws_server *srv, mws_conn_id id, int event,
                                      void *user_data);

typedef struct mws_server_callbacks {
	size_t size;                 /* sizeof(mws_server_callbacks) */
	mws_server_auth_cb on_auth;
	mws_server_connect_cb on_connect;
	mws_server_message_cb on_message;
	mws_server_disconnect_cb on_disconnect;
	mws_server_session_cb on_session; /* may be NULL */
} mws_server_callbacks;

/* Creates a server on `ctx` (NULL: the default context); nothing listens
 * until mws_server_start(). `cfg` may be NULL. Errors: MWS_EINVAL,
 * MWS_ENOMEM. Any thread. Free with mws_server_free(). */
MWS_API int mws_server_new(mws_server **out, mws_ctx *ctx, const mws_server_config *cfg);

/* Registers callbacks (copied) and user data; `free_user_data`, if any, runs
 * once when the server is freed. Before start only: MWS_ESTATE after. */
MWS_API int mws_server_set_callbacks(mws_server *srv, const mws_server_callbacks *cbs,
                                     void *user_data, void (*free_user_data)(void *));

/* Starts listening; returns once the socket is bound. MWS_ELISTEN if the
 * address cannot be bound (the port is in use, also by another server of
 * this process; iface is not an address or interface of this host; the
 * certificate does not load), MWS_ESTATE if already started, MWS_EDEADLK
 * from a callback. With session_store_url, it first subscribes to the other
 * nodes' notices and broadcasts: MWS_ESTORE if Redis does not confirm. */
MWS_API int mws_server_start(mws_server *srv);

/* The port listened on (the chosen one for port 0), 0 before start. */
MWS_API int mws_server_port(const mws_server *srv);

/* Queues a message (copied) for one connection; order per connection is
 * the order of the calls. Never blocks. MWS_ECLOSED for an id that is not
 * (or no longer) connected, MWS_EQUEUEFULL over send_queue_max_bytes,
 * MWS_EINVAL, MWS_ENOMEM. Any thread. With session_store_url, an id held by
 * another node is reached through the store (blocking for one round trip):
 * MWS_ESTORE when it is down (docs/SESSIONS-REDIS.md). */
MWS_API int mws_server_send(mws_server *srv, mws_conn_id id, const void *data,
                            size_t len, int type);

/* Closes one connection with `code` (0: 1000) and `reason` (may be NULL, at
 * most 123 bytes) after what was sent before it. on_disconnect follows
 * with MWS_DISCONNECT_SERVER_CLOSED. MWS_ECLOSED for a stale id. Any thread.
 * For 1002 and 1012-2999, which a libwebsockets 4.1.6 client receives as
 * 1002, the reason on the wire starts with "code=N " (cut to 123 bytes on
 * a character boundary) unless it already holds "code=". */
MWS_API int mws_server_close(mws_server *srv, mws_conn_id id, int code,
                             const char *reason);

/* Queues a message (one copy) for every connection open when the I/O
 * thread takes it; connections whose queue is full skip it (counted in
 * stats). MWS_EINVAL, MWS_ENOMEM. Any thread. With session_store_url it
 * is also published to every other node: MWS_ESTORE when the store is down
 * (delivered on this node only). */
MWS_API int mws_server_broadcast(mws_server *srv, const void *data, size_t len,
                                 int type);

/* Graceful shutdown: refuses new handshakes (503, /healthz says 503), closes
 * every connection with `code` (0: 1012; 1001 also sensible) and the reason
 * "code=N retry-after=MS", MS uniform in [0, spread_window_ms] per client,
 * then waits up to deadline_ms (0: 5000) for the close handshakes and drops
 * the rest. Blocks until then; returns 0 if every connection closed in
 * time, MWS_ETIMEDOUT if some were dropped, MWS_ESTATE if not started.
 * From a callback it starts the shutdown and returns at once. */
MWS_API int mws_server_shutdown(mws_server *srv, int code, int spread_window_ms,
                                int deadline_ms);

typedef struct mws_server_stats {
	size_t size;                 /* set by the caller: sizeof(mws_server_stats) */
	uint32_t connections;        /* open now */
	uint64_t accepted;           /* connections that reached on_connect */
	uint64_t refused[MWS_REFUSE_COUNT]; /* handshakes refused, by reason */
	uint64_t refused_total;
	uint64_t reaped;             /* closed with 4000 for silence */
	uint64_t too_big;            /* closed with 1009 */
	uint64_t disconnects;        /* every on_disconnect */
	uint64_t msgs_in, bytes_in;  /* application messages */
	uint64_t msgs_out, bytes_out;
	uint64_t heartbeats_in;      /* JSON heartbeats answered */
	uint64_t pings_sent, pongs_in;
	uint64_t send_dropped;       /* queued for a connection that ended first,
	                                or skipped by a broadcast (queue full) */
	uint32_t rtt_p50_us, rtt_p90_us, rtt_p99_us;  /* ping -> pong */
	uint32_t duration_p50_ms, duration_p90_ms, duration_p99_ms; /* ended ones */
	int shutting_down;
	uint64_t invalid_messages;   /* json_protocol: text not JSON, closed with 1003 */
	uint64_t send_queue_full;    /* sends refused with MWS_EQUEUEFULL */
	uint64_t handshakes_over_address_limit; /* closed: over max_handshakes_per_address */
	uint64_t headers_too_large;  /* request headers over the limit: HTTP 431 */
	/* mws.v1 */
	uint32_t sessions_active;    /* carried by a connection now */
	uint32_t sessions_suspended; /* waiting for a resume */
	uint64_t sessions_created, sessions_resumed, sessions_expired;
	uint64_t protocol_errors;    /* closed 4002..4009 for the client's input */
	uint64_t replayed;           /* messages written again after a resume */
	uint64_t duplicates_dropped;
	uint64_t batches_out;        /* envelopes holding more than one message */
	uint64_t goaways_sent;
	uint64_t session_msgs_dropped; /* mws.v1: messages a session still held
	                                  (unacknowledged or unsent) when it ended */
	uint32_t paused_connections; /* open connections mws_server_pause_rx() paused */
} mws_server_stats;

/* Copies the statistics into `out` (out->size must be set). Any thread. */
MWS_API int mws_server_stats_get(const mws_server *srv, mws_server_stats *out);

/* Stops listening, closes connections still open with 1001 (waiting up to
 * about a second for their close frames) and frees the server; returns when
 * the I/O thread no longer references it and the port can be bound again. From a callback the teardown is
 * deferred to after the callback returns. NULL is ignored. */
MWS_API void mws_server_free(mws_server *srv);

/* ---- client: the offline queue ---- */

/* Discards every message accepted by mws_client_send() before this call
 * and not yet written (a message already half written still completes);
 * later sends are kept. Discarded messages count in msgs_discarded. The
 * work is done on the I/O thread soon after: stats may lag. A send from
 * the CONNECTED state callback goes out before the messages that waited
 * for that connection, so an application can resubscribe (or clear the
 * queue) first. MWS_EINVAL, MWS_ECLOSED once CLOSED, MWS_ENOMEM. Any thread. */
MWS_API int mws_client_clear_queue(mws_client *client);

/* With hold_queue_on_connect: lets the messages that waited for the current
 * connection go, after what was sent since it opened. Does nothing when
 * nothing is held (a connection that ended already keeps its queue for the
 * next, held again). MWS_EINVAL, MWS_ECLOSED, MWS_ENOMEM. Any thread. */
MWS_API int mws_client_release_queue(mws_client *client);

/* Receive flow control: paused != 0 stops reading from the socket (the
 * kernel's buffers fill and TCP slows the sender), 0 reads again. Applies
 * to the current connection and to every later one until resumed. While
 * paused the heartbeat deadline is not enforced (its answer could not be
 * read). MWS_EINVAL, MWS_ECLOSED once CLOSED. Any thread; takes effect on
 * the I/O thread soon after. */
MWS_API int mws_client_pause_rx(mws_client *client, int paused);

/* ---- client: batches, for bindings (see mws_message) ---- */

/* Sends msgs[0..count) in order, as count calls of mws_client_send_seq
 * would, with one lock and at most one wake of the I/O thread. Returns 0
 * when all were accepted; otherwise the error of the first message refused
 * (MWS_EQUEUEFULL, MWS_ETOOBIG, MWS_EINVAL for a bad type or a NULL data
 * with len > 0, ...): the messages before it were accepted, none after it.
 * `*accepted` (may be NULL) gets how many were accepted, `*first_number`
 * (may be NULL) the send number of msgs[0] when any was (the others
 * follow it one by one). MWS_EINVAL for a NULL client, or msgs NULL with
 * count > 0. Any thread; concurrent senders on one client are
 * serialised. */
MWS_API int mws_client_send_many(mws_client *client, const mws_message *msgs, size_t count,
                                 size_t *accepted, uint64_t *first_number);

/* Corks the client's wake-ups, for a binding whose application sends one
 * message at a time in a loop (a Node tick, an asyncio iteration): while
 * corked (corked != 0), a send queues as always (same checks, same
 * numbers, same errors) but wakes the I/O thread only every 64 sends
 * instead of each time it finds it idle; uncorking (0) wakes it once if a
 * send is waiting for it. The I/O thread also takes corked messages
 * whenever it runs for the client. Uncork at the end of the tick, or
 * messages wait until 64 more sends. MWS_EINVAL. Any thread (meant for
 * one: the loop's). */
MWS_API int mws_client_cork(mws_client *client, int corked);
/* ---- client: credentials answered later ---- */

/* A credentials callback may return MWS_CREDENTIALS_PENDING (102) when its
 * answer comes from another thread (a token service, a binding whose hook
 * runs elsewhere): the attempt waits, holding no thread, until
 * mws_client_credentials_ready(), which calls the hook again for the same
 * attempt (then it answers 0 with what it has, or PENDING again). No
 * answer within connect_timeout_ms is a failed attempt (backoff, retry). */
typedef enum mws_credentials_result {
	MWS_CREDENTIALS_GO = 0,
	MWS_CREDENTIALS_PENDING = 102
} mws_credentials_result;

/* Lets an attempt waiting on MWS_CREDENTIALS_PENDING ask the hook again;
 * does nothing when none waits. MWS_EINVAL, MWS_ECLOSED once CLOSED. Any
 * thread; asynchronous. */
MWS_API int mws_client_credentials_ready(mws_client *client);

/* ---- client: the URL per attempt ---- */

/* Inside a credentials callback: this attempt, and the later ones until
 * set again, go to `url` (ws:// or wss://, copied) instead of the one given
 * to mws_client_new(); its query is used unless mws_credentials_set_query()
 * replaces it. For a list of servers, or a URL from a discovery service.
 * MWS_EINVAL on a URL mws_client_new() would refuse (the attempt keeps the
 * previous URL), MWS_ENOMEM. */
MWS_API int mws_credentials_set_url(mws_credentials *creds, const char *url);

/* ---- server: answering on_auth later ---- */

/* on_auth returns MWS_AUTH_PENDING (102, HTTP's "Processing") to answer
 * later with mws_server_auth_answer(srv, info->auth_id, status), from any
 * thread: a token checked by another service, a binding whose hook runs on
 * its own thread. The handshake waits without holding the I/O thread, up
 * to handshake_timeout_ms from its first byte; then it is refused with 503
 * (counted as MWS_REFUSE_AUTH). This works where the server reads the
 * request itself, before libwebsockets: plain (not TLS) listeners, which
 * give a nonzero info->auth_id. libwebsockets 4.1.6 answers the upgrade in
 * the same call as FILTER_PROTOCOL_CONNECTION (lws_process_ws_upgrade2 in
 * lib/roles/ws/server-ws.c writes the 101 right after it), so under TLS,
 * where the bytes are encrypted, on_auth must answer at once: there
 * (auth_id 0) MWS_AUTH_PENDING refuses with 503. */
typedef enum mws_auth_result {
	MWS_AUTH_ACCEPT = 0,
	MWS_AUTH_PENDING = 102
} mws_auth_result;

/* Inside on_auth on a plain listener (info->auth_id != 0): copies every
 * request header line as received ("Name: value", each followed by
 * "\r\n") with a NUL into buf, for bindings that hand the application all
 * headers. Returns the length, MWS_ETOOBIG if buf is too small, MWS_ESTATE
 * where the raw request is not at hand (TLS, on_connect), MWS_EINVAL. */
MWS_API int mws_conn_info_headers(const mws_conn_info *info, char *buf, size_t cap);

/* The answer to a pending on_auth: 0 accepts, an HTTP status 400..599
 * refuses (others mean 403). MWS_ECLOSED when that handshake no longer
 * waits (answered, timed out, the client left), MWS_EINVAL, MWS_ENOMEM.
 * Any thread, on_auth included; a second answer is ignored. */
MWS_API int mws_server_auth_answer(mws_server *srv, uint64_t auth_id, int status);

/* ---- server: receive flow control ---- */

/* paused != 0 stops reading connection `id` (the kernel's buffers fill and
 * TCP slows the client), 0 reads it again; calls take effect in order.
 * While paused the connection is not reaped for silence (its heartbeats
 * cannot be read; the timeout counts again from the resume) and it sends
 * an unsolicited pong every second, so a client that takes any frame for
 * life (ours does) sees it alive; writing to it goes on. For an mws.v1
 * session the pause stays with the session: a resume on a new connection
 * starts paused. MWS_ECLOSED for a stale id, MWS_EINVAL, MWS_ENOMEM.
 * Any thread; takes effect on the I/O thread soon after. */
MWS_API int mws_server_pause_rx(mws_server *srv, mws_conn_id id, int paused);

#ifdef __cplusplus
}
#endif
#endif /* MANAGEDWS_H */
