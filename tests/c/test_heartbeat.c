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

Test(heartbeat, timeout_longer_than_interval_keeps_sending_every_interval)
{
	mws__heartbeat hb;
	uint64_t next;
	mws__hb_start(&hb, 1000, 5000, 0);
	mws__hb_sent(&hb, 1000, US(1000));
	cr_expect_eq(mws__hb_poll(&hb, 1500, &next), MWS__HB_WAIT);
	cr_expect_eq(next, 2000, "the next send, before the timeout");
	cr_expect_eq(mws__hb_poll(&hb, 2000, &next), MWS__HB_SEND, "unanswered, still sent");
	mws__hb_sent(&hb, 2000, US(2000));
	cr_expect_eq(mws__hb_poll(&hb, 2500, &next), MWS__HB_WAIT);
	cr_expect_eq(next, 3000);
	cr_expect_eq(mws__hb_poll(&hb, 6000, &next), MWS__HB_TIMED_OUT,
	             "the oldest unanswered one times out");
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
	mws__hb_start(&hb, 1000, 100, 0);
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

/* The I/O thread's real loop: a timer armed from the poll's next_ms, and
 * answers that arrive in between without touching the timer. The peer
 * answers each heartbeat `rtt` ms after it was sent until `dies_at`.
 * Records the send times; returns when the zombie is found. */
#define MAX_SENDS 4096
static uint64_t drive(uint64_t interval, uint64_t timeout, uint64_t rtt, uint64_t dies_at,
                      uint64_t *sends, int *nsends, uint64_t *last_ack)
{
	mws__heartbeat hb;
	uint64_t now = 0, timer, acks[MAX_SENDS];
	int nacks = 0, first_ack = 0;
	*nsends = 0;
	*last_ack = 0;
	mws__hb_start(&hb, interval, timeout, now);
	timer = interval;
	for (int step = 0; step < 1000000; step++) {
		if (first_ack < nacks && acks[first_ack] <= timer) {
			now = acks[first_ack++];
			mws__hb_acked(&hb, US(now)); /* no re-arm, as in the driver */
			*last_ack = now;
			continue;
		}
		now = timer;
		uint64_t next;
		int action = mws__hb_poll(&hb, now, &next);
		if (action == MWS__HB_TIMED_OUT)
			return now;
		if (action == MWS__HB_SEND) {
			cr_assert_lt(*nsends, MAX_SENDS);
			sends[(*nsends)++] = now;
			mws__hb_sent(&hb, now, US(now));
			if (now + rtt < dies_at)
				acks[nacks++] = now + rtt;
			mws__hb_poll(&hb, now, &next);
		}
		cr_assert_gt(next, now, "the timer must point to the future");
		timer = next;
	}
	cr_assert_fail("never timed out");
	return 0;
}

static void check_ratio(uint64_t interval, uint64_t timeout)
{
	static uint64_t sends[MAX_SENDS];
	/* Answers slower than the timeout are rightly zombies: rtt < timeout. */
	uint64_t slow = interval - 1 < timeout ? interval - 1 : timeout / 3;
	uint64_t rtts[] = {0, 1, timeout / 2, slow, timeout - 1};
	uint64_t deaths[] = {1, interval - 1, interval, interval + 1, 7 * interval + 3,
	                     20 * interval + timeout};
	for (size_t r = 0; r < sizeof rtts / sizeof rtts[0]; r++) {
		for (size_t d = 0; d < sizeof deaths / sizeof deaths[0]; d++) {
			int n;
			uint64_t last_ack;
			uint64_t found = drive(interval, timeout, rtts[r], deaths[d], sends, &n,
			                       &last_ack);
			for (int i = 0; i < n; i++)
				cr_assert_eq(sends[i], (uint64_t)(i + 1) * interval,
				             "interval %llu timeout %llu rtt %llu: send %d at %llu",
				             (unsigned long long)interval,
				             (unsigned long long)timeout,
				             (unsigned long long)rtts[r], i,
				             (unsigned long long)sends[i]);
			uint64_t dead_since = deaths[d] > last_ack ? last_ack : deaths[d];
			cr_expect_leq(found - dead_since, interval + timeout,
			              "interval %llu timeout %llu rtt %llu dies %llu: found %llu, "
			              "last ack %llu",
			              (unsigned long long)interval, (unsigned long long)timeout,
			              (unsigned long long)rtts[r], (unsigned long long)deaths[d],
			              (unsigned long long)found, (unsigned long long)last_ack);
			cr_expect_geq(found, deaths[d], "no false alarm while the peer answers");
		}
	}
}

Test(heartbeat, cadence_and_detection_when_timeout_is_below_interval)
{
	check_ratio(1000, 400);
}

Test(heartbeat, cadence_and_detection_when_timeout_equals_interval)
{
	check_ratio(1000, 1000);
}

Test(heartbeat, cadence_and_detection_when_timeout_is_twice_interval)
{
	check_ratio(1000, 2000);
}

Test(heartbeat, cadence_and_detection_when_timeout_is_five_times_interval)
{
	check_ratio(1000, 5000);
}
