/* One slot of the shutdown's spread window per connection closed. */
#include "core/shutdown_spread.h"

void mws__shutdown_spread_begin(mws__shutdown_spread *s, uint64_t now_ms, uint64_t window_ms,
                                uint32_t total)
{
	s->start_ms = now_ms;
	s->window_ms = window_ms;
	s->total = total;
	s->next = 0;
}

uint64_t mws__shutdown_spread_next(mws__shutdown_spread *s, uint64_t now_ms, mws__rng *rng)
{
	uint64_t elapsed = now_ms > s->start_ms ? now_ms - s->start_ms : 0;
	uint64_t target; /* ms from the start of the shutdown */
	if (s->next < s->total) {
		/* uniform inside the k-th of n equal slots */
		double at = ((double)s->next + mws__rng_unit(rng)) / (double)s->total;
		target = (uint64_t)(at * (double)s->window_ms);
		s->next++;
	} else {
		uint64_t lo = elapsed < s->window_ms ? elapsed : s->window_ms;
		target = mws__rng_between(rng, lo, s->window_ms);
	}
	return target > elapsed ? target - elapsed : 0;
}
