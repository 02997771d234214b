/* The server's internals, shared by the public layer (src/api/server.c) and
 * the I/O-thread driver (src/io/server_*.c). Fields are grouped by the
 * thread that may touch them. */
#ifndef MWS_IO_SERVER_IO_H
#define MWS_IO_SERVER_IO_H

#include "core/addr_count.h"
#include "core/histogram.h"
#include "core/id_map.h"
#include "core/metrics_text.h"
#include "core/rng.h"
#include "core/token_bucket.h"
#include "core/session_store.h"
#include "core/reassembly.h"
#include "io/ctx.h"

/* A payload shared by every connection a broadcast reaches. The reference
 * count is touched on the I/O thread only. */
typedef struct mws__srv_payload {
	int refs;
	int type;           /* mws_msg_type */
	size_t len;
	_Alignas(16) unsigned char buf[]; /* LWS_PRE bytes, then the payload */
} mws__srv_payload;

mws__srv_payload *mws__srv_payload_new(const void *data, size_t len, int type);
void mws__srv_payload_unref(mws__srv_payload *p);

enum { MWS__SOP_SEND = 0, MWS__SOP_BROADCAST, MWS__SOP_CLOSE, MWS__SOP_PAUSE_RX, MWS__SOP_AUTH_ANSWER,
       MWS__SOP_NOTICE /* from the shared store: `code` the kind, `reason` the id */ };

/* One request from an application thread, and, once on the I/O thread, a
 * node of a connection's send queue. */
typedef struct mws__srv_op {
	struct mws__srv_op *next;
	int kind;
	int counted;        /* its bytes count toward the connection's limit */
	int inline_p;       /* p lives in this op's allocation (a SEND's own copy) */
	mws_conn_id id;
	mws__srv_payload *p;
	int code;
	char reason[124];
	uint64_t seq;       /* its place among the server's requests (post_seq) */
} mws__srv_op;

/* An id that stopped being held here while requests for it could still
 * wait (server_shared.c): sends to it queue behind them until the I/O
 * thread finished request `seq`. */
typedef struct mws__srv_left {
	mws_conn_id id;
	uint64_t seq;
} mws__srv_left;
#define MWS__SRV_LEFT_MAX 16

/* mws_conn_info with what the header lookup needs. */
typedef struct mws__srv_info {
	mws_conn_info pub;
	struct lws *wsi;
	char ip[64];
	char path[1024];
	char origin[256];
	char subprotocol[128];
	char *kept;        /* once wsi is NULL: "name\0value\0" per kept header */
	size_t kept_len;
	const char *head;  /* no wsi yet: the raw request head (server_head.c) */
	size_t head_len;
} mws__srv_info;

/* The most one send() of a server connection carries (its protocols'
 * tx_packet_size); it costs no memory per connection. */
#define MWS__SRV_WRITE_MAX (64u * 1024u)

/* A WebSocket connection, from ESTABLISHED to CLOSED (I/O thread), except
 * `pending_bytes`, which is guarded by the server's lock. */
