/* The attempt after a restart's wait that fails (the old server still
 * draining, the new one not up yet): on a fake clock, many clients. Before,
 * each waited the backoff's first step (0..base_delay), so every client
 * turned away came back in the same half second: the storm's peak. */
#include <criterion/criterion.h>

#include "core/retry.h"
#include "managedws.h"

enum { CLIENTS = 1000, BASE = 500, SPREAD = 5000 };

static mws__retry make_client(uint64_t seed)
{
	mws__retry r = {0};
	mws__backoff_init(&r.backoff, BASE, 30000, MWS_JITTER_FULL, 0);
	mws__breaker_init(&r.breaker, 0, 60000);
	mws__rng_seed(&r.rng, seed);
	r.min_uptime_ms = 5000;
	r.restart_spread_ms = SPREAD;
	return r;
}

static const mws__close_decision refused = {MWS_CLOSE_ACTION_RECONNECT, 1006, -1};
static const mws__close_decision restart = {MWS_CLOSE_ACTION_RESTART, 1012, 300};

/* A client that was up for long, told to come back in 300 ms. */
static mws__retry told_to_restart(uint64_t seed)
{
	mws__retry r = make_client(seed);
	mws__retry_connection_ended(&r, 60000);
	mws__retry_plan p = mws__retry_plan_for(&r, &restart, 100000);
	cr_assert_not(p.give_up);
	cr_assert_eq(p.delay_ms, 300, "the server's hint");
	return r;
}

Test(retry_restart, clients_turned_away_after_a_restart_spread_again_not_bunch)
{
	int late = 0;
	for (int i = 0; i < CLIENTS; i++) {
		mws__retry r = told_to_restart(1000 + (uint64_t)i);
		mws__retry_plan p = mws__retry_plan_for(&r, &refused, 100300);
		cr_assert_not(p.give_up);
		cr_expect_leq(p.delay_ms, SPREAD);
		if (p.delay_ms > 2 * BASE)
			late++;
		cr_expect_eq(r.attempt, 1, "still a failed attempt, counted");
	}
	/* uniform over 5 s: 80 % wait longer than 1 s (none did before) */
	cr_expect_geq(late, CLIENTS * 6 / 10, "%d of %d waited over %d ms", late, CLIENTS,
	              2 * BASE);
}

Test(retry_restart, only_the_first_failure_after_the_restart_is_spread)
{
	for (int i = 0; i < CLIENTS; i++) {
		mws__retry r = told_to_restart(5000 + (uint64_t)i);
		mws__retry_plan_for(&r, &refused, 100300);
		mws__retry_plan p = mws__retry_plan_for(&r, &refused, 105300);
		cr_expect_leq(p.delay_ms, 2 * BASE, "backoff's second step: 0..2x base");
	}
}

Test(retry_restart, a_failure_without_a_restart_before_waits_the_backoff)
{
	for (int i = 0; i < CLIENTS; i++) {
		mws__retry r = make_client(9000 + (uint64_t)i);
		mws__retry_plan p = mws__retry_plan_for(&r, &refused, 0);
		cr_expect_leq(p.delay_ms, BASE);
	}
}

Test(retry_restart, a_hint_on_the_refusal_still_decides)
{
	mws__retry r = told_to_restart(3);
	const mws__close_decision busy = {MWS_CLOSE_ACTION_RECONNECT, 1013, 1234};
	mws__retry_plan p = mws__retry_plan_for(&r, &busy, 100300);
	cr_expect_eq(p.delay_ms, 1234);
}
