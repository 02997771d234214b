/* Counts per address: taken up to a limit, given back, forgotten at 0. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "core/addr_count.h"

Test(addr_count, takes_up_to_the_limit_per_address_and_gives_back)
{
	mws__addr_count ac;
	cr_assert_eq(mws__ac_init(&ac, 4), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(mws__ac_take(&ac, "127.0.0.2", 3), 1);
	cr_assert_eq(mws__ac_take(&ac, "127.0.0.2", 3), 0, "the fourth is over the limit");
	cr_assert_eq(mws__ac_take(&ac, "127.0.0.1", 3), 1, "another address is not affected");
	cr_assert_eq(mws__ac_get(&ac, "127.0.0.2"), 3);
	mws__ac_give(&ac, "127.0.0.2");
	cr_assert_eq(mws__ac_take(&ac, "127.0.0.2", 3), 1, "room again after one left");
	for (int i = 0; i < 3; i++)
		mws__ac_give(&ac, "127.0.0.2");
	mws__ac_give(&ac, "127.0.0.2"); /* one too many: ignored */
	mws__ac_give(&ac, "never.seen");
	cr_assert_eq(mws__ac_get(&ac, "127.0.0.2"), 0);
	cr_assert_eq(ac.entries, 1, "an address at 0 is forgotten");
	cr_assert_eq(mws__ac_take(&ac, "::1", 0), 0, "limit 0 admits nobody");
	mws__ac_destroy(&ac);
}

Test(addr_count, many_addresses_are_kept_apart)
{
	mws__addr_count ac;
	cr_assert_eq(mws__ac_init(&ac, 16), 0);
	char a[48];
	for (int i = 0; i < 1000; i++) {
		snprintf(a, sizeof a, "10.0.%d.%d", i / 256, i % 256);
		cr_assert_eq(mws__ac_take(&ac, a, 2), 1);
		cr_assert_eq(mws__ac_take(&ac, a, 2), 1);
	}
	cr_assert_eq(ac.entries, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(a, sizeof a, "10.0.%d.%d", i / 256, i % 256);
		cr_assert_eq(mws__ac_get(&ac, a), 2);
		mws__ac_give(&ac, a);
		mws__ac_give(&ac, a);
	}
	cr_assert_eq(ac.entries, 0);
	mws__ac_destroy(&ac);
}
