/* The in-memory session store: a hash map by id and a list of suspended
 * sessions in expiry order (the TTL is one for all and time only moves
 * forward, so appending keeps the list sorted and expiry pops its head). */
#include <stdlib.h>
#include <string.h>

#include "id_map.h"
#include "managedws.h"
#include "session_store.h"

typedef struct mem_store {
	mws__store_config cfg;
	mws__id_map by_id;
	mws__store_rec *susp_head, *susp_tail;
} mem_store;

/* Ids are random, so their first 64 bits are a good hash key; 0 is the
 * map's empty mark. */
static uint64_t key_of(const unsigned char *id)
{
	uint64_t k = 0;
	for (int i = 0; i < 8; i++)
		k = (k << 8) | id[i];
	return k ? k : 1;
}

static void unlink_susp(mem_store *m, mws__store_rec *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else if (m->susp_head == r)
		m->susp_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else if (m->susp_tail == r)
		m->susp_tail = r->prev;
	r->prev = r->next = NULL;
}

static void append_susp(mem_store *m, mws__store_rec *r)
{
	r->prev = m->susp_tail;
	r->next = NULL;
	if (m->susp_tail)
		m->susp_tail->next = r;
	else
		m->susp_head = r;
	m->susp_tail = r;
}

static void free_rec(mws__store_rec *r)
{
	mws__sess_destroy(&r->sess);
	free(r);
}

static int mem_create(void *self, const unsigned char *id, const unsigned char *secret,
                      uint64_t app_id, uint64_t now_ms, mws__store_rec **out)
{
	(void)now_ms;
	mem_store *m = self;
	if (!id || !secret || !out)
		return MWS_EINVAL;
	if (mws__idm_get(&m->by_id, key_of(id)))
		return MWS_EINVAL;
	if (mws__idm_count(&m->by_id) >= m->cfg.max_sessions)
		return MWS_EQUEUEFULL;
	mws__store_rec *r = calloc(1, sizeof(*r));
	if (!r)
		return MWS_ENOMEM;
	memcpy(r->id, id, MWS__ENV_ID_LEN);
	memcpy(r->secret, secret, MWS__ENV_ID_LEN);
	r->app_id = app_id;
	r->expires_at_ms = UINT64_MAX;
	r->saved_first = r->saved_next = 1;
	mws__sess_limits lim = mws__store_sess_limits(&m->cfg);
	mws__sess_init(&r->sess, &lim);
	int rc = mws__idm_put(&m->by_id, key_of(id), r);
	if (rc) {
		free_rec(r);
		return rc;
	}
	*out = r;
	return 0;
}

static mws__store_rec *mem_lookup(void *self, const unsigned char *id,
                                  const unsigned char *secret, uint64_t now_ms)
{
	mem_store *m = self;
	if (!id || !secret)
		return NULL;
	mws__store_rec *r = mws__idm_get(&m->by_id, key_of(id));
	if (!r)
		return NULL;
	/* Both comparisons always run: a wrong id and a wrong secret take the
	 * same time. */
	int same_id = mws__store_secret_equal(r->id, id);
	int same_secret = mws__store_secret_equal(r->secret, secret);
	if (!(same_id & same_secret))
		return NULL;
	if (r->suspended && now_ms >= r->expires_at_ms)
		return NULL; /* expired; expire() reports it */
	return r;
}

static mws__store_rec *mem_find(void *self, const unsigned char *id)
{
	mem_store *m = self;
	mws__store_rec *r = id ? mws__idm_get(&m->by_id, key_of(id)) : NULL;
	return r && mws__store_secret_equal(r->id, id) ? r : NULL;
}

static void mem_touch(void *self, mws__store_rec *r, uint64_t now_ms)
{
	mem_store *m = self;
	if (!r->suspended)
		return;
	unlink_susp(m, r);
	r->expires_at_ms = now_ms + m->cfg.ttl_ms;
	append_susp(m, r);
}

static void mem_suspend(void *self, mws__store_rec *r, uint64_t now_ms)
{
	mem_store *m = self;
	if (r->suspended)
		unlink_susp(m, r);
	r->suspended = 1;
	r->expires_at_ms = now_ms + m->cfg.ttl_ms;
	append_susp(m, r);
}

static void mem_activate(void *self, mws__store_rec *r, uint64_t now_ms)
{
	(void)now_ms;
	mem_store *m = self;
	if (r->suspended)
		unlink_susp(m, r);
	r->suspended = 0;
	r->expires_at_ms = UINT64_MAX;
}

static void mem_remove(void *self, mws__store_rec *r)
{
	mem_store *m = self;
	if (r->suspended)
		unlink_susp(m, r);
	mws__idm_remove(&m->by_id, key_of(r->id));
	free_rec(r);
}

static size_t mem_expire(void *self, uint64_t now_ms, mws__store_expired_cb cb, void *user)
{
	mem_store *m = self;
	size_t n = 0;
	while (m->susp_head && m->susp_head->expires_at_ms <= now_ms) {
		mws__store_rec *r = m->susp_head;
		if (cb)
			cb(r, user);
		mem_remove(m, r);
		n++;
	}
	return n;
}

static size_t mem_count(void *self)
{
	mem_store *m = self;
	return mws__idm_count(&m->by_id);
}

static void mem_destroy(void *self)
{
	mem_store *m = self;
	if (!m)
		return;
	for (size_t i = 0; i <= m->by_id.mask; i++)
		if (m->by_id.slots[i].key)
			free_rec(m->by_id.slots[i].value);
	mws__idm_destroy(&m->by_id);
	free(m);
}

static const mws__store_ops mem_ops = {
	.create = mem_create,
	.lookup = mem_lookup,
	.find = mem_find,
	.touch = mem_touch,
	.suspend = mem_suspend,
	.activate = mem_activate,
	.expire = mem_expire,
	.remove = mem_remove,
	.count = mem_count,
	.destroy = mem_destroy,
};

int mws__store_mem_new(mws__store *st, const mws__store_config *cfg)
{
	if (!st)
		return MWS_EINVAL;
	mem_store *m = calloc(1, sizeof(*m));
	if (!m)
		return MWS_ENOMEM;
	if (cfg)
		m->cfg = *cfg;
	mws__store_config_defaults(&m->cfg);
	if (mws__idm_init(&m->by_id, 64)) {
		free(m);
		return MWS_ENOMEM;
	}
	st->ops = &mem_ops;
	st->self = m;
	st->cfg = m->cfg;
	return 0;
}