typedef struct mws__srv_conn {
	struct mws__srv_conn *prev, *next; /* every connection until CLOSED */
	struct mws_server *srv;
	struct lws *wsi;
	mws_conn_id id;
	size_t pending_bytes;
	uint64_t opened_ms, last_seen_ms;
	mws__srv_op *txh, *txt;
	size_t tx_off;       /* bytes of txh already written (fragments) */
	/* Flags and codes in bytes and shorts: every idle connection holds
	 * this struct (issue 11, memory per connection). */
	unsigned char in_map;      /* still "connected": on_disconnect not yet fired */
	unsigned char rx_paused;   /* not read while libwebsockets holds our output */
	unsigned char app_paused;  /* mws_server_pause_rx(): not read until resumed */
	unsigned char rx_off;      /* reading is off on the wsi (either reason) */
	unsigned char keepalive_due; /* paused: an unsolicited pong says we are alive */
	unsigned char half_closed; /* the peer sent FIN with our output pending */
	unsigned char ping_due;
	unsigned char rx_seen;    /* data read since the last WRITEABLE: a pong may be owed */
	unsigned char pollout_idle; /* ... unless no poll-event change since that
	                             * WRITEABLE: none owed (mws__ctx_pollfd_changed) */
	unsigned char close_sent; /* libwebsockets has our close frame: it waits for the answer */
	unsigned char goaway_wait; /* goaway sent: the close waits for the final ack */
	unsigned char close_state; /* MWS__CLOSE_* */
	unsigned char managed;     /* this connection speaks mws.v1 */
	unsigned char welcome_due, resumed, pong_due, goaway_due;
	uint16_t close_code;
	uint16_t peer_code;
	uint16_t own_code;         /* a close libwebsockets sent by itself */
	/* Reasons (<= 123 bytes) on the heap, NULL for "": only a closing
	 * connection holds them (mws__srv_reason_set). */
	char *close_reason, *peer_reason, *own_reason;
	mws__reassembly rx;          /* a fragmented message being rebuilt */
	/* mws.v1 (server_v1*.c). A session's conn is either the connection
	 * carrying it or, while suspended, a "ghost" (wsi NULL, on
	 * srv->ghosts) that keeps its id in the map so sends reach it. */
	struct mws__store_rec *rec;  /* its session once welcomed, else NULL */
	struct mws__srv_v1c *v1;     /* set exactly when `managed` (mws__srv_conn_new) */
} mws__srv_conn;

/* What only an mws.v1 connection or ghost holds, in the same block as its
 * conn, after it: a plain connection's block ends before it (issue 11,
 * memory per idle connection: 176 bytes less). I/O thread, except what
 * says srv->lock. */
typedef struct mws__srv_v1c {
	size_t pending_msgs;         /* under srv->lock: unacked in the session */
	size_t queue_max_bytes, queue_max_msgs; /* under srv->lock; 0: plain bounds */
	uint16_t goaway_code;
	uint16_t error_code;         /* an error envelope goes before the close */
	uint32_t goaway_retry_ms;
	uint64_t pong_ts;
	uint64_t goaway_wait_ms;     /* goaway_wait: this long at most */
	mws__timer goaway_sul;
	mws__env_out out;            /* encode buffer (LWS_PRE headroom), none while idle */
	size_t v1_off;               /* bytes of `out` written as fragments */
	mws__timer ack_sul;
	mws__srv_info *info;         /* the handshake, kept until the hello */
} mws__srv_v1c;

typedef struct mws__srv_conn_block {
	mws__srv_conn c;
	mws__srv_v1c v1;
} mws__srv_conn_block;

/* The conn a v1 part belongs to (a timer callback finds its conn so). */
static inline mws__srv_conn *mws__srv_conn_of_v1(mws__srv_v1c *v)
{
	return &MWS__CONTAINER_OF(v, mws__srv_conn_block, v1)->c;
}

enum { MWS__CLOSE_NONE = 0, MWS__CLOSE_AFTER_QUEUE, MWS__CLOSE_NOW };

/* What a server socket holds before it is a WebSocket connection (and an
 * HTTP one for its life), as libwebsockets' opaque user data
 * (server_admit.c). */
typedef struct mws__srv_hs {
	char addr[48];
	int counted;  /* holds one of addr's handshake slots */
	int admitted; /* the head reader admitted it: FILTER lets it pass */
	unsigned char *http_body; /* LWS_PRE + len, waiting for HTTP_WRITEABLE */
	size_t http_len;
} mws__srv_hs;

/* The opaque user data of a server socket: its mws__srv_hs (or NULL) up
 * to ESTABLISHED, then its conn, tagged by the low bit, until CLOSED. The
 * protocols have no per-session data: libwebsockets would allocate it for
 * every connection (32 bytes each in malloc chunks). */
static inline mws__srv_conn *mws__srv_wsi_conn(struct lws *wsi)
{
	uintptr_t u = (uintptr_t)lws_get_opaque_user_data(wsi);
	return u & 1u ? (mws__srv_conn *)(u & ~(uintptr_t)1u) : NULL;
}

