/* A Redis connection with bounded waits (redis_link.h). */
#ifdef MWS_HAVE_HIREDIS
#include "store/redis_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "managedws.h"

uint64_t mws__rlink_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int mws__rlink_parse(mws__rlink *l, const char *url)
{
	memset(l, 0, sizeof *l);
	l->port = 6379;
	l->timeout_ms = 500;
	l->retry_ms = 500;
	static const char scheme[] = "redis://";
	if (!url || strncmp(url, scheme, sizeof scheme - 1))
		return MWS_EINVAL;
	const char *h = url + sizeof scheme - 1;
	size_t hl = strcspn(h, ":/");
	if (!hl || hl >= sizeof l->host)
		return MWS_EINVAL;
	memcpy(l->host, h, hl);
	const char *p = h + hl;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			return MWS_EINVAL;
		l->port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1]) {
		char *end;
		long db = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end || db < 0 || db > 1000)
			return MWS_EINVAL;
		l->db = (int)db;
	} else if (*p && strcmp(p, "/")) {
		return MWS_EINVAL;
	}
	return 0;
}

void mws__rlink_close(mws__rlink *l)
{
	if (l->c)
		redisFree(l->c);
	l->c = NULL;
}

static void mws__rlink_fail(mws__rlink *l, const char *why)
{
	snprintf(l->err, sizeof l->err, "%s", why && *why ? why : "connection lost");
	mws__rlink_close(l);
	l->next_try_ms = mws__rlink_now_ms() + (uint64_t)l->retry_ms;
}

int mws__rlink_up(mws__rlink *l)
{
	if (l->c)
		return 0;
	if (mws__rlink_now_ms() < l->next_try_ms)
		return MWS_ESTORE;
	struct timeval tv = {l->timeout_ms / 1000, (l->timeout_ms % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(l->host, l->port, tv);
	if (!c || c->err) {
		mws__rlink_fail(l, c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return MWS_ESTORE;
	}
	l->c = c;
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		mws__rlink_fail(l, "cannot set a timeout");
		return MWS_ESTORE;
	}
	if (l->db) {
		char db[16];
		snprintf(db, sizeof db, "%d", l->db);
		const char *argv[] = {"SELECT", db};
		redisReply *r = mws__rlink_cmd(l, 2, argv, NULL);
		int ok = r && r->type == REDIS_REPLY_STATUS;
		if (r)
			freeReplyObject(r);
		if (!ok) {
			mws__rlink_fail(l, "SELECT failed");
			return MWS_ESTORE;
		}
	}
	l->err[0] = 0;
	return 0;
}

redisReply *mws__rlink_cmd(mws__rlink *l, int argc, const char **argv, const size_t *lens)
{
	if (mws__rlink_up(l))
		return NULL;
	redisReply *r = redisCommandArgv(l->c, argc, argv, lens);
	if (!r) {
		mws__rlink_fail(l, l->c->errstr);
		return NULL;
	}
	return r;
}

#endif
