/* The plan after a connection ends, on a fake clock: min_uptime, attempt
 * counting, max_attempts, the breaker, restart spreads and server hints. */
#include <criterion/criterion.h>

#include "core/retry.h"
#include "managedws.h"

static mws__retry make_retry(uint32_t max_attempts, uint32_t breaker_n)
{
	mws__retry r = {0};
	mws__backoff_init(&r.backoff, 100, 10000, MWS_JITTER_NONE, 0);
	mws__breaker_init(&r.breaker, breaker_n, 60000);
	mws__rng_seed(&r.rng, 7);
	r.max_attempts = max_attempts;
	r.min_uptime_ms = 5000;
	r.restart_spread_ms = 3000;
	return r;
}

static const mws__close_decision reconnect = {MWS_CLOSE_ACTION_RECONNECT, 1006, -1};

Test(retry, backoff_grows_with_each_failed_attempt)
{
	mws__retry r = make_retry(0, 0);
	uint64_t expect[] = {100, 200, 400, 800, 1600};
	for (int i = 0; i < 5; i++) {
		mws__retry_plan p = mws__retry_plan_for(&r, &reconnect, 1000 * (uint64_t)i);
		cr_assert_not(p.give_up);
		cr_expect_eq(p.delay_ms, expect[i], "attempt %d", i);
	}
	cr_expect_eq(r.attempt, 5);
}

Test(retry, connection_shorter_than_min_uptime_keeps_counting)
{
	mws__retry r = make_retry(0, 0);
	mws__retry_plan_for(&r, &reconnect, 0);
	mws__retry_plan_for(&r, &reconnect, 100);
	mws__retry_connection_ended(&r, 4999); /* up, then dropped at once */
	mws__retry_plan p = mws__retry_plan_for(&r, &reconnect, 6000);
	cr_expect_eq(p.delay_ms, 400, "the third failure waits 4x base");
	cr_expect_eq(r.attempt, 3);
}

Test(retry, connection_up_for_min_uptime_starts_afresh)
{
	mws__retry r = make_retry(0, 0);
	mws__retry_plan_for(&r, &reconnect, 0);
	mws__retry_plan_for(&r, &reconnect, 100);
	mws__retry_connection_ended(&r, 5000);
	cr_expect_eq(r.attempt, 0);
	mws__retry_plan p = mws__retry_plan_for(&r, &reconnect, 6000);
	cr_expect_eq(p.delay_ms, 100);
}

Test(retry, max_attempts_gives_up_at_that_many_failed_attempts_after_a_cold_connect)
{
	/* connect(): attempt 1 fails, retries 2 and 3 fail: 3 attempts in all. */
	mws__retry r = make_retry(3, 0);
	for (int i = 0; i < 2; i++)
		cr_assert_not(mws__retry_plan_for(&r, &reconnect, (uint64_t)i).give_up);
	mws__retry_plan p = mws__retry_plan_for(&r, &reconnect, 10);
	cr_expect(p.give_up);
	cr_expect_str_eq(p.why, "max attempts reached");
}

Test(retry, max_attempts_counts_the_same_after_a_lost_stable_connection)
{
	/* A stable connection ends: that is no failed attempt; then 3
	 * reconnect attempts fail: 3 attempts, as after a cold connect. */
	mws__retry r = make_retry(3, 0);
	mws__retry_connection_ended(&r, 60000);
	cr_assert_not(mws__retry_plan_for(&r, &reconnect, 0).give_up, "the drop itself");
	cr_assert_not(mws__retry_plan_for(&r, &reconnect, 1).give_up, "attempt 1 failed");
	cr_assert_not(mws__retry_plan_for(&r, &reconnect, 2).give_up, "attempt 2 failed");
	cr_expect(mws__retry_plan_for(&r, &reconnect, 3).give_up, "attempt 3 failed");
}

Test(retry, max_attempts_one_means_one_attempt)
{
	mws__retry r = make_retry(1, 0);
	cr_expect(mws__retry_plan_for(&r, &reconnect, 0).give_up, "cold connect failed");
	r = make_retry(1, 0);
	mws__retry_connection_ended(&r, 60000);
	cr_assert_not(mws__retry_plan_for(&r, &reconnect, 0).give_up, "a stable drop");
	cr_expect(mws__retry_plan_for(&r, &reconnect, 1).give_up, "the one reconnect failed");
}

Test(retry, one_restart_of_a_short_connection_is_free)
{
	mws__retry r = make_retry(1, 1);
	mws__close_decision restart = {MWS_CLOSE_ACTION_RESTART, 1012, 700};
	mws__retry_connection_ended(&r, 10); /* connected, then the server restarted */
	mws__retry_plan p = mws__retry_plan_for(&r, &restart, 0);
	cr_expect_not(p.give_up);
	cr_expect_eq(p.delay_ms, 700, "the server's hint, no backoff");
	cr_expect_eq(r.attempt, 0);
}