static inline mws__srv_hs *mws__srv_wsi_hs(struct lws *wsi)
{
	uintptr_t u = (uintptr_t)lws_get_opaque_user_data(wsi);
	return u & 1u ? NULL : (mws__srv_hs *)u;
}

static inline void mws__srv_wsi_set_conn(struct lws *wsi, mws__srv_conn *c)
{
	lws_set_opaque_user_data(wsi, c ? (void *)((uintptr_t)c | 1u) : NULL);
}


typedef struct mws__srv_settings {
	char *iface, *cert_file, *key_file;
	char **origins;
	size_t origin_count;
	char **keep_headers;       /* kept for an mws.v1 session's on_connect */
	size_t keep_header_count;
	int port;
	uint64_t heartbeat_timeout_ms, check_interval_ms, ping_interval_ms;
	int json_protocol;
	int json_allow_invalid;
	int max_handshakes_per_address; /* 0: no bound */
	size_t max_message_bytes;
	size_t max_connections;
	double rate_per_sec;   /* <= 0: off */
	double rate_burst;
	uint64_t handshake_timeout_ms;
	size_t send_queue_max_bytes;
	uint64_t random_seed;
	int v1_enabled;        /* serve mws.v1 beside plain */
	size_t rx_buffer_bytes; /* each connection's receive buffer in libwebsockets */
	char *store_url;       /* shared session store; NULL: memory only */
	mws__store_config store;
	int release_port_on_shutdown; /* the listener closes when draining begins */
} mws__srv_settings;

struct mws_server {
	mws_ctx *ctx;
	mws__srv_settings set;
	mws_server_callbacks cbs;
	void *user_data;
	void (*free_user_data)(void *);
	/* Frees the server; set by the public layer, which allocated it, so
	 * that the I/O layer finishes a deferred free without calling up. */
	void (*release)(struct mws_server *srv);

	/* any thread */
	atomic_int started;
	atomic_int port;
	atomic_int shutting_down;
	pthread_mutex_t lock;        /* map, outbox, pending_bytes of connections */
	mws__id_map map;             /* id -> mws__srv_conn, connected ones */
	mws__id_map auth_map;        /* auth_id -> head waiting for its answer;
	                                made at the first pending on_auth */
	mws__srv_op *out_head, *out_tail;
	mws__ready ready;

	/* statistics: counters are atomics; histograms behind stats_lock */
	atomic_uint_least64_t accepted, refused[MWS_REFUSE_COUNT], reaped, too_big,
		disconnects, msgs_in, bytes_in, msgs_out, bytes_out, heartbeats_in,
		pings_sent, pongs_in, send_dropped, half_closed, invalid_messages,
		send_queue_full, over_address_limit, headers_too_large;
	atomic_uint connections;
	pthread_mutex_t stats_lock;
	mws__histogram rtt_us, duration_ms;
	mws__prom_hist prom_rtt, prom_duration;

