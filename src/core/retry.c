/* After a connection ends: the wait before the next attempt, or the end. */
#include "core/retry.h"

#include "managedws.h"

void mws__retry_reset(mws__retry *r)
{
	r->attempt = 0;
	mws__breaker_reset(&r->breaker);
	mws__backoff_reset(&r->backoff);
}

void mws__retry_connection_ended(mws__retry *r, uint64_t uptime_ms)
{
	if (uptime_ms >= r->min_uptime_ms)
		mws__retry_reset(r);
}

mws__retry_plan mws__retry_plan_for(mws__retry *r, const mws__close_decision *d,
                                    uint64_t now_ms)
{
	mws__retry_plan plan = {0, NULL, 0};
	if (d->action == MWS_CLOSE_ACTION_RESTART) {
		plan.delay_ms = d->retry_after_ms >= 0
			? (uint64_t)d->retry_after_ms
			: mws__rng_between(&r->rng, 0, r->restart_spread_ms);
		return plan;
	}
	if (mws__breaker_fail(&r->breaker, now_ms)) {
		plan.give_up = 1;
		plan.why = "circuit open";
		return plan;
	}
	if (r->max_attempts && r->attempt >= r->max_attempts) {
		plan.give_up = 1;
		plan.why = "max attempts reached";
		return plan;
	}
	plan.delay_ms = d->retry_after_ms >= 0
		? (uint64_t)d->retry_after_ms
		: mws__backoff_next(&r->backoff, r->attempt, &r->rng);
	r->attempt++;
	return plan;
}
