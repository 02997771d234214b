/* After a connection ends: the wait before the next attempt, or the end. */
#include "core/retry.h"

#include "managedws.h"

void mws__retry_reset(mws__retry *r)
{
	r->attempt = 0;
	r->stable_end = 0;
	r->restart_free_used = 0;
	r->after_restart = 0;
	mws__breaker_reset(&r->breaker);
	mws__backoff_reset(&r->backoff);
}

void mws__retry_connection_ended(mws__retry *r, uint64_t uptime_ms)
{
	if (uptime_ms >= r->min_uptime_ms) {
		mws__retry_reset(r);
		r->stable_end = 1;
	}
}

mws__retry_plan mws__retry_plan_for(mws__retry *r, const mws__close_decision *d,
                                    uint64_t now_ms)
{
	mws__retry_plan plan = {0, NULL, 0};
	/* Only the end of a connection that proved stable is not a failed
	 * attempt; an attempt that never connected, or a connection that ended
	 * before min_uptime, counts (1001/1012: see below). */
	int counted = !r->stable_end;
	int after_restart = r->after_restart && counted;
	r->stable_end = 0;
	r->after_restart = 0;
	if (r->no_retry) {
		plan.give_up = 1;
		plan.why = "reconnection off";
		return plan;
	}
	/* A server restarting on purpose is no failure: the first restart since
	 * the last stable connection is free. Another before min_uptime is a
	 * restart loop, and counts. */
	if (d->action == MWS_CLOSE_ACTION_RESTART && (!counted || !r->restart_free_used)) {
		r->restart_free_used = 1;
		r->after_restart = 1;
		plan.delay_ms = d->retry_after_ms >= 0
			? (uint64_t)d->retry_after_ms
			: mws__rng_between(&r->rng, 0, r->restart_spread_ms);
		return plan;
	}
	uint32_t step = r->attempt;
	if (counted) {
		if (mws__breaker_fail(&r->breaker, now_ms)) {
			plan.give_up = 1;
			plan.why = "circuit open";
			return plan;
		}
		r->attempt++;
		if (r->max_attempts && r->attempt >= r->max_attempts) {
			plan.give_up = 1;
			plan.why = "max attempts reached";
			return plan;
		}
	}
	uint64_t backoff = mws__backoff_next(&r->backoff, step, &r->rng);
	if (d->action == MWS_CLOSE_ACTION_RESTART) {
		/* A restart loop: the server's hint or spread, but never less
		 * than the backoff, so it slows down like any other failure. */
		uint64_t spread = d->retry_after_ms >= 0
			? (uint64_t)d->retry_after_ms
			: mws__rng_between(&r->rng, 0, r->restart_spread_ms);
		plan.delay_ms = spread > backoff ? spread : backoff;
		return plan;
	}
	plan.delay_ms = d->retry_after_ms >= 0 ? (uint64_t)d->retry_after_ms : backoff;
	if (after_restart && d->retry_after_ms < 0) {
		uint64_t spread = mws__rng_between(&r->rng, 0, r->restart_spread_ms);
		if (spread > plan.delay_ms)
			plan.delay_ms = spread;
	}
	return plan;
}
