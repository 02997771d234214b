#include <criterion/criterion.h>

#include "core/heartbeat.h"

/* Time is a fake clock the test moves by hand; microseconds are derived
 * from it unless a test needs them apart. */
#define US(ms) ((uint64_t)(ms) * 1000)

Test(heartbeat, first_send_is_due_one_interval_after_start)
{
	mws__heartbeat hb;
	uint64_t next;
	mws__hb_start(&hb, 20000, 10000, 1000);
	cr_expect_eq(mws__hb_poll(&hb, 1000, &next), MWS__HB_WAIT);
	cr_expect_eq(next, 21000);
	cr_expect_eq(mws__hb_poll(&hb, 20999, &next), MWS__HB_WAIT);
	cr_expect_eq(next, 21000);
	cr_expect_eq(mws__hb_poll(&hb, 21000, &next), MWS__HB_SEND);
	cr_expect_eq(next, 21000);
	cr_expect_eq(mws__hb_poll(&hb, 25000, NULL), MWS__HB_SEND, "late poll still sends");
}

Test(heartbeat, outstanding_heartbeat_waits_for_its_timeout)
{
	mws__heartbeat hb;
	uint64_t next;
	mws__hb_start(&hb, 20000, 10000, 1000);
	mws__hb_sent(&hb, 21000, US(21000));
	cr_expect_eq(mws__hb_poll(&hb, 21000, &next), MWS__HB_WAIT);
	cr_expect_eq(next, 31000, "the timeout, not the next send");
	/* No second heartbeat while one is outstanding, even past the interval. */
	cr_expect_eq(mws__hb_poll(&hb, 30999, &next), MWS__HB_WAIT);
	cr_expect_eq(mws__hb_poll(&hb, 31000, &next), MWS__HB_TIMED_OUT);
	cr_expect_eq(next, 31000);
}

Test(heartbeat, timeout_longer_than_interval_still_sends_one_at_a_time)
{
	mws__heartbeat hb;
	uint64_t next;
	mws__hb_start(&hb, 1000, 5000, 0);
	mws__hb_sent(&hb, 1000, US(1000));
	cr_expect_eq(mws__hb_poll(&hb, 3000, &next), MWS__HB_WAIT);
	cr_expect_eq(next, 6000);
	cr_expect_eq(mws__hb_poll(&hb, 6000, &next), MWS__HB_TIMED_OUT);
}

Test(heartbeat, ack_returns_the_round_trip_and_clears_the_outstanding_one)
{
	mws__heartbeat hb;
	uint64_t next;
	mws__hb_start(&hb, 20000, 10000, 1000);
	mws__hb_sent(&hb, 21000, 21000123);
	cr_expect_eq(mws__hb_acked(&hb, 21004623), 4500);
	cr_expect_eq(mws__hb_poll(&hb, 22000, &next), MWS__HB_WAIT);
	cr_expect_eq(next, 41000, "next send counts from the previous send");
	cr_expect_eq(mws__hb_poll(&hb, 41000, &next), MWS__HB_SEND);
}

Test(heartbeat, ack_with_nothing_outstanding_returns_minus_one)
{
	mws__heartbeat hb;
	mws__hb_start(&hb, 20000, 10000, 1000);
	cr_expect_eq(mws__hb_acked(&hb, US(2000)), -1);
	mws__hb_sent(&hb, 21000, US(21000));
	cr_expect_eq(mws__hb_acked(&hb, US(21010)), 10000);
	cr_expect_eq(mws__hb_acked(&hb, US(21020)), -1, "a duplicate answer");
}

Test(heartbeat, clock_going_back_gives_a_zero_round_trip)
{
	mws__heartbeat hb;
	mws__hb_start(&hb, 1000, 1000, 10);
	mws__hb_sent(&hb, 1010, 5000);
	cr_expect_eq(mws__hb_acked(&hb, 4000), 0);
}

Test(heartbeat, a_send_at_time_zero_still_counts_as_outstanding)
{
	mws__heartbeat hb;
	mws__hb_start(&hb, 0, 100, 0);
	cr_expect_eq(mws__hb_poll(&hb, 0, NULL), MWS__HB_SEND);
	mws__hb_sent(&hb, 0, 0);
	cr_expect_eq(mws__hb_poll(&hb, 50, NULL), MWS__HB_WAIT);
	cr_expect_geq(mws__hb_acked(&hb, 50), 0);
}

/* Drives the tracker the way the I/O thread does: sleep (here: jump) to
 * next_ms, act, repeat. The peer answers every heartbeat after `rtt` ms
 * until `dies_at`, then never again. Returns when the zombie is found. */
static uint64_t run_until_timeout(uint64_t interval, uint64_t timeout, uint64_t rtt,
                                  uint64_t start, uint64_t dies_at, uint64_t *last_ack)
{
	mws__heartbeat hb;
	uint64_t now = start, next, ack_due = 0;
	*last_ack = start; /* a fresh connection counts as an answer */
	mws__hb_start(&hb, interval, timeout, now);
	for (int step = 0; step < 1000000; step++) {
		int action = mws__hb_poll(&hb, now, &next);
		if (action == MWS__HB_TIMED_OUT)
			return now;
		if (action == MWS__HB_SEND) {
			mws__hb_sent(&hb, now, US(now));
			ack_due = now + rtt < dies_at ? now + rtt : 0;
			continue;
		}
		cr_assert_gt(next, now, "WAIT must point to the future");
		if (ack_due && ack_due <= next) {
			now = ack_due;
			cr_assert_eq(mws__hb_acked(&hb, US(now)), (int64_t)US(rtt));
			*last_ack = now;
			ack_due = 0;
		} else {
			now = next;
		}
	}
	cr_assert_fail("never timed out");
	return 0;
}

Test(heartbeat, zombie_detected_within_interval_plus_timeout)
{
	const uint64_t interval = 20000, timeout = 10000;
	uint64_t rtts[] = {0, 1, 37, 5000, 9999};
	uint64_t deaths[] = {1001, 20999, 21000, 21001, 123457, 500000};
	for (size_t r = 0; r < sizeof(rtts) / sizeof(rtts[0]); r++) {
		for (size_t d = 0; d < sizeof(deaths) / sizeof(deaths[0]); d++) {
			uint64_t last_ack;
			uint64_t found =
				run_until_timeout(interval, timeout, rtts[r], 1000, deaths[d], &last_ack);
			cr_expect_leq(found - last_ack, interval + timeout,
			              "rtt %llu, dies at %llu: found %llu, last ack %llu",
			              (unsigned long long)rtts[r], (unsigned long long)deaths[d],
			              (unsigned long long)found, (unsigned long long)last_ack);
			cr_expect_geq(found, deaths[d], "no false alarm while the peer answers");
		}
	}
}

Test(heartbeat, a_peer_silent_from_the_start_is_found_after_interval_plus_timeout)
{
	uint64_t last_ack;
	uint64_t found = run_until_timeout(20000, 10000, 0, 5000, 0, &last_ack);
	cr_expect_eq(found, 5000 + 20000 + 10000);
}