	/* I/O thread only */
	mws__member member;
	struct lws_vhost *vh;
	struct mws_server **slot;    /* the vhost's way back to us; NULL when freed */
	struct mws_server **slot_v1; /* the same, for its mws.v1 protocol entry */
	int lsn_fd;                  /* our listening socket (-1: none) */
	struct lws *lsn_wsi;         /* lsn_fd adopted as a raw file; it closes lsn_fd */
	mws__timer accept_sul; /* resumes accepting after EMFILE */
	mws__srv_conn conns;         /* list head */
	int live;                    /* WebSocket wsi not yet CLOSED */
	uint64_t next_id;
	mws__ip_limiter limiter;
	mws__addr_count hs_count;    /* handshakes in progress per address */
	mws__rng rng;
	int tls;
	int draining;
	int drain_dropped;           /* the deadline cut some closes short */
	int shut_code;               /* shutdown closes still to send: */
	uint64_t shut_window_ms, shut_deadline_ms;
	mws__timer shut_sul;         /* the next batch of them */
	mws__cmd *shutdown_waiter;
	mws__cmd *free_cmd;          /* set once freeing has begun */
	mws__timer check_sul, ping_sul, deadline_sul, free_sul;
	mws__timer stall_sul; /* watches connections not read */
	int rx_paused;               /* connections not read now */
	atomic_int app_paused;       /* live connections paused by the application */
	mws__timer keepalive_sul; /* pongs for paused connections */
	unsigned char *tx_scratch;   /* LWS_PRE + one fragment */
	struct mws__srv_head *heads; /* plain connections whose head is being read */
	uint64_t next_auth_id;
	int admitting_fd;            /* handed over admitted: libwebsockets may run
	                                its FILTER inside the adopt call */
	/* mws.v1 */
	mws__store store;            /* sessions (I/O thread) */
	mws__srv_conn ghosts;        /* list head of suspended sessions */
	int ending_why;              /* on_disconnect's why when sessions are swept */
	atomic_uint sessions_active, sessions_suspended;
	atomic_uint_least64_t sessions_created, sessions_resumed, sessions_expired,
		protocol_errors, replayed, duplicates, batches_out, goaways_sent,
		session_msgs_dropped;
	/* mws.v1 sessions shared with other nodes (server_shared.c) */
	mws__shared shared;          /* ops NULL: memory only (or stopped) */
	int shared_configured;
	int store_down;              /* I/O thread: saves fail fast until a ping works */
	int shared_dirty;            /* I/O thread: a session got messages: flush */
	uint64_t store_pinged_ms;
	mws__timer store_sul;
	uint64_t post_seq;           /* under lock: requests posted so far */
	atomic_uint_least64_t done_seq; /* requests the I/O thread finished */
	mws__srv_left left[MWS__SRV_LEFT_MAX]; /* under lock */
	uint64_t left_all_seq;       /* under lock: `left` was full: every id waits */
	atomic_uint_least64_t store_refused, store_stalls, store_forwarded, store_remote_in,
		sessions_taken_over, sessions_moved;
};

/* src/io/server_vhost.c */
/* Binds and listens (the socket is ours, not libwebsockets'), then makes
 * the vhost. 0, MWS_ELISTEN, MWS_ENOMEM. */
int mws__server_listen(struct mws_server *srv);
/* Closes the listening socket at once (the port is free on return), then
 * destroys the vhost. Not from a callback of the listening socket. */
void mws__server_unlisten(struct mws_server *srv);
/* Only the listening socket: the port is free, connections stay. */
void mws__srv_close_listener(struct mws_server *srv);
void mws__srv_info_fill(mws__srv_info *info, struct lws *wsi);
/* Copies the headers `names` while the request is there, for a later
 * on_connect (info->kept, freed by the caller); then info->wsi is NULL. */
void mws__srv_info_keep(mws__srv_info *info, char *const *names, size_t n);

/* src/io/server_admit.c: all on the I/O thread */
/* 0 to let the handshake go on, or the HTTP status refusing it (counted).
 * A connection the head reader admitted already passes. */
int mws__srv_admit(struct mws_server *srv, struct lws *wsi);
/* The checks on `info`: 0, an HTTP status (counted), or MWS_AUTH_PENDING
 * when on_auth will answer later (only if info->pub.auth_id is set). */
int mws__srv_admit_info(struct mws_server *srv, mws__srv_info *info);
/* Counts and logs a refusal for `reason` with `status`. */
void mws__srv_refused(struct mws_server *srv, const char *ip, int reason, int status);
const char *mws__srv_status_text(int status);
/* "127.0.0.1" (v4-mapped addresses as IPv4), "::1". */
void mws__srv_addr_text(const struct sockaddr_storage *ss, char *out, size_t cap);
/* The opaque user data of a socket the head reader admitted. */
void *mws__srv_hs_admitted(void);
/* Writes an HTTP/1.1 refusal with `status`; 0 or -1. */
int mws__srv_refuse(struct lws *wsi, int status);
/* At accept(): 1 to go on (*hs, possibly NULL, then goes to the socket as
 * its opaque user data), 0 if the address holds its bound of handshakes
 * (counted; the caller closes the socket). */
