/* The client's internals, shared by the public layer (src/api/client.c) and
 * the I/O-thread driver (src/io/client_*.c). Fields are grouped by the
 * thread that may touch them. */
#ifndef MWS_IO_CLIENT_IO_H
#define MWS_IO_CLIENT_IO_H

#include "core/close_policy.h"
#include "core/heartbeat.h"
#include "core/histogram.h"
#include "core/message.h"
#include "core/msg_pool.h"
#include "core/reassembly.h"
#include "core/retry.h"
#include "core/spsc_ring.h"
#include "core/url.h"
#include "io/ctx.h"
#include "io/client_v1.h"

/* Where an attempt is: decides which timeout applies and what a failure
 * is called. */
enum mws__phase {
	MWS__PHASE_IDLE = 0,
	MWS__PHASE_RESOLVING,
	MWS__PHASE_CONNECTING,  /* TCP (and TLS) */
	MWS__PHASE_HANDSHAKE,   /* HTTP upgrade sent */
	MWS__PHASE_OPEN,
	MWS__PHASE_CREDENTIALS, /* the credentials hook answers later */
	MWS__PHASE_QUEUED       /* waits for a slot among the context's attempts */
};

/* The resolved settings: every default applied, strings owned. */
typedef struct mws__client_settings {
	char *subprotocol, *origin, *headers, *ca_file;
	char *local_address; /* bind the socket here (lws `iface`), or NULL */
	uint64_t connect_timeout_ms, handshake_timeout_ms;
	int heartbeat_mode;
	uint64_t heartbeat_interval_ms, heartbeat_timeout_ms;
	size_t queue_max_messages;
	uint64_t queue_max_bytes;
	size_t max_message_bytes;
	int insecure;
	int no_offline_queue;
	int hold_queue_on_connect;
} mws__client_settings;

struct mws_credentials {
	struct mws_client *client;
	char *headers;       /* "Name: value\r\n" lines added by the hook */
	size_t headers_len;
	char *query;         /* replaces the URL's query when set */
	uint32_t attempt;
	int last_http_status;
	int failed;          /* ENOMEM while building: the attempt fails */
	char *url_text;      /* replaces the client's URL from this attempt on */
	mws__url *url;
};

/* What waits for the end of the I/O loop's pass (src/io/client_batch.c):
 * the messages read for on_messages, copied back to back in buf, and
 * whether messages left the send queue (on_sent). */
typedef struct mws__client_batch {
	mws_message *items;             /* data holds an offset into buf until the flush */
	size_t count, items_cap;
	unsigned char *buf;
	size_t used, buf_cap;
	int sent_due;                   /* on_sent is owed */
	int scheduled;                  /* sul armed */
	int flushing;
	mws__timer sul;
} mws__client_batch;

struct mws_client {
	mws_ctx *ctx;
	char *url_text;
	mws__url url;
	mws__client_settings set;
	mws__close_policy policy;
	mws_client_callbacks cbs;
	void *user_data;
	void (*free_user_data)(void *);

	/* any thread */
	atomic_int state_pub;           /* the state, published for readers */
	atomic_int started;             /* connect() was called: callbacks frozen */
	atomic_int freeing;
	atomic_int closed_by_app;       /* close() returned: sends fail from now on */
	pthread_mutex_t send_lock;      /* serialises producers only */
	mws__spsc_ring ring;            /* application -> I/O thread */
	mws__msg_pool pool;             /* written blocks back to the senders */
	mws__ready ready;
	atomic_size_t pending_msgs;     /* accepted, not yet written */
	atomic_uint_least64_t pending_bytes;
	/* mws_client_wait_room(): senders asleep until the queue is at its
	 * low-water mark (client_room.c); woken by mws__client_sent_note(). */
	pthread_mutex_t room_lock;
	pthread_cond_t room_cond;       /* on CLOCK_MONOTONIC */
	atomic_int room_waiters;
	atomic_int rx_paused;           /* mws_client_pause_rx(): wanted */
	atomic_int corked;              /* mws_client_cork(): wakes deferred ... */
	atomic_int cork_held;           /* ... for this many sends */
	atomic_int creds_ready;         /* mws_client_credentials_ready() asked */
	atomic_int release_pending;     /* mws_client_release_queue() asked ... */
	atomic_uint_least64_t release_upto; /* ... when this many sends were accepted */
	atomic_int tx_waiting;          /* a WRITEABLE is due that takes the ring:
	                                 * sends need no wake (client_tx.c) */

