/* When each client of a server that shuts down should come back: one slot
 * of the spread window per connection, counted from the start of the
 * shutdown. Closes leave a few hundred at a time, so they take a while;
 * a hint drawn afresh at each close (0..window) stretched the comeback
 * over window + drain time, thinner at both ends, and random draws bunch.
 * With slots the k-th of n closes aims at (k + u) / n of the window from
 * the start: the returns are even over the window, whatever the drain
 * takes, as long as it is faster than the window. */
#ifndef MWS_CORE_SHUTDOWN_SPREAD_H
#define MWS_CORE_SHUTDOWN_SPREAD_H
#include <stdint.h>

#include "core/rng.h"

typedef struct mws__shutdown_spread {
	uint64_t start_ms;  /* when the shutdown began */
	uint64_t window_ms; /* the spread window */
	uint32_t total;     /* connections to close, counted at the start */
	uint32_t next;      /* closes handed a slot so far */
} mws__shutdown_spread;

void mws__shutdown_spread_begin(mws__shutdown_spread *s, uint64_t now_ms, uint64_t window_ms,
                                uint32_t total);

/* The retry-after hint for the next close made at now_ms: the time from now
 * to its slot, 0 when the slot has passed (a drain slower than the window).
 * Closes past `total` (connections that came later) draw anywhere in the
 * window that is left. */
uint64_t mws__shutdown_spread_next(mws__shutdown_spread *s, uint64_t now_ms, mws__rng *rng);

#endif