int mws__srv_hs_begin(struct mws_server *srv, const struct sockaddr_storage *ss, void **hs);
/* Gives back what begin() took, for a socket never adopted. */
void mws__srv_hs_cancel(struct mws_server *srv, void *hs);
/* The handshake of `wsi` ended (upgraded, or the socket is gone); `srv`
 * may be NULL once the server is gone. */
void mws__srv_hs_end(struct mws_server *srv, struct lws *wsi);
/* The hs of an HTTP socket, made if it has none; NULL: out of memory. */
mws__srv_hs *mws__srv_hs_for_http(struct lws *wsi);

/* src/io/server_head.c: all on the I/O thread */
#define MWS__SRV_HEAD_PROTOCOL "mws head"
/* Reads the request head of accepted plain socket `fd` before handing it
 * to libwebsockets; `hs` is given back then. 0, or -1 (nothing kept: the
 * caller closes fd and gives hs back). */
int mws__srv_head_begin(struct mws_server *srv, int fd, void *hs);
int mws__srv_head_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len);
/* The server is going: heads still being read forget it. */
void mws__srv_heads_forget(struct mws_server *srv);
/* mws_server_auth_answer() reached the I/O thread. */
void mws__srv_head_answer(struct mws_server *srv, uint64_t auth_id, int status);

/* src/io/server_conn.c: all on the I/O thread */
/* A zeroed conn; managed: with its v1 part (and `managed` set). NULL: out
 * of memory. */
mws__srv_conn *mws__srv_conn_new(int managed);
mws__srv_conn *mws__srv_conn_open(struct mws_server *srv, struct lws *wsi);
void mws__srv_conn_closed(struct mws_server *srv, mws__srv_conn *conn);
/* Frees a conn (a socket's or a ghost) and its reasons. */
void mws__srv_conn_free(mws__srv_conn *conn);
/* Sets *slot to n bytes of s (cut to 123, the most a close frame holds);
 * out of memory leaves it NULL: the reason is then "", the code stays. */
void mws__srv_reason_set(char **slot, const void *s, size_t n);
static inline const char *mws__srv_reason(const char *r) { return r ? r : ""; }
/* The end as the application sees it (on_disconnect, once); the socket
 * may live on while it closes. */
void mws__srv_conn_end(struct mws_server *srv, mws__srv_conn *c, int code,
                       const char *reason, int why);
/* Asks for a close frame: after what is queued, or at once (`now`). */
void mws__srv_conn_close(struct mws_server *srv, mws__srv_conn *c, int code,
                         const char *reason, int why, int now);
int mws__srv_receive(struct mws_server *srv, mws__srv_conn *conn, const void *in,
                     size_t len);
void mws__srv_pong(struct mws_server *srv, mws__srv_conn *conn, const void *in,
                   size_t len);

/* A SEND op and its payload copy in one allocation (any thread); NULL
 * when out of memory. Its payload is never shared. */
mws__srv_op *mws__srv_op_new_send(const void *data, size_t len, int type);

/* src/io/server_tx.c: all on the I/O thread, except: */
/* Any thread, srv->lock held: appends to the request list the I/O thread
 * drains in order (numbered: post_seq). */
void mws__srv_post_locked(struct mws_server *srv, mws__srv_op *op);
void mws__srv_op_free(mws__srv_op *op);
void mws__srv_enqueue(mws__srv_conn *c, mws__srv_op *op);
/* Queues a message the library itself sends (acks): not counted. */
void mws__srv_enqueue_text(mws__srv_conn *c, const char *text, size_t n);
int mws__srv_writeable(struct mws_server *srv, mws__srv_conn *conn);
/* New output queued on a plain connection: written at once when nothing
 * is in the way (saves a trip round the poll loop), else at WRITEABLE. */
void mws__srv_kick(struct mws_server *srv, mws__srv_conn *c);
void mws__srv_drain(mws_ctx *ctx, mws__ready *r);
/* A closed connection leaves the count of those not read. */
void mws__srv_rx_forget(struct mws_server *srv, mws__srv_conn *c);
void mws__srv_timers_start(struct mws_server *srv);
/* Starts a graceful shutdown; `waiter` (may be NULL) completes when every
 * connection is gone. */
