/* After a connection ends: wait how long, or give up? Attempt counting,
 * min_uptime, max_attempts, the breaker and backoff in one pure decision,
 * so the I/O thread only arms a timer with the answer. */
#ifndef MWS_CORE_RETRY_H
#define MWS_CORE_RETRY_H
#include <stdint.h>

#include "core/backoff.h"
#include "core/breaker.h"
#include "core/close_policy.h"
#include "core/rng.h"

typedef struct mws__retry {
	mws__backoff backoff;
	mws__breaker breaker;
	mws__rng rng;
	uint32_t attempt;          /* failed attempts since the last stable connection */
	uint32_t max_attempts;     /* 0: unlimited; this many failed attempts -> give up */
	int no_retry;              /* 1: every end is final (reconnection off) */
	int stable_end;            /* the connection that just ended reached min_uptime */
	int restart_free_used;     /* a restart was let go uncounted since then */
	int after_restart;         /* the last plan was a restart's wait */
	uint64_t min_uptime_ms;
	uint64_t restart_spread_ms;
} mws__retry;

typedef struct mws__retry_plan {
	int give_up;          /* 1: FAILED with `why` */
	const char *why;      /* static text when giving up */
	uint64_t delay_ms;    /* otherwise: wait this long, then try again */
} mws__retry_plan;

/* A connection that was open for `uptime_ms` ended. Only one that stayed up
 * min_uptime proves the trouble over: then attempts, breaker and backoff
 * start afresh. A server that accepts then drops must not loop fast. */
void mws__retry_connection_ended(mws__retry *r, uint64_t uptime_ms);

/* The plan for a connection (or attempt) that ended as `d` decided, at
 * `now_ms`. Only for RECONNECT and RESTART decisions. A failed attempt is
 * one that never connected or a connection that ended before min_uptime:
 * it counts toward max_attempts (the max_attempts-th gives up, after a cold
 * connect and after a lost connection alike) and feeds the breaker. The end
 * of a stable connection counts nothing. RESTART (a server going away on
 * purpose) waits a random spread or the server's hint and counts nothing
 * the first time since the last stable connection; a further RESTART of a
 * connection shorter than min_uptime (a server that closes everyone with
 * 1001) counts like any other failure and waits at least the backoff.
 * RECONNECT waits the hint or the backoff; but the first failed attempt
 * after a restart's wait (the old server still draining, the new one not
 * listening yet) waits a fresh draw over restart_spread_ms when that is
 * longer than the backoff: with the backoff's first step (0..base_delay)
 * every client the restarting server turned away would come back in the
 * first half second of the new one, the peak of the storm. */
mws__retry_plan mws__retry_plan_for(mws__retry *r, const mws__close_decision *d,
                                    uint64_t now_ms);

/* connect() after FAILED: everything starts afresh. */
void mws__retry_reset(mws__retry *r);

#endif