	/* statistics: counters are atomics; histograms behind stats_lock */
	pthread_mutex_t stats_lock;
	mws__histogram rtt_us, uptime_ms;
	atomic_uint_least64_t connection_id, attempts_total, connects, reconnects,
		refused_events, heartbeats_sent, heartbeat_timeouts, queue_full,
		msgs_out, bytes_out, msgs_in, bytes_in, msgs_discarded;
	atomic_uint attempt_pub;

	/* I/O thread only */
	mws__member member;
	int state;
	enum mws__phase phase;
	struct lws *wsi;
	mws__msg_queue txq;             /* drained from the ring, not yet written */
	uint64_t taken;                 /* messages moved from the ring to txq, ever */
	int rx_applied;                 /* reading is paused on the current wsi */
	mws__msg_queue held;            /* older than txq: waits for release_queue */
	size_t tx_off;                  /* bytes of txq.head already written as fragments */
	size_t tx_room;                 /* socket room last measured, less what we wrote since */
	unsigned char *tx_frag;         /* LWS_PRE + one fragment or batch, on first use */
	mws__retry retry;               /* attempts, backoff, breaker */
	mws__heartbeat hb;
	uint64_t attempt_token;         /* bumps with every attempt */
	uint64_t opened_at_ms;
	int auth_retry_used;
	int last_http_status;
	struct mws_credentials *creds;  /* of the attempt in flight */
	mws__resolve_req *resolving;    /* answer awaited for this attempt */
	int peer_close_code;            /* from the close frame, until CLOSED */
	char peer_close_reason[128];
	size_t peer_close_reason_len;
	int own_close_code;             /* a close libwebsockets sent by itself */
	char own_close_reason[124];
	int ping_due, json_hb_due;
	int in_opened;                  /* inside the CONNECTED callback (client_conn.c) */
	int rx_seen;                    /* data read since the last WRITEABLE: a pong
	                                   may be owed, so no write at once */
	int pollout_idle;               /* ... unless libwebsockets has changed nothing
	                                   in the socket's poll events since that
	                                   WRITEABLE: it asked for no POLLOUT, so it
	                                   owes no pong (mws__ctx_pollfd_changed) */
	uint64_t last_rx_ms;             /* last message from the peer */
	/* From a JSON connection_ack; written on the I/O thread under
	 * stats_lock, read by mws_client_server_connection_id(). */
	char server_conn_id[64];        /* the id's text */
	char server_conn_id_json[160];  /* the id as a JSON value, sent back */
	mws__reassembly rx;             /* a fragmented message being rebuilt */
	void *free_cmd;                 /* allocated up front: free() cannot fail */
	mws__timer retry_sul, hb_sul, timeout_sul;
	mws__admit_node admit;          /* its attempt's slot in ctx->admit */
	mws__client_v1 v1;              /* mws.v1: src/io/client_v1*.c */
	mws__client_batch batch;        /* on_messages / on_sent: src/io/client_batch.c */
};

/* src/io/client_vhost.c */
struct lws_vhost *mws__client_vhost_create(mws_ctx *ctx, const char *ca_file);
struct lws_vhost *mws__client_vhost_for(mws_ctx *ctx, const char *ca_file);
void mws__client_vhosts_forget(mws_ctx *ctx);

/* src/io/client_conn.c: the lifecycle, all on the I/O thread */
void mws__client_attach(mws_ctx *ctx, struct mws_client *c);
void mws__client_do_connect(struct mws_client *c);
void mws__client_do_reconnect_now(struct mws_client *c);
void mws__client_do_disconnect(struct mws_client *c, int code, const char *reason, int close_for_good);
void mws__client_do_free(struct mws_client *c);
/* The one place where the state changes. Returns 0, or -1 if the table
 * refused the event (counted). */
