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

#endif
