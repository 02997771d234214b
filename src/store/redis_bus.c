/* The Redis store between nodes: a message for a session another node
 * holds goes into that session's inbox list and the owner is told on its
 * channel (so nothing is lost when the owner is gone: whoever resumes the
 * session takes the inbox); a broadcast is published to every node. One
 * thread per server listens to its channels and hands notices over. */
#ifdef MWS_HAVE_HIREDIS
#include "store/redis_store_int.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "managedws.h"

static const char send_lua[] =
	"local hex = redis.call('GET', KEYS[1])\n"
	"if not hex then return 0 end\n"
	"local s = 'mws:s:' .. hex\n"
	"local own = redis.call('HGET', s, 'own')\n"
	"if not own then return 0 end\n"
	"local i = 'mws:i:' .. hex\n"
	"if redis.call('LLEN', i) >= tonumber(ARGV[2]) then return -1 end\n"
	"redis.call('RPUSH', i, ARGV[1])\n"
	"local t = redis.call('PTTL', s)\n"
	"if t > 0 then redis.call('PEXPIRE', i, t) end\n"
	"redis.call('PUBLISH', 'mws:n:' .. own, 'i' .. hex)\n"
	"return 1\n";

/* A type byte and the payload in one buffer; NULL when out of memory. */
static char *mws__redis_entry(const void *data, size_t len, int type, const char *prefix,
                              size_t *out_len)
{
	size_t pl = prefix ? strlen(prefix) : 0;
	char *e = malloc(pl + 1 + len);
	if (!e)
		return NULL;
	if (pl)
		memcpy(e, prefix, pl);
	e[pl] = (char)type;
	if (len)
		memcpy(e + pl + 1, data, len);
	*out_len = pl + 1 + len;
	return e;
}

int mws__redis_send(void *self, uint64_t app_id, const void *data, size_t len, int type,
                    size_t max_msgs)
{
	mws__redis *r = self;
	size_t elen;
	char *e = mws__redis_entry(data, len, type, NULL, &elen);
	if (!e)
		return MWS_ENOMEM;
	char ka[40], max[24];
	snprintf(ka, sizeof ka, "mws:a:%" PRIu64, app_id);
	snprintf(max, sizeof max, "%zu", max_msgs ? max_msgs : 1024);
	const char *argv[] = {"EVAL", send_lua, "1", ka, e, max};
	size_t lens[] = {4, strlen(send_lua), 1, strlen(ka), elen, strlen(max)};
	pthread_mutex_lock(&r->app_lock);
	redisReply *rep = mws__redis_call(r, &r->app, 6, argv, lens);
	pthread_mutex_unlock(&r->app_lock);
	free(e);
	int rc = MWS_ESTORE;
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer == 1 ? 0 : rep->integer == 0 ? MWS_ECLOSED : MWS_EQUEUEFULL;
	if (rep)
		freeReplyObject(rep);
	if (!rc)
		atomic_fetch_add(&r->sends_out, 1);
	return rc;
}

int mws__redis_broadcast(void *self, const void *data, size_t len, int type)
{
	mws__redis *r = self;
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s:", r->node_s);
	size_t elen;
	char *e = mws__redis_entry(data, len, type, prefix, &elen);
	if (!e)
		return MWS_ENOMEM;
	const char *argv[] = {"PUBLISH", "mws:b", e};
	size_t lens[] = {7, 5, elen};
	pthread_mutex_lock(&r->app_lock);
	redisReply *rep = mws__redis_call(r, &r->app, 3, argv, lens);
	pthread_mutex_unlock(&r->app_lock);
	free(e);
	int rc = rep && rep->type == REDIS_REPLY_INTEGER ? 0 : MWS_ESTORE;
	if (rep)
		freeReplyObject(rep);
	if (!rc)
		atomic_fetch_add(&r->broadcasts_out, 1);
	return rc;
}

