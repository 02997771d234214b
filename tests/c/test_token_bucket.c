/* Token bucket and per-address limiter, with a fake clock. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "core/token_bucket.h"
#include "managedws.h"

Test(token_bucket, starts_full_and_admits_burst_then_refuses)
{
	mws__token_bucket tb;
	mws__tb_init(&tb, 5, 1000);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(mws__tb_take(&tb, 2, 5, 1000), 1);
	cr_expect_eq(mws__tb_take(&tb, 2, 5, 1000), 0);
}

Test(token_bucket, refills_at_rate_and_never_above_burst)
{
	mws__token_bucket tb;
	mws__tb_init(&tb, 3, 0);
	for (int i = 0; i < 3; i++)
		mws__tb_take(&tb, 2, 3, 0);
	cr_expect_eq(mws__tb_take(&tb, 2, 3, 499), 0); /* 0.998 tokens */
	cr_expect_eq(mws__tb_take(&tb, 2, 3, 500), 1); /* 1.0 */
	cr_expect_eq(mws__tb_take(&tb, 2, 3, 500), 0);
	/* an hour later: full, not 7200 */
	double full = mws__tb_peek(&tb, 2, 3, 3600500);
	cr_expect(full > 3.0 - 1e-9 && full < 3.0 + 1e-9, "%f tokens", full);
	int n = 0;
	while (mws__tb_take(&tb, 2, 3, 3600500))
		n++;
	cr_expect_eq(n, 3);
}

Test(token_bucket, clock_stepping_back_refills_nothing)
{
	mws__token_bucket tb;
	mws__tb_init(&tb, 1, 10000);
	cr_expect_eq(mws__tb_take(&tb, 1, 1, 10000), 1);
	cr_expect_eq(mws__tb_take(&tb, 1, 1, 5000), 0);
	cr_expect_eq(mws__tb_take(&tb, 1, 1, 10999), 0);
	cr_expect_eq(mws__tb_take(&tb, 1, 1, 11000), 1);
}

Test(token_bucket, limiter_keeps_a_bucket_per_address)
{
	mws__ip_limiter l;
	cr_assert_eq(mws__ipl_init(&l, 1, 2, 16), 0);
	cr_expect_eq(mws__ipl_allow(&l, "10.0.0.1", 0), 1);
	cr_expect_eq(mws__ipl_allow(&l, "10.0.0.1", 0), 1);
	cr_expect_eq(mws__ipl_allow(&l, "10.0.0.1", 0), 0);
	cr_expect_eq(mws__ipl_allow(&l, "10.0.0.2", 0), 1, "another address has its own");
	cr_expect_eq(mws__ipl_allow(&l, "10.0.0.1", 1000), 1);
	mws__ipl_destroy(&l);
}

Test(token_bucket, limiter_forgets_refilled_buckets_when_full_and_fails_open_beyond)
{
	mws__ip_limiter l;
	cr_assert_eq(mws__ipl_init(&l, 1, 1, 4), 0);
	char ip[32];
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof ip, "10.0.0.%d", i);
		cr_expect_eq(mws__ipl_allow(&l, ip, 0), 1);
	}
	/* table full of draining buckets: a fifth address is admitted, counted */
	cr_expect_eq(mws__ipl_allow(&l, "10.0.1.1", 0), 1);
	cr_expect_eq(l.overflow, 1);
	/* a second later every bucket is full again: purged, room for new ones */
	cr_expect_eq(mws__ipl_allow(&l, "10.0.1.1", 1000), 1);
	cr_expect_eq(l.count, 1);
	cr_expect_eq(mws__ipl_allow(&l, "10.0.1.1", 1000), 0);
	/* the old addresses start over with a full bucket */
	cr_expect_eq(mws__ipl_allow(&l, "10.0.0.0", 1000), 1);
	mws__ipl_destroy(&l);
}

Test(token_bucket, limiter_rejects_bad_settings)
{
	mws__ip_limiter l;
	cr_expect_eq(mws__ipl_init(&l, 0, 1, 4), MWS_EINVAL);
	cr_expect_eq(mws__ipl_init(&l, 1, 0.5, 4), MWS_EINVAL);
	cr_expect_eq(mws__ipl_init(&l, 1, 1, 0), MWS_EINVAL);
}
