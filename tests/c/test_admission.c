/* The context's slots for connection attempts (src/core/admission.c): at
 * most `limit` in flight, the rest wait and go in the order they fell due. */
#include <criterion/criterion.h>

#include "core/admission.h"

enum { LIMIT = 4, N = 64 };

Test(admission, no_more_than_the_limit_in_flight_and_the_rest_go_in_due_order)
{
	mws__admission a;
	mws__admission_init(&a, LIMIT);
	static mws__admit_node nodes[N];
	/* due times out of order, as timers of a loaded loop fire */
	for (int i = 0; i < N; i++) {
		uint64_t due = (uint64_t)((i * 37) % N) * 10;
		int in = mws__admission_request(&a, &nodes[i], due);
		cr_assert_eq(in, i < LIMIT, "node %d", i);
		cr_assert_leq(a.in_flight, LIMIT);
	}
	cr_expect_eq(a.waiting, N - LIMIT);
	uint64_t last = 0;
	int went = 0;
	for (int round = 0; round < 2 * N && a.waiting; round++) {
		/* the oldest in flight finishes; its slot goes to the longest waiting */
		for (int i = 0; i < N; i++) {
			if (nodes[i].state == MWS__ADMIT_IN) {
				mws__admission_done(&a, &nodes[i]);
				break;
			}
		}
		mws__admit_node *n = mws__admission_next(&a);
		cr_assert_not_null(n);
		cr_expect_geq(n->due_us, last, "due order");
		last = n->due_us;
		cr_expect_null(mws__admission_next(&a), "one slot freed, one went");
		cr_assert_leq(a.in_flight, LIMIT);
		went++;
	}
	cr_expect_eq(went, N - LIMIT);
	cr_expect_eq(a.most_waiting, N - LIMIT);
}

Test(admission, a_new_attempt_does_not_overtake_those_waiting)
{
	mws__admission a;
	mws__admission_init(&a, 1);
	mws__admit_node x = {0}, y = {0}, z = {0};
	cr_assert(mws__admission_request(&a, &x, 100));
	cr_assert_not(mws__admission_request(&a, &y, 200));
	mws__admission_done(&a, &x); /* a slot is free, but y waits for it */
	cr_expect_not(mws__admission_request(&a, &z, 300), "z queues behind y");
	cr_expect_eq(mws__admission_next(&a), &y);
	cr_expect_null(mws__admission_next(&a));
	mws__admission_done(&a, &y);
	cr_expect_eq(mws__admission_next(&a), &z);
}

Test(admission, equal_due_times_keep_arrival_order_and_leaving_frees_the_place)
{
	mws__admission a;
	mws__admission_init(&a, 1);
	mws__admit_node in = {0}, q[3] = {{0}};
	mws__admission_request(&a, &in, 0);
	for (int i = 0; i < 3; i++)
		cr_assert_not(mws__admission_request(&a, &q[i], 50));
	mws__admission_done(&a, &q[1]); /* timed out while waiting */
	cr_expect_eq(a.waiting, 2);
	cr_expect_eq(q[1].state, MWS__ADMIT_IDLE);
	mws__admission_done(&a, &q[1]); /* twice: no-op */
	mws__admission_done(&a, &in);
	cr_expect_eq(mws__admission_next(&a), &q[0]);
	mws__admission_done(&a, &q[0]);
	cr_expect_eq(mws__admission_next(&a), &q[2]);
	cr_expect_eq(a.waiting, 0);
}

Test(admission, limit_zero_means_no_bound)
{
	mws__admission a;
	mws__admission_init(&a, 0);
	static mws__admit_node nodes[N];
	for (int i = 0; i < N; i++)
		cr_expect(mws__admission_request(&a, &nodes[i], 0));
	cr_expect_eq(a.in_flight, N);
	cr_expect_null(mws__admission_next(&a));
}
