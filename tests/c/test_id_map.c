/* The id -> pointer map behind server connection ids. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/id_map.h"
#include "managedws.h"

Test(id_map, put_get_remove_and_stale_ids_are_absent)
{
	mws__id_map m;
	cr_assert_eq(mws__idm_init(&m, 4), 0);
	int a, b;
	cr_expect_eq(mws__idm_put(&m, 1, &a), 0);
	cr_expect_eq(mws__idm_put(&m, 2, &b), 0);
	cr_expect_eq(mws__idm_get(&m, 1), &a);
	cr_expect_eq(mws__idm_get(&m, 2), &b);
	cr_expect_eq(mws__idm_remove(&m, 1), &a);
	cr_expect_null(mws__idm_get(&m, 1));
	cr_expect_null(mws__idm_remove(&m, 1));
	cr_expect_null(mws__idm_get(&m, 0));
	cr_expect_eq(mws__idm_put(&m, 0, &a), MWS_EINVAL);
	cr_expect_eq(mws__idm_put(&m, 3, NULL), MWS_EINVAL);
	cr_expect_eq(mws__idm_count(&m), 1);
	mws__idm_destroy(&m);
}

/* Random inserts and removals checked against a plain array: removal
 * shifts entries back, and no probe chain may be cut. */
Test(id_map, matches_a_reference_under_churn_and_growth)
{
	enum { KEYS = 5000, OPS = 200000 };
	static void *ref[KEYS + 1];
	mws__id_map m;
	cr_assert_eq(mws__idm_init(&m, 1), 0);
	uint64_t x = 42;
	size_t live = 0;
	for (int i = 0; i < OPS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t k = 1 + x % KEYS;
		void *v = (void *)(uintptr_t)(x | 1);
		if ((x >> 40) % 3) {
			if (!ref[k])
				live++;
			ref[k] = v;
			cr_assert_eq(mws__idm_put(&m, k, v), 0);
		} else {
			void *got = mws__idm_remove(&m, k);
			cr_assert_eq(got, ref[k]);
			if (ref[k])
				live--;
			ref[k] = NULL;
		}
	}
	cr_expect_eq(mws__idm_count(&m), live);
	for (uint64_t k = 1; k <= KEYS; k++)
		cr_assert_eq(mws__idm_get(&m, k), ref[k], "key %llu", (unsigned long long)k);
	mws__idm_destroy(&m);
}
