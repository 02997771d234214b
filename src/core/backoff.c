/* Reconnect delays: an exponential ceiling, then a jitter that spreads a
 * crowd of clients so they do not all return at the same instant. */
#include "backoff.h"
#include "managedws.h"

void mws__backoff_init(mws__backoff *b, uint64_t base_ms, uint64_t max_ms,
                       int jitter, double proportion)
{
	b->base_ms = base_ms;
	b->max_ms = max_ms;
	b->jitter = jitter == MWS_JITTER_DEFAULT ? MWS_JITTER_FULL : jitter;
	/* A negative or NaN proportion would make the jitter meaningless. */
	b->proportion = proportion > 0 ? proportion : 0;
	b->prev_ms = 0;
	b->factor = 2.0;
}

void mws__backoff_set_factor(mws__backoff *b, double factor)
{
	b->factor = factor >= 1.0 ? factor : 1.0; /* also NaN -> 1 */
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t mws__backoff_ceiling(const mws__backoff *b, uint32_t attempt)
{
	if (b->base_ms == 0)
		return 0;
	if (b->factor != 2.0) {
		/* factor^attempt by squaring: O(log attempt), inf past any max. */
		double d = (double)b->base_ms, f = b->factor;
		for (uint32_t n = attempt; n; n >>= 1, f *= f)
			if (n & 1)
				d *= f;
		if (d + 0.5 >= (double)b->max_ms)
			return b->max_ms;
		return (uint64_t)(d + 0.5);
	}
	/* base << attempt would lose bits: the true value is past any max. */
	if (attempt >= 64 || b->base_ms > (UINT64_MAX >> attempt))
		return b->max_ms;
	return min_u64(b->max_ms, b->base_ms << attempt);
}

static uint64_t decorrelated(mws__backoff *b, mws__rng *rng)
{
	uint64_t prev = b->prev_ms ? b->prev_ms : b->base_ms;
	uint64_t hi = prev > UINT64_MAX / 3 ? UINT64_MAX : prev * 3;
	uint64_t d = min_u64(b->max_ms, mws__rng_between(rng, b->base_ms, hi));
	b->prev_ms = d;
	return d;
}

static uint64_t proportional(const mws__backoff *b, uint64_t d, mws__rng *rng)
{
	double spread = b->proportion * (double)d;
	/* 2^64 as a double: anything at or above it does not fit a uint64_t. */
	uint64_t extra = spread >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)spread;
	return min_u64(b->max_ms, add_saturating(d, mws__rng_between(rng, 0, extra)));
}

uint64_t mws__backoff_next(mws__backoff *b, uint32_t attempt, mws__rng *rng)
{
	uint64_t d = mws__backoff_ceiling(b, attempt);
	switch (b->jitter) {
	case MWS_JITTER_FULL:
		return mws__rng_between(rng, 0, d);
	case MWS_JITTER_EQUAL:
		/* d - d/2 rather than d/2 so an odd d can still reach d. */
		return d / 2 + mws__rng_between(rng, 0, d - d / 2);
	case MWS_JITTER_DECORRELATED:
		return decorrelated(b, rng);
	case MWS_JITTER_PROPORTIONAL:
		return proportional(b, d, rng);
	case MWS_JITTER_NONE:
	default:
		return d;
	}
}

void mws__backoff_reset(mws__backoff *b)
{
	b->prev_ms = 0;
}
