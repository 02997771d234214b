#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "core/spsc_ring.h"
#include "managedws.h"

#define ITEM(i) ((void *)(uintptr_t)((i) + 1))

Test(spsc_ring, capacity_rounds_up_to_a_power_of_two)
{
	size_t asks[][2] = {{0, 2}, {1, 2}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {1000, 1024},
	                    {1024, 1024}, {1025, 2048}};
	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		mws__spsc_ring r;
		cr_assert_eq(mws__spsc_init(&r, asks[i][0]), 0);
		cr_expect_eq(mws__spsc_capacity(&r), asks[i][1], "asked %zu", asks[i][0]);
		mws__spsc_destroy(&r);
	}
}

Test(spsc_ring, absurd_capacity_is_refused)
{
	mws__spsc_ring r;
	cr_expect_eq(mws__spsc_init(&r, SIZE_MAX), MWS_EINVAL);
	mws__spsc_destroy(&r); /* harmless after a failed init */
	cr_expect_eq(mws__spsc_init(NULL, 8), MWS_EINVAL);
}

Test(spsc_ring, empty_ring_pops_null)
{
	mws__spsc_ring r;
	void *out[4];
	mws__spsc_init(&r, 4);
	cr_expect_null(mws__spsc_pop(&r));
	cr_expect_eq(mws__spsc_pop_batch(&r, out, 4), 0);
	cr_expect_eq(mws__spsc_size(&r), 0);
	mws__spsc_destroy(&r);
}

Test(spsc_ring, full_ring_refuses_then_accepts_after_a_pop)
{
	mws__spsc_ring r;
	mws__spsc_init(&r, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(mws__spsc_push(&r, ITEM(i)), 0);
	cr_expect_eq(mws__spsc_size(&r), 4);
	cr_expect_eq(mws__spsc_push(&r, ITEM(4)), MWS_EQUEUEFULL);
	cr_expect_eq(mws__spsc_pop(&r), ITEM(0));
	cr_expect_eq(mws__spsc_push(&r, ITEM(4)), 0);
	for (int i = 1; i <= 4; i++)
		cr_expect_eq(mws__spsc_pop(&r), ITEM(i));
	cr_expect_null(mws__spsc_pop(&r));
	mws__spsc_destroy(&r);
}

Test(spsc_ring, null_cannot_be_pushed)
{
	mws__spsc_ring r;
	mws__spsc_init(&r, 4);
	cr_expect_eq(mws__spsc_push(&r, NULL), MWS_EINVAL);
	cr_expect_eq(mws__spsc_size(&r), 0);
	mws__spsc_destroy(&r);
}

Test(spsc_ring, batch_pop_takes_up_to_max_in_order_across_the_wrap)
{
	mws__spsc_ring r;
	void *out[8];
	mws__spsc_init(&r, 8);
	int next_push = 0, next_pop = 0;
	/* Many laps, so the indices wrap the slot array repeatedly. */
	for (int lap = 0; lap < 100; lap++) {
		while (mws__spsc_push(&r, ITEM(next_push)) == 0)
			next_push++;
		size_t n = mws__spsc_pop_batch(&r, out, 3);
		cr_assert_eq(n, 3);
		n += mws__spsc_pop_batch(&r, out + 3, 8);
		cr_assert_eq(n, 8);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(out[i], ITEM(next_pop++));
	}
	mws__spsc_destroy(&r);
}

Test(spsc_ring, batch_pop_of_zero_takes_nothing)
{
	mws__spsc_ring r;
	mws__spsc_init(&r, 4);
	mws__spsc_push(&r, ITEM(0));
	cr_expect_eq(mws__spsc_pop_batch(&r, NULL, 0), 0);
	cr_expect_eq(mws__spsc_size(&r), 1);
	mws__spsc_destroy(&r);
}

/* Two threads, one ring: ten million items must arrive once each, in order. */
#define N_ITEMS 10000000UL
/* Far more than the test can need; a lost item ends the wait instead of
 * hanging until the timeout. */
#define MAX_SPINS (N_ITEMS * 1000UL)

static mws__spsc_ring shared;

static void *producer(void *arg)
{
	(void)arg;
	unsigned long spins = 0;
	for (unsigned long i = 0; i < N_ITEMS; i++) {
		while (mws__spsc_push(&shared, ITEM(i)) == MWS_EQUEUEFULL) {
			if (++spins > MAX_SPINS)
				return (void *)1;
			sched_yield();
		}
	}
	return NULL;
}

Test(spsc_ring, two_threads_pass_ten_million_items_in_order, .timeout = 120)
{
	pthread_t thread;
	void *batch[64];
	cr_assert_eq(mws__spsc_init(&shared, 1024), 0);
	cr_assert_eq(pthread_create(&thread, NULL, producer, NULL), 0);
	unsigned long expected = 0, spins = 0, errors = 0;
	while (expected < N_ITEMS && spins <= MAX_SPINS) {
		size_t n = mws__spsc_pop_batch(&shared, batch, 1 + expected % 64);
		if (n == 0) {
			spins++;
			sched_yield();
			continue;
		}
		for (size_t i = 0; i < n; i++, expected++) {
			if (batch[i] != ITEM(expected) && errors++ == 0)
				cr_log_error("item %lu: got %p", expected, batch[i]);
		}
	}
	void *producer_result;
	pthread_join(thread, &producer_result);
	cr_expect_null(producer_result, "producer gave up on a full ring");
	cr_expect_eq(expected, N_ITEMS);
	cr_expect_eq(errors, 0, "%lu items out of order", errors);
	cr_expect_null(mws__spsc_pop(&shared));
	mws__spsc_destroy(&shared);
}