int mws__client_transition(struct mws_client *c, int event, const char *reason,
                           int close_code, int retry_delay_ms);
/* The connection ended (or never started): apply the close policy. */
void mws__client_dropped(struct mws_client *c, int code, const char *reason,
                         size_t reason_len, int http_status);
void mws__client_opened(struct mws_client *c);
void mws__client_handshake_started(struct mws_client *c);
/* Closes the socket without waiting for it; the client moves on at once. */
void mws__client_detach_wsi(struct mws_client *c, int code, const char *reason);

/* src/io/client_tx.c */
/* Written blocks a client keeps for its senders to fill again: while it
 * sends, what one drain of the queue hands back (half of queue_max_bytes,
 * the low-water mark) up to MWS__CLIENT_POOL_MAX, so that a burst refills
 * the queue without malloc (glibc trims the freed half and every page is
 * faulted in again: 5x the page faults of 4 KiB sends, measured); once the
 * queue is empty, MWS__CLIENT_POOL_KEEP. */
#define MWS__CLIENT_POOL_KEEP (64u * 1024u)
#define MWS__CLIENT_POOL_MAX (2u * 1024u * 1024u)
size_t mws__client_pool_limit(size_t queue_max_bytes);
/* The most one write of a client connection carries: the batch buffer's
 * size, and the protocol's tx_packet_size, so that libwebsockets 4.1.6
 * (lws_issue_raw) hands all of it to one send() rather than 4 KiB. */
#define MWS__CLIENT_WRITE_MAX (64u * 1024u)
/* A client connection's receive buffer in libwebsockets: the most one
 * read takes, and one piece of a longer message. */
#define MWS__CLIENT_RX_BYTES 4096u
/* Asks for WRITEABLE; until it comes, sends need no wake (tx_waiting). */
void mws__client_want_writable(struct mws_client *c, struct lws *wsi);
/* At WRITEABLE, before the ring is taken; and when the connection goes. */
void mws__client_tx_arrived(struct mws_client *c);
/* What the socket takes now without a short write, up to cap. */
size_t mws__client_socket_room(struct lws *wsi, size_t cap);
void mws__client_drain(mws_ctx *ctx, mws__ready *r);
/* mws_client_send() on the I/O thread, under send_lock: `m` goes straight
 * to txq, after what the ring holds; mws__client_kick() then writes. */
void mws__client_send_local(struct mws_client *c, mws__msg *m);
/* New messages in txq: written at once when nothing is in the way, else
 * at the next WRITEABLE. I/O thread. */
void mws__client_kick(struct mws_client *c);
int mws__client_writeable(struct mws_client *c, struct lws *wsi);
void mws__client_discard_pending(struct mws_client *c);
size_t mws__client_take_ring(struct mws_client *c);
/* Frees one message that will not be written, counted as discarded. */
void mws__client_discard_one(struct mws_client *c, mws__msg *m);

/* src/io/client_queue.c: the offline queue's order and clearing */
void mws__client_clear_upto(struct mws_client *c, uint64_t upto);
/* At CONNECTED: `waited` (what waited for this connection) goes after what
 * the state callback sent, or is held (hold_queue_on_connect). */
void mws__client_queue_opened(struct mws_client *c, mws__msg_queue *waited);
/* The connection ended: what was held goes back in front. */
void mws__client_queue_unhold(struct mws_client *c);
void mws__client_queue_release(struct mws_client *c, uint64_t upto);
/* mws_client_credentials_ready() reached the I/O thread. */
void mws__client_credentials_resume(struct mws_client *c);
/* Makes the current connection's reading match mws_client_pause_rx(). */
void mws__client_rx_flow_apply(struct mws_client *c);
void mws__client_heartbeat_start(struct mws_client *c);
void mws__client_heartbeat_alive(struct mws_client *c, int is_ack);

/* src/io/client_v1.c, client_v1_rx.c: mws.v1 */
void mws__client_v1_init(struct mws_client *c, int mode, int lost_mode, uint32_t ack_every,
                         uint32_t ack_delay_ms);