Test(retry, restarts_of_short_connections_count_toward_max_attempts)
{
	/* A server that closes every connection with 1001 at once. */
	mws__retry r = make_retry(3, 0);
	mws__close_decision restart = {MWS_CLOSE_ACTION_RESTART, 1001, -1};
	int plans = 0;
	for (; plans < 100; plans++) {
		mws__retry_connection_ended(&r, 10);
		if (mws__retry_plan_for(&r, &restart, (uint64_t)plans).give_up)
			break;
	}
	cr_expect_eq(plans + 1, 4, "the first restart is free, then three failed attempts");
}

Test(retry, restarts_of_short_connections_feed_the_breaker_and_back_off)
{
	mws__retry r = make_retry(0, 5);
	mws__close_decision restart = {MWS_CLOSE_ACTION_RESTART, 1012, 0};
	uint64_t prev = 0;
	int i = 0;
	for (; i < 100; i++) {
		mws__retry_connection_ended(&r, 10);
		mws__retry_plan p = mws__retry_plan_for(&r, &restart, (uint64_t)i);
		if (p.give_up) {
			cr_expect_str_eq(p.why, "circuit open");
			break;
		}
		cr_expect_geq(p.delay_ms, prev, "the backoff grows under a hint of 0");
		prev = p.delay_ms;
	}
	cr_expect_eq(i, 5, "a free restart, then the fifth failure opens the circuit");
	cr_expect_eq(prev, 800);
}

Test(retry, reconnection_off_gives_up_on_any_end)
{
	mws__retry r = make_retry(0, 0);
	r.no_retry = 1;
	mws__close_decision restart = {MWS_CLOSE_ACTION_RESTART, 1012, -1};
	mws__retry_connection_ended(&r, 60000);
	mws__retry_plan p = mws__retry_plan_for(&r, &restart, 0);
	cr_expect(p.give_up);
	cr_expect_str_eq(p.why, "reconnection off");
	cr_expect(mws__retry_plan_for(&r, &reconnect, 1).give_up);
}

Test(retry, breaker_opens_on_failures_within_its_window)
{
	mws__retry r = make_retry(0, 4);
	for (int i = 0; i < 3; i++)
		cr_assert_not(mws__retry_plan_for(&r, &reconnect, 1000 * (uint64_t)i).give_up);
	mws__retry_plan p = mws__retry_plan_for(&r, &reconnect, 3000);
	cr_expect(p.give_up);
	cr_expect_str_eq(p.why, "circuit open");
}

Test(retry, breaker_stays_closed_when_failures_are_spread_out)
{
	mws__retry r = make_retry(0, 3);
	for (int i = 0; i < 10; i++)
		cr_assert_not(mws__retry_plan_for(&r, &reconnect, 40000 * (uint64_t)i).give_up);
}

Test(retry, restart_spreads_without_counting_an_attempt)
{
	mws__retry r = make_retry(1, 1);
	mws__close_decision restart = {MWS_CLOSE_ACTION_RESTART, 1012, -1};
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < 1000; i++) {
		mws__retry_connection_ended(&r, 5000); /* each was a stable connection */
		mws__retry_plan p = mws__retry_plan_for(&r, &restart, (uint64_t)i);
		cr_assert_not(p.give_up, "a restart must not trip max_attempts or the breaker");
		cr_assert_leq(p.delay_ms, 3000);
		lo = p.delay_ms < lo ? p.delay_ms : lo;
		hi = p.delay_ms > hi ? p.delay_ms : hi;
	}
	cr_expect_eq(r.attempt, 0);
	cr_expect_lt(lo, 300, "the spread reaches near its start");
	cr_expect_gt(hi, 2700, "the spread reaches near its end");
}

Test(retry, server_hint_overrides_backoff_and_spread)
{
	mws__retry r = make_retry(0, 0);
	mws__close_decision busy = {MWS_CLOSE_ACTION_RECONNECT, 1013, 2500};
	cr_expect_eq(mws__retry_plan_for(&r, &busy, 0).delay_ms, 2500);
	cr_expect_eq(r.attempt, 1, "a hinted retry still counts");
	mws__close_decision restart = {MWS_CLOSE_ACTION_RESTART, 1012, 1234};
	mws__retry_connection_ended(&r, 5000);
	cr_expect_eq(mws__retry_plan_for(&r, &restart, 0).delay_ms, 1234);
	cr_expect_eq(r.attempt, 0);
}

Test(retry, reset_after_failed_starts_over)
{
	mws__retry r = make_retry(2, 0);
	mws__retry_plan_for(&r, &reconnect, 0);
	cr_assert(mws__retry_plan_for(&r, &reconnect, 1).give_up);
	mws__retry_reset(&r);
	mws__retry_plan p = mws__retry_plan_for(&r, &reconnect, 3);
	cr_expect_not(p.give_up);
	cr_expect_eq(p.delay_ms, 100);
}
