/* The retry-after hints of a shutdown, on a fake clock: the closes leave a
 * few at a time over the drain, and the clients must still come back evenly
 * over the spread window counted from the start. Before, each close drew
 * 0..window from its own moment: a 10,000-client restart came back over
 * window + drain, thinner at both ends, the storm's peak/mean over 2. */
#include <criterion/criterion.h>

#include "core/shutdown_spread.h"

enum { N = 10000, WINDOW = 5000, BUCKET = 100, START = 1000000 };

/* Closes N connections over drain_ms (evenly, as batches leave) and counts
 * the aimed return moments, ms from the start, per 100 ms bucket. */
static void drain(uint64_t drain_ms, int *buckets, int nb, uint64_t *latest)
{
	mws__shutdown_spread s;
	mws__rng rng;
	mws__rng_seed(&rng, 42);
	mws__shutdown_spread_begin(&s, START, WINDOW, N);
	*latest = 0;
	for (int k = 0; k < N; k++) {
		uint64_t now = START + drain_ms * (uint64_t)k / N;
		uint64_t hint = mws__shutdown_spread_next(&s, now, &rng);
		uint64_t back = now + hint - START;
		if (back > *latest)
			*latest = back;
		int b = (int)(back / BUCKET);
		buckets[b < nb ? b : nb - 1]++;
	}
}

Test(shutdown_spread, returns_are_even_over_the_window_whatever_the_drain_takes)
{
	for (uint64_t drain_ms = 0; drain_ms <= 4000; drain_ms += 1700) {
		int buckets[WINDOW / BUCKET + 1] = {0};
		uint64_t latest;
		drain(drain_ms, buckets, WINDOW / BUCKET + 1, &latest);
		cr_expect_lt(latest, WINDOW, "drain %lu ms: last back at %lu ms", drain_ms, latest);
		int lo = N, hi = 0;
		for (int b = 0; b < WINDOW / BUCKET; b++) {
			lo = buckets[b] < lo ? buckets[b] : lo;
			hi = buckets[b] > hi ? buckets[b] : hi;
		}
		/* N / 50 = 200 each; drawn at random they ranged 150..260 */
		cr_expect(lo >= 195 && hi <= 205, "drain %lu ms: %d..%d per %d ms", drain_ms, lo, hi,
		          BUCKET);
	}
}

Test(shutdown_spread, a_drain_slower_than_the_window_sends_late_ones_at_once)
{
	mws__shutdown_spread s;
	mws__rng rng;
	mws__rng_seed(&rng, 7);
	mws__shutdown_spread_begin(&s, START, WINDOW, 100);
	for (int k = 0; k < 100; k++) {
		uint64_t now = START + 100 * (uint64_t)k; /* 10 s of drain */
		uint64_t hint = mws__shutdown_spread_next(&s, now, &rng);
		cr_assert_leq(hint, WINDOW, "no wrap below zero");
		cr_assert_leq(now + hint - START, WINDOW > now - START ? WINDOW : now - START);
		if (now - START >= WINDOW)
			cr_expect_eq(hint, 0, "the slot has passed");
	}
}

Test(shutdown_spread, closes_past_the_count_draw_in_what_is_left_of_the_window)
{
	mws__shutdown_spread s;
	mws__rng rng;
	mws__rng_seed(&rng, 9);
	mws__shutdown_spread_begin(&s, START, WINDOW, 1);
	mws__shutdown_spread_next(&s, START, &rng);
	for (int i = 0; i < 1000; i++) {
		uint64_t hint = mws__shutdown_spread_next(&s, START + 3000, &rng);
		cr_assert_leq(hint, WINDOW - 3000);
	}
	cr_expect_eq(mws__shutdown_spread_next(&s, START + 9000, &rng), 0, "window over");
}

Test(shutdown_spread, no_window_means_no_wait)
{
	mws__shutdown_spread s;
	mws__rng rng;
	mws__rng_seed(&rng, 1);
	mws__shutdown_spread_begin(&s, START, 0, 10);
	for (int i = 0; i < 20; i++)
		cr_expect_eq(mws__shutdown_spread_next(&s, START + (uint64_t)i, &rng), 0);
	mws__shutdown_spread_begin(&s, START, WINDOW, 0); /* nothing counted */
	cr_expect_leq(mws__shutdown_spread_next(&s, START, &rng), WINDOW);
}