void mws__srv_shutdown_begin(struct mws_server *srv, int code, uint64_t window_ms,
                             uint64_t deadline_ms, mws__cmd *waiter);
/* Begins freeing; `cmd` completes (or srv->release runs) when done. */
void mws__srv_free_begin(struct mws_server *srv, mws__cmd *cmd);
/* src/io/server_tx.c, for server_v1*.c */
void mws__srv_rx_pause(struct mws_server *srv, mws__srv_conn *c);
void mws__srv_rx_resume(struct mws_server *srv, mws__srv_conn *c);
int mws__srv_send_close(mws__srv_conn *c);

/* src/io/server_rx_flow.c: all on the I/O thread */
/* Turns reading on the wsi on or off to match rx_paused || app_paused. */
void mws__srv_rx_apply(mws__srv_conn *c);
/* PAUSE_RX for one id (a live connection or a suspended session). */
void mws__srv_app_pause(struct mws_server *srv, mws__srv_conn *c, int paused);
/* A connection (or session) ends, or moves to `to` (NULL: none). */
void mws__srv_app_pause_move(struct mws_server *srv, mws__srv_conn *from, mws__srv_conn *to);
/* At the top of WRITEABLE: the pong of a paused connection. 1 when written
 * (TLS: nothing more in this WRITEABLE), 0 when none was due, -1 failed. */
int mws__srv_keepalive_write(struct mws_server *srv, mws__srv_conn *c);

/* src/io/server_v1.c, server_v1_tx.c, server_sessions.c: mws.v1 */
/* At ESTABLISHED: 1 when the connection negotiated mws.v1. */
int mws__srv_is_v1(const struct mws_server *srv, struct lws *wsi);
/* A managed connection opened: no on_connect until its hello. */
void mws__srv_v1_open(struct mws_server *srv, mws__srv_conn *c);
/* One whole message on a managed connection. */
int mws__srv_v1_receive(struct mws_server *srv, mws__srv_conn *c, const void *msg,
                        size_t len, int type);
int mws__srv_v1_writeable(struct mws_server *srv, mws__srv_conn *c);
/* A managed connection is gone: the session ends or is suspended. */
void mws__srv_v1_closed(struct mws_server *srv, mws__srv_conn *c);
/* The session stays, the connection goes (reaped, taken over). */
void mws__srv_v1_suspend(struct mws_server *srv, mws__srv_conn *c);
/* SEND for a managed conn (live or ghost): into the session's outbox. */
void mws__srv_v1_send(struct mws_server *srv, mws__srv_conn *c, mws__srv_op *op);
/* BROADCAST reaches suspended sessions too. */
void mws__srv_v1_broadcast_ghosts(struct mws_server *srv, mws__srv_op *op, uint64_t *skipped);
/* Under srv->lock: a broadcast's copy for one managed conn; -1 skipped. */
int mws__srv_v1_broadcast_one(struct mws_server *srv, mws__srv_conn *c,
                              const mws__srv_payload *p);
/* CLOSE for a suspended session: it ends now. */
void mws__srv_v1_close_ghost(struct mws_server *srv, mws__srv_conn *g);
/* The check tick: hello timeouts, expired sessions. */
void mws__srv_v1_tick(struct mws_server *srv, uint64_t now);
/* Every session ends (free): on_disconnect once each. */
void mws__srv_v1_end_all(struct mws_server *srv, int why);
/* Graceful shutdown: a goaway goes before the close frame, which then
 * waits up to `answer_ms` for the client's final ack. */
void mws__srv_v1_goaway(mws__srv_conn *c, int code, uint64_t retry_ms, uint64_t answer_ms);
/* After the goaway: what the client sends is not delivered, its acks are
 * taken, and its final ack lets the close go. */
