#include <criterion/criterion.h>

#include "core/breaker.h"

/* A fake clock: the test says what time it is. */

Test(breaker, opens_on_the_nth_failure_within_the_window)
{
	mws__breaker b;
	mws__breaker_init(&b, 3, 60000);
	cr_expect_eq(mws__breaker_fail(&b, 1000), 0);
	cr_expect_eq(mws__breaker_fail(&b, 2000), 0);
	cr_expect_eq(mws__breaker_fail(&b, 3000), 1);
	cr_expect_eq(mws__breaker_fail(&b, 4000), 1, "stays open while failures go on");
}

Test(breaker, threshold_zero_never_opens)
{
	mws__breaker b;
	mws__breaker_init(&b, 0, 60000);
	for (uint64_t t = 0; t < 1000; t++)
		cr_assert_eq(mws__breaker_fail(&b, t), 0);
}

Test(breaker, threshold_one_opens_on_the_first_failure)
{
	mws__breaker b;
	mws__breaker_init(&b, 1, 60000);
	cr_expect_eq(mws__breaker_fail(&b, 5), 1);
}

Test(breaker, failures_spread_wider_than_the_window_never_open_it)
{
	mws__breaker b;
	mws__breaker_init(&b, 3, 10000);
	/* Three failures always span 2 * 5000 = 10000 ms: the first has just
	 * left the window (now - 10000, now] when the third arrives. */
	for (uint64_t t = 1000; t < 200000; t += 5000)
		cr_assert_eq(mws__breaker_fail(&b, t), 0, "at %llu", (unsigned long long)t);
}

Test(breaker, old_failures_slide_out_of_the_window)
{
	mws__breaker b;
	mws__breaker_init(&b, 3, 10000);
	cr_expect_eq(mws__breaker_fail(&b, 1000), 0);
	cr_expect_eq(mws__breaker_fail(&b, 2000), 0);
	/* 11000 - 10000 = 1000: the failure at 1000 is just outside. */
	cr_expect_eq(mws__breaker_fail(&b, 11000), 0);
	/* 2000, 11000, 11999 are all within (1999, 11999]. */
	cr_expect_eq(mws__breaker_fail(&b, 11999), 1);
}

Test(breaker, window_edge_is_exclusive_at_the_old_end)
{
	mws__breaker b;
	mws__breaker_init(&b, 2, 100);
	cr_expect_eq(mws__breaker_fail(&b, 1000), 0);
	cr_expect_eq(mws__breaker_fail(&b, 1100), 0, "1000 is not in (1000, 1100]");
	cr_expect_eq(mws__breaker_fail(&b, 1199), 1, "1100 is in (1099, 1199]");
}

Test(breaker, reset_forgets_every_failure)
{
	mws__breaker b;
	mws__breaker_init(&b, 2, 60000);
	mws__breaker_fail(&b, 1);
	cr_expect_eq(mws__breaker_fail(&b, 2), 1);
	mws__breaker_reset(&b);
	cr_expect_eq(mws__breaker_fail(&b, 3), 0);
	cr_expect_eq(mws__breaker_fail(&b, 4), 1);
}

Test(breaker, threshold_is_clamped_to_the_ring_size)
{
	mws__breaker b;
	mws__breaker_init(&b, 1000, 60000);
	cr_expect_eq(b.threshold, MWS__BREAKER_MAX);
	for (uint64_t t = 1; t < MWS__BREAKER_MAX; t++)
		cr_assert_eq(mws__breaker_fail(&b, t), 0);
	cr_expect_eq(mws__breaker_fail(&b, MWS__BREAKER_MAX), 1);
}

Test(breaker, a_burst_after_a_quiet_spell_opens_it_again)
{
	mws__breaker b;
	mws__breaker_init(&b, 3, 1000);
	for (uint64_t t = 0; t < 100000; t += 2000)
		cr_assert_eq(mws__breaker_fail(&b, t), 0);
	cr_expect_eq(mws__breaker_fail(&b, 200000), 0);
	cr_expect_eq(mws__breaker_fail(&b, 200001), 0);
	cr_expect_eq(mws__breaker_fail(&b, 200002), 1);
}
