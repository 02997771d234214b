/* Circuit breaker. Only the latest `threshold` failures can decide, so the
 * ring keeps just those: the circuit is open when the oldest of them is
 * still inside the window. */
#include "breaker.h"

void mws__breaker_init(mws__breaker *b, uint32_t threshold, uint64_t window_ms)
{
	b->threshold = threshold > MWS__BREAKER_MAX ? MWS__BREAKER_MAX : threshold;
	b->window_ms = window_ms;
	mws__breaker_reset(b);
}

/* The window is (now - window, now]; a stamp from "the future" (a clock
 * that stepped back) counts as inside rather than being lost. */
static int in_window(const mws__breaker *b, uint64_t stamp, uint64_t now_ms)
{
	return stamp > now_ms || now_ms - stamp < b->window_ms;
}

int mws__breaker_fail(mws__breaker *b, uint64_t now_ms)
{
	if (b->threshold == 0)
		return 0;
	if (b->count < b->threshold) {
		b->stamps[(b->head + b->count) % b->threshold] = now_ms;
		b->count++;
	} else {
		b->stamps[b->head] = now_ms; /* overwrite the oldest */
		b->head = (b->head + 1) % b->threshold;
	}
	return b->count == b->threshold && in_window(b, b->stamps[b->head], now_ms);
}

void mws__breaker_reset(mws__breaker *b)
{
	b->head = 0;
	b->count = 0;
}