int mws__srv_v1_answer(struct mws_server *srv, mws__srv_conn *c, const void *msg, size_t len);
void mws__srv_v1_arm_ack(struct mws_server *srv, mws__srv_conn *c, uint64_t now);
/* The mws.v1 lines of /metrics. */
void mws__srv_v1_metrics(struct mws_server *srv, mws__mt *mt);
/* Frees what a conn holds for mws.v1. */
void mws__srv_v1_conn_free(mws__srv_conn *c);

/* src/io/server_shared.c: mws.v1 sessions in a shared store (Redis) */
/* Starts the notices from other nodes (I/O thread, after listening). */
int mws__srv_shared_start(struct mws_server *srv);
/* Stops them, saves what changed and lets go of the store (freeing). */
void mws__srv_shared_stop(struct mws_server *srv);
/* A new session into the store: 0, MWS_EINVAL (id taken), MWS_ESTORE. */
int mws__srv_shared_create(struct mws_server *srv, mws__store_rec *rec);
/* A hello asks to resume: the session (loaded, maybe taken over from
 * another node: *arrived), or NULL with *err 0 (unknown: start a new one)
 * or an error (MWS_ESTORE: refuse for now). */
mws__store_rec *mws__srv_shared_resume(struct mws_server *srv, const unsigned char *id,
                                       const unsigned char *secret, int *err, int *arrived);
/* Before data or an ack is written: 1 go on, 0 hold them (the store is
 * down), -1 the session moved away (the connection is closing). */
int mws__srv_shared_before_write(struct mws_server *srv, mws__srv_conn *c);
/* Saves what changed (everything and the expiry when `force`). 0,
 * MWS__SHARED_MOVED (let go already), MWS_ESTORE. */
int mws__srv_shared_save(struct mws_server *srv, mws__store_rec *rec, int force);
/* Received data was delivered: saved at once (with the replies queued
 * from the callbacks), so a node taking the session over does not
 * deliver it again. */
void mws__srv_shared_after_receive(struct mws_server *srv, mws__srv_conn *c);
/* A send accepted for a session that has since moved away: to its new
 * node. 0, or -1 (counted as dropped by the caller). */
int mws__srv_shared_forward(struct mws_server *srv, mws_conn_id id, const mws__srv_payload *p);
int mws__srv_shared_send(struct mws_server *srv, mws_conn_id id, const void *data, size_t len,
                         int type);
int mws__srv_shared_take_waiting(struct mws_server *srv, mws__srv_conn *c);
/* Under srv->lock. `id` is no longer held here: requests for it posted so
 * far go to the store first (the I/O thread forwards them in order). */
void mws__srv_shared_left_locked(struct mws_server *srv, mws_conn_id id);
/* Under srv->lock: 1 when a send to `id`, not held here, must queue behind
 * requests still to be forwarded (then post it and call left_locked). */
int mws__srv_shared_behind_locked(struct mws_server *srv, mws_conn_id id);
/* The session moves away: messages numbered but not saved follow it. */
void mws__srv_shared_forward_unsaved(struct mws_server *srv, mws__store_rec *rec);
/* Saves suspended sessions that changed. */
void mws__srv_shared_flush(struct mws_server *srv);
/* The session ended: out of the store too. */
void mws__srv_shared_forget(struct mws_server *srv, const mws__store_rec *rec);
void mws__srv_shared_notice_run(struct mws_server *srv, mws__srv_op *op);
void mws__srv_shared_metrics(struct mws_server *srv, mws__mt *mt);
/* src/io/server_sessions.c: the session went to another node; it ends
 * here (on_disconnect MWS_DISCONNECT_MOVED), not in the store. */
void mws__srv_v1_moved(struct mws_server *srv, mws__store_rec *rec);

/* src/io/server_http.c */
/* The /metrics text (malloc'd, LWS_PRE headroom in front), or NULL. */
unsigned char *mws__srv_metrics(struct mws_server *srv, size_t *len);
/* Answers LWS_CALLBACK_HTTP for `path`; 0, or -1 to close. */
int mws__srv_http(struct mws_server *srv, struct lws *wsi, const char *path);


#endif