void mws__client_v1_destroy(struct mws_client *c);
void mws__client_v1_settle(struct mws_client *c, uint64_t msgs, uint64_t bytes, int notify);
/* After a WRITEABLE: plain messages written since `settled0` are settled
 * (no acks in plain WebSocket): on_acked fires once for them. */
void mws__client_v1_receipts(struct mws_client *c, uint64_t settled0);
void mws__client_v1_discard(struct mws_client *c);
void mws__client_v1_conn_reset(struct mws_client *c);
int mws__client_v1_writeable(struct mws_client *c, struct lws *wsi);
void mws__client_v1_publish(struct mws_client *c);
/* At the 101: does this connection speak mws.v1? */
void mws__client_v1_negotiated(struct mws_client *c, struct lws *wsi);
/* At ESTABLISHED: 1 when the v1 handshake takes over (hello, then the
 * welcome opens), 0 for plain, -1 when the connection failed (require). */
int mws__client_v1_established(struct mws_client *c);
/* The application ended the session (close, or disconnect with 1000). */
void mws__client_v1_end_session(struct mws_client *c, int close_for_good);
/* The protocol string to offer (static or in `buf`), NULL for none. */
const char *mws__client_v1_offer(struct mws_client *c, char *buf, size_t cap);
/* The connection failed for good (`why`), as the close policy's FAIL. */
void mws__client_fail(struct mws_client *c, int code, const char *why);
/* The server selected mws.v1 and answered the hello with something else:
 * go on plain (offer; 0) or fail (require; -1). */
int mws__client_v1_fallback(struct mws_client *c);
/* One whole message on a managed connection; 0 (closing is done here), or
 * 1: the peer turned out plain, deliver the message as plain. */
int mws__client_v1_receive(struct mws_client *c, const void *msg, size_t len, int type);
/* 1 for our own hello echoed back after a fallback to plain (dropped). */
int mws__client_v1_hello_echo(struct mws_client *c, const void *msg, size_t len, int type);
/* The close code and reason a goaway asked for, if one came: 1. */
int mws__client_v1_goaway_close(struct mws_client *c, int *code, char *reason, size_t cap);

/* src/api/client_batch.c: wakes the I/O thread for a send, unless corked */
void mws__client_wake(struct mws_client *c);

/* src/io/client_batch.c: batched hand-over to bindings */
/* A whole message for the application: on_message now, or into the batch. */
void mws__client_hand_over(struct mws_client *c, const void *data, size_t len, int type);
/* Messages left the send queue: on_sent at the end of the pass, and
 * senders in mws_client_wait_room() woken at the low-water mark. */
void mws__client_sent_note(struct mws_client *c);

/* Why nothing more can be sent: MWS_ECLOSED once CLOSED, freed or closed
 * by the application, MWS_EFAILED in FAILED; else 0. Any thread. */
static inline int mws__client_ended(struct mws_client *c)
{
	int st = atomic_load_explicit(&c->state_pub, memory_order_relaxed);
	if (st == MWS_STATE_CLOSED || atomic_load_explicit(&c->freeing, memory_order_relaxed) ||
	    atomic_load(&c->closed_by_app))
		return MWS_ECLOSED;
	return st == MWS_STATE_FAILED ? MWS_EFAILED : 0;
}

/* src/io/client_room.c: the send queue's low-water mark */
/* At most half of queue_max_messages and of queue_max_bytes wait. */
int mws__client_at_low_water(struct mws_client *c);
/* Wakes the senders waiting for room, if any, when the queue is at its
 * low-water mark or the client has ended (CLOSED, FAILED). I/O thread. */
void mws__client_room_wake(struct mws_client *c);
/* Delivers what waits now (before a state change). */
void mws__client_batch_flush(struct mws_client *c);
/* At free: the timer cancelled, the buffers freed. */
void mws__client_batch_free(struct mws_client *c);

/* src/io/client_rx.c */
int mws__client_receive(struct mws_client *c, struct lws *wsi, const void *in, size_t len);
void mws__client_rx_reset(struct mws_client *c);

#endif