static int mws__unhex(const char *s, size_t n, unsigned char *out)
{
	if (n != 2 * MWS__ENV_ID_LEN)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int c = s[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

/* ["message", channel, payload] from a subscription. */
static void mws__redis_message(mws__redis *r, const redisReply *m)
{
	if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
	    m->element[0]->type != REDIS_REPLY_STRING || strcmp(m->element[0]->str, "message") ||
	    m->element[2]->type != REDIS_REPLY_STRING)
		return; /* subscribe confirmations */
	const char *ch = m->element[1]->str, *p = m->element[2]->str;
	size_t n = m->element[2]->len;
	atomic_fetch_add(&r->notices_in, 1);
	if (!strcmp(ch, "mws:b")) {
		const char *colon = memchr(p, ':', n);
		if (!colon || (size_t)(colon - p) + 2 > n)
			return;
		if ((size_t)(colon - p) == strlen(r->node_s) && !memcmp(p, r->node_s, colon - p))
			return; /* our own: delivered here already */
		size_t skip = (size_t)(colon - p) + 1;
		r->cb(r->cb_user, 'b', (const unsigned char *)p + skip, n - skip);
		return;
	}
	unsigned char id[MWS__ENV_ID_LEN];
	if (n >= 1 && (p[0] == 't' || p[0] == 'i') && !mws__unhex(p + 1, n - 1, id))
		r->cb(r->cb_user, p[0], id, sizeof id);
}

static void mws__redis_nap(int ms)
{
	struct timespec ts = {0, (long)ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* Subscribed to the broadcasts and this node's channel: 0, or MWS_ESTORE.
 * Redis answers SUBSCRIBE once both channels are in place, so whatever is
 * published after the first confirmation reaches us. */
static int mws__redis_subscribe(mws__redis *r)
{
	char mine[40];
	snprintf(mine, sizeof mine, "mws:n:%s", r->node_s);
	const char *argv[] = {"SUBSCRIBE", "mws:b", mine};
	redisReply *rep = mws__rlink_up(&r->bus) ? NULL
	                                         : mws__rlink_cmd(&r->bus, 3, argv, NULL);
	if (!rep)
		return MWS_ESTORE;
	int ok = rep->type == REDIS_REPLY_ARRAY;
	freeReplyObject(rep);
	if (!ok) {
		mws__rlink_close(&r->bus);
		return MWS_ESTORE;
	}
	atomic_store(&r->bus_up, 1);
	return 0;
}

static void *mws__redis_bus_main(void *arg)
{
	mws__redis *r = arg;
	while (!atomic_load(&r->stop)) {
		if (!r->bus.c) {
			if (mws__redis_subscribe(r)) {
				mws__redis_nap(100);
				continue;
			}
			r->cb(r->cb_user, 'r', NULL, 0); /* notices may have been missed */
		}
		void *reply = NULL;
		if (redisGetReplyFromReader(r->bus.c, &reply) != REDIS_OK) {
			mws__rlink_close(&r->bus);
			atomic_store(&r->bus_up, 0);
			continue;
		}
		if (reply) {
			mws__redis_message(r, reply);
			freeReplyObject(reply);
			continue;
		}
		struct pollfd pfd = {r->bus.c->fd, POLLIN, 0};
		int n = poll(&pfd, 1, 200);
		if (n > 0 && redisBufferRead(r->bus.c) != REDIS_OK) {
			mws__rlink_close(&r->bus);
			atomic_store(&r->bus_up, 0);
		}
	}
	return NULL;
}

int mws__redis_listen(void *self, mws__shared_notice_cb cb, void *user)
{
	mws__redis *r = self;
	if (r->thread_started)
		return MWS_ESTATE;
	r->cb = cb;
	r->cb_user = user;
	/* Subscribed before the server takes connections: a notice or a
	 * broadcast published once a client of this node is connected must
	 * not go to a node that is not listening yet. */
	if (mws__redis_subscribe(r))
		return MWS_ESTORE;
	if (pthread_create(&r->thread, NULL, mws__redis_bus_main, r)) {
		mws__rlink_close(&r->bus);
		atomic_store(&r->bus_up, 0);
		return MWS_ENOMEM;
	}
	r->thread_started = 1;
	return 0;
}

void mws__redis_unlisten(mws__redis *r)
{
	if (!r->thread_started)
		return;
	atomic_store(&r->stop, 1);
	pthread_join(r->thread, NULL);
	r->thread_started = 0;
}

#endif
