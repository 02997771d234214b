/* Where the server keeps mws.v1 sessions between connections: a small
 * interface (a table of operations) so that another store (Redis, for
 * several server nodes) can replace the in-memory one without touching the
 * protocol code. Time is passed in; nothing here reads a clock.
 *
 * A session is active while a connection carries it and suspended between
 * connections; a suspended session expires ttl_ms after it was suspended
 * (or last touched) and is then removed, reported through the expire
 * callback so the server can fire on_disconnect exactly once.
 * Not thread-safe: the server's I/O thread owns its store. */
#ifndef MWS_CORE_SESSION_STORE_H
#define MWS_CORE_SESSION_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "session.h"

typedef struct mws__store_config {
	uint64_t ttl_ms;                /* 0: 120000 */
	size_t max_sessions;            /* 0: 10000 */
	size_t max_bytes_per_session;   /* 0: 1 MiB in a session's outbox */
	size_t max_messages_per_session; /* 0: 1024 */
} mws__store_config;

typedef struct mws__store_rec {
	unsigned char id[MWS__ENV_ID_LEN];
	unsigned char secret[MWS__ENV_ID_LEN];
	uint64_t app_id;       /* the id the application sees, stable across resumes */
	int suspended;
	uint64_t expires_at_ms; /* when suspended; UINT64_MAX while active */
	mws__sess sess;        /* the protocol engine, bounded by the store's limits */
	void *user;            /* the server's, untouched by the store */
	/* What a shared store holds of it (mws__shared below): outbox from
	 * saved_first to saved_next - 1, last received saved_recv. */
	uint64_t saved_first, saved_next, saved_recv;
	uint64_t saved_ms;     /* when it was last saved (the expiry refreshed) */
	int inbox_more;        /* messages from other nodes may wait for room */
	struct mws__store_rec *prev, *next; /* suspended list, by expiry (private) */
} mws__store_rec;

/* Called for each expired session just before it is freed. */
typedef void (*mws__store_expired_cb)(mws__store_rec *rec, void *user);

typedef struct mws__store_ops {
	/* 0; MWS_EQUEUEFULL at max_sessions; MWS_EINVAL if the id is taken (the
	 * caller draws another); MWS_ENOMEM. The new session is active. */
	int (*create)(void *self, const unsigned char id[MWS__ENV_ID_LEN],
	              const unsigned char secret[MWS__ENV_ID_LEN], uint64_t app_id,
	              uint64_t now_ms, mws__store_rec **out);
	/* The session, or NULL when absent, expired or the secret differs (the
	 * three look the same to the caller; the secret is compared in
	 * constant time). Does not change its state. */
	mws__store_rec *(*lookup)(void *self, const unsigned char id[MWS__ENV_ID_LEN],
	                          const unsigned char secret[MWS__ENV_ID_LEN], uint64_t now_ms);
	/* Activity: a suspended session's expiry moves to now + ttl. */
	void (*touch)(void *self, mws__store_rec *rec, uint64_t now_ms);
	/* Its connection ended: the TTL starts. */
	void (*suspend)(void *self, mws__store_rec *rec, uint64_t now_ms);
	/* A connection carries it again: no expiry while active. */
	void (*activate)(void *self, mws__store_rec *rec, uint64_t now_ms);
	/* Removes every session expired at now_ms, calling `cb` for each
	 * first; returns how many. */
	size_t (*expire)(void *self, uint64_t now_ms, mws__store_expired_cb cb, void *user);
	/* The session with this id whatever its secret, or NULL: for a
	 * shared store's notices (taken over elsewhere, messages waiting). */
	mws__store_rec *(*find)(void *self, const unsigned char id[MWS__ENV_ID_LEN]);
	/* Frees a session now (closed by either side). */
	void (*remove)(void *self, mws__store_rec *rec);
	size_t (*count)(void *self);
	void (*destroy)(void *self);
} mws__store_ops;

typedef struct mws__store {
	const mws__store_ops *ops;
	void *self;
	mws__store_config cfg; /* defaults filled in */
} mws__store;

/* Fills defaults for zero fields. */
void mws__store_config_defaults(mws__store_config *cfg);
/* The limits a store gives each session's engine. */
mws__sess_limits mws__store_sess_limits(const mws__store_config *cfg);
/* Compares two ids or secrets in time independent of their contents. */
int mws__store_secret_equal(const unsigned char a[MWS__ENV_ID_LEN],
                            const unsigned char b[MWS__ENV_ID_LEN]);

/* The in-memory store. 0, MWS_ENOMEM. Free with mws__store_free(). */
int mws__store_mem_new(mws__store *st, const mws__store_config *cfg /* NULL: defaults */);

