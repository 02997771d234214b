/* One connection to Redis with bounded waits: connecting and every reply
 * time out after the link's timeout, and a link that failed is retried no
 * sooner than its retry pause, so a Redis that is slow or gone costs the
 * caller at most one timeout per pause. Built only with hiredis. */
#ifndef MWS_STORE_REDIS_LINK_H
#define MWS_STORE_REDIS_LINK_H
#ifdef MWS_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mws__rlink {
	char host[256];
	int port;
	int db;
	int timeout_ms;       /* connect and each reply */
	int retry_ms;         /* a failed link waits this long before trying */
	redisContext *c;      /* NULL while down */
	uint64_t next_try_ms;
	char err[128];        /* why it is down (no secrets: hiredis' text) */
} mws__rlink;

/* "redis://host[:port][/db]" (host an IPv4 literal or a name; 6379 and 0
 * by default). 0 or MWS_EINVAL. */
int mws__rlink_parse(mws__rlink *l, const char *url);
/* Connected (and the database selected): 0, or MWS_ESTORE (now, or within
 * the retry pause after a failure). */
int mws__rlink_up(mws__rlink *l);
/* One command; NULL when the link failed (it is closed; l->err says why).
 * An error reply is returned, not NULL. Free with freeReplyObject(). */
redisReply *mws__rlink_cmd(mws__rlink *l, int argc, const char **argv, const size_t *lens);
void mws__rlink_close(mws__rlink *l);
uint64_t mws__rlink_now_ms(void);

#endif
#endif
