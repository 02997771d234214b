/* The Redis session store (docs/SESSIONS-REDIS.md): the shared half of
 * mws.v1 sessions for servers on several nodes. It lives here, in
 * src/store/, between src/io (which calls it through mws__shared_ops) and
 * src/core (whose session records it saves): it does network I/O, so it
 * cannot be core, and it knows nothing of libwebsockets or the server, so
 * it need not be io. Built with hiredis when found; without it the
 * constructor says so. */
#ifndef MWS_STORE_REDIS_STORE_H
#define MWS_STORE_REDIS_STORE_H
#include <stddef.h>

#include "core/session_store.h"

/* Connects to `url` ("redis://127.0.0.1:6379/0") and draws this node's
 * number. 0; MWS_EINVAL (a bad URL, or built without hiredis); MWS_ESTORE
 * (Redis unreachable: `err` says why); MWS_ENOMEM. */
int mws__redis_store_new(mws__shared *out, const char *url, char *err, size_t errlen);

#endif