static inline int mws__store_create(mws__store *st, const unsigned char *id,
                                    const unsigned char *secret, uint64_t app_id,
                                    uint64_t now_ms, mws__store_rec **out)
{
	return st->ops->create(st->self, id, secret, app_id, now_ms, out);
}
static inline mws__store_rec *mws__store_lookup(mws__store *st, const unsigned char *id,
                                                const unsigned char *secret, uint64_t now_ms)
{
	return st->ops->lookup(st->self, id, secret, now_ms);
}
static inline mws__store_rec *mws__store_find(mws__store *st, const unsigned char *id)
{
	return st->ops->find(st->self, id);
}
static inline void mws__store_touch(mws__store *st, mws__store_rec *r, uint64_t now_ms)
{
	st->ops->touch(st->self, r, now_ms);
}
static inline void mws__store_suspend(mws__store *st, mws__store_rec *r, uint64_t now_ms)
{
	st->ops->suspend(st->self, r, now_ms);
}
static inline void mws__store_activate(mws__store *st, mws__store_rec *r, uint64_t now_ms)
{
	st->ops->activate(st->self, r, now_ms);
}
static inline size_t mws__store_expire(mws__store *st, uint64_t now_ms,
                                       mws__store_expired_cb cb, void *user)
{
	return st->ops->expire(st->self, now_ms, cb, user);
}
static inline void mws__store_remove(mws__store *st, mws__store_rec *r)
{
	st->ops->remove(st->self, r);
}
static inline size_t mws__store_count(mws__store *st) { return st->ops->count(st->self); }
static inline void mws__store_free(mws__store *st)
{
	if (st->ops)
		st->ops->destroy(st->self);
	st->ops = NULL;
	st->self = NULL;
}

/* ---- a store shared by several server nodes ----
 *
 * The in-memory store above keeps the sessions this node holds, with their
 * live engines; a shared store (src/store/, Redis) keeps what any node needs
 * to resume them: id, secret, application id, the numbers both ways and the
 * unacknowledged outbox. The node that holds a session owns it there; a
 * node that loads it takes it over and the former owner is told.
 * Every call may block for its bounded timeout. Calls marked "I/O thread"
 * come from the server's I/O thread only; the others from any thread. */

#define MWS__SHARED_MOVED 1 /* save/take_inbox: another node owns it now */

typedef struct mws__shared_loaded {
	uint64_t app_id, first_seq, next_seq, last_recv;
	int was_mine;          /* this node held it last */
	mws__msg_queue box;    /* its unacknowledged messages, first_seq.. */
	mws__msg_queue inbox;  /* unused: messages waiting for it from other nodes
	                          were moved into box (up to max_msgs in all) */
} mws__shared_loaded;

typedef struct mws__shared_stats {
	int up;                /* the I/O thread's link works */
	int bus_up;            /* notices and broadcasts from other nodes arrive */
	uint64_t node;         /* this node's number */
	uint64_t errors;       /* calls that failed for the store's sake */
	uint64_t calls;
	uint64_t sends_out, broadcasts_out, notices_in;
} mws__shared_stats;

/* Notices from other nodes, on the store's own thread: 't' (session `id`
 * taken over), 'i' (messages for session `id` wait), 'b' (a broadcast:
 * data[0] the type, then the payload), 'r' (the notices resumed after an
 * outage: look at every session). */
typedef void (*mws__shared_notice_cb)(void *user, int kind, const unsigned char *data,
                                      size_t len);

typedef struct mws__shared_ops {
	/* I/O thread. 0; MWS_EINVAL if the id is taken; MWS_ESTORE. */
	int (*create)(void *self, mws__store_rec *rec, uint64_t ttl_ms);
	/* I/O thread: takes the session over when the secret matches. 1 (out
	 * filled, queues the caller's), 0 absent or a wrong secret, MWS_ESTORE. */
	int (*load)(void *self, const unsigned char *id, const unsigned char *secret,
	            uint64_t ttl_ms, size_t max_msgs, mws__shared_loaded *out);
	/* I/O thread: what changed since the last save (all of it when
	 * `full`), the expiry moved to now + ttl. 0, MWS__SHARED_MOVED,
	 * MWS_ESTORE. A session the store lost is written anew. */
	int (*save)(void *self, mws__store_rec *rec, uint64_t ttl_ms, int full);
	/* I/O thread: up to `room` messages other nodes sent it (the oldest),
	 * taken and saved in its outbox there, numbered from rec->saved_next
	 * (the caller saved first, and numbers them alike). 0, MOVED, ESTORE. */
	int (*take_inbox)(void *self, const mws__store_rec *rec, size_t room, mws__msg_queue *out);
	/* I/O thread: the session ended; removed if this node owns it. */
	int (*remove)(void *self, const mws__store_rec *rec);
	/* I/O thread: reconnects when down (throttled); 1 when up. */
	int (*check)(void *self);
	/* Any thread: a message for a session this node does not hold. 0,
	 * MWS_ECLOSED (no such session), MWS_EQUEUEFULL (max_msgs wait),
	 * MWS_ESTORE. */
	int (*send)(void *self, uint64_t app_id, const void *data, size_t len, int type,
	            size_t max_msgs);
	/* Any thread: to every other node. 0, MWS_ESTORE. */
	int (*broadcast)(void *self, const void *data, size_t len, int type);
	/* Subscribes (waiting for Redis to confirm, within the bus link's
	 * bound), then starts the thread that delivers notices. 0,
	 * MWS_ESTORE, MWS_ENOMEM. */
	int (*listen)(void *self, mws__shared_notice_cb cb, void *user);
	void (*stats)(void *self, mws__shared_stats *out);
	/* Stops the thread, closes the links. */
	void (*destroy)(void *self);
} mws__shared_ops;

typedef struct mws__shared {
	const mws__shared_ops *ops;
	void *self;
	uint64_t id_base;      /* application ids of this node start above it */
} mws__shared;

#endif
