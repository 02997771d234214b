/* Bounded waits on one of our clients: its state, or a condition on its
 * counters (mws_client_stats), polled with mws_test_wait_until(). */
#ifndef MWS_TEST_CLIENT_WAIT_H
#define MWS_TEST_CLIENT_WAIT_H

#include <stdbool.h>

#include "managedws.h"
#include "peer.h"

typedef struct state_wait {
	mws_client *c;
	int state;
} state_wait;

static inline bool state_reached(void *arg)
{
	state_wait *w = arg;
	return mws_client_state(w->c) == w->state;
}

/* The client is in `state` within timeout_ms. */
static inline bool wait_client_state(mws_client *c, int state, int timeout_ms)
{
	state_wait w = {c, state};
	return mws_test_wait_until(state_reached, &w, timeout_ms);
}

typedef struct stats_wait {
	mws_client *c;
	bool (*ok)(const mws_client_stats *st);
	mws_client_stats *st;
} stats_wait;

static inline bool stats_ok(void *arg)
{
	stats_wait *w = arg;
	*w->st = (mws_client_stats){.size = sizeof *w->st};
	return mws_client_stats_get(w->c, w->st) == 0 && w->ok(w->st);
}

/* ok() holds for the client's counters within timeout_ms. *st is what was
 * read last, for the caller's asserts either way. */
static inline bool wait_client_stats(mws_client *c, bool (*ok)(const mws_client_stats *st),
                                     mws_client_stats *st, int timeout_ms)
{
	stats_wait w = {c, ok, st};
	return mws_test_wait_until(stats_ok, &w, timeout_ms);
}

#endif
