/* Written messages handed back to the senders (src/core/msg_pool.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/msg_pool.h"
#include "managedws.h"

Test(msg_pool, a_returned_block_is_filled_again_for_a_message_that_fits)
{
	mws__msg_pool p;
	mws__msg_pool_init(&p, 1u << 20);
	mws__msg *a = mws__msg_pool_new(&p, "first message", 13, MWS_MSG_TEXT);
	cr_assert_not_null(a);
	mws__msg_pool_put(&p, a);
	mws__msg *b = mws__msg_pool_new(&p, "second", 6, MWS_MSG_BINARY);
	cr_assert_eq(b, a, "the returned block was not reused");
	cr_expect_eq(b->len, 6);
	cr_expect_eq(b->type, MWS_MSG_BINARY);
	cr_expect_null(b->next);
	cr_expect_arr_eq(mws__msg_payload(b), "second", 6);
	cr_expect_eq(atomic_load(&p.bytes), 0);
	mws__msg_free(b);
	mws__msg_pool_clear(&p);
}

Test(msg_pool, a_block_too_small_or_far_too_large_is_not_reused)
{
	mws__msg_pool p;
	mws__msg_pool_init(&p, 1u << 20);
	static unsigned char big[8192];
	mws__msg *small = mws__msg_pool_new(&p, "tiny", 4, MWS_MSG_TEXT);
	mws__msg_pool_put(&p, small);
	mws__msg *m = mws__msg_pool_new(&p, big, sizeof big, MWS_MSG_BINARY);
	cr_assert_not_null(m);
	cr_expect_geq(m->cap, sizeof big);
	cr_expect_eq(memcmp(mws__msg_payload(m), big, sizeof big), 0);
	mws__msg_pool_put(&p, m);
	/* 8 KiB would hold 4 bytes, but would pin 8 KiB under each of them. */
	mws__msg *t = mws__msg_pool_new(&p, "tiny", 4, MWS_MSG_TEXT);
	cr_assert_not_null(t);
	cr_expect_lt(t->cap, 64);
	cr_expect_eq(atomic_load(&p.bytes), 0);
	mws__msg_free(t);
	mws__msg_pool_clear(&p);
}

Test(msg_pool, holds_no_more_than_its_limit)
{
	mws__msg_pool p;
	static unsigned char kb[1024];
	size_t one = sizeof(mws__msg) + MWS__MSG_HEADROOM + sizeof kb;
	mws__msg_pool_init(&p, 3 * one);
	mws__msg *m[5];
	for (int i = 0; i < 5; i++)
		cr_assert_not_null(m[i] = mws__msg_pool_new(&p, kb, sizeof kb, MWS_MSG_BINARY));
	for (int i = 0; i < 5; i++)
		mws__msg_pool_put(&p, m[i]); /* the last two are freed */
	cr_expect_eq(atomic_load(&p.bytes), 3 * one);
	mws__msg_pool_trim(&p);
	cr_expect_eq(atomic_load(&p.bytes), 0);
	cr_expect_null(atomic_load(&p.returned));
	mws__msg_pool_clear(&p);
}

Test(msg_pool, refuses_a_null_payload_with_a_length)
{
	mws__msg_pool p;
	mws__msg_pool_init(&p, 1024);
	cr_expect_null(mws__msg_pool_new(&p, NULL, 3, MWS_MSG_TEXT));
	mws__msg *m = mws__msg_pool_new(&p, NULL, 0, MWS_MSG_TEXT);
	cr_assert_not_null(m);
	mws__msg_free(m);
	mws__msg_pool_clear(&p);
}

/* Five 1 KiB blocks handed back to a pool that holds them all. */
static size_t put_five(mws__msg_pool *p, mws__msg *m[5])
{
	static unsigned char kb[1024];
	mws__msg_pool_init(p, 1u << 20);
	for (int i = 0; i < 5; i++)
		cr_assert_not_null(m[i] = mws__msg_pool_new(p, kb, sizeof kb, MWS_MSG_BINARY));
	for (int i = 0; i < 5; i++)
		mws__msg_pool_put(p, m[i]);
	return sizeof(mws__msg) + MWS__MSG_HEADROOM + sizeof kb;
}

Test(msg_pool, shrink_keeps_what_fits_in_keep_and_frees_the_rest)
{
	mws__msg_pool p;
	mws__msg *m[5];
	size_t one = put_five(&p, m);
	cr_assert_eq(atomic_load(&p.bytes), 5 * one);
	mws__msg_pool_shrink(&p, 2 * one + one / 2);
	cr_expect_eq(atomic_load(&p.bytes), 2 * one);
	/* The two kept are still handed out, then new blocks. */
	mws__msg *a = mws__msg_pool_new(&p, "a", 1, MWS_MSG_TEXT);
	cr_expect_eq(p.spare_bytes, one, "one of the two kept is still spare");
	mws__msg *b = mws__msg_pool_new(&p, "b", 1, MWS_MSG_TEXT);
	cr_expect_eq(p.spare_bytes, 0);
	cr_expect_eq(atomic_load(&p.bytes), 0);
	mws__msg_free(a);
	mws__msg_free(b);
	mws__msg_pool_clear(&p);
}

Test(msg_pool, shrink_below_the_pool_size_only)
{
	mws__msg_pool p;
	mws__msg *m[5];
	size_t one = put_five(&p, m);
	mws__msg_pool_shrink(&p, 10 * one);
	cr_expect_eq(atomic_load(&p.bytes), 5 * one, "nothing to free");
	mws__msg_pool_shrink(&p, 0);
	cr_expect_eq(atomic_load(&p.bytes), 0);
	cr_expect_null(atomic_load(&p.returned));
	mws__msg_pool_clear(&p);
}

Test(msg_pool, shrink_spare_frees_the_producers_blocks_past_keep)
{
	mws__msg_pool p;
	mws__msg *m[5];
	size_t one = put_five(&p, m);
	/* A producer takes the whole stack with its first block. */
	mws__msg *a = mws__msg_pool_new(&p, "a", 1, MWS_MSG_TEXT);
	cr_assert_eq(p.spare_bytes, 4 * one);
	mws__msg_pool_shrink_spare(&p, one);
	cr_expect_eq(p.spare_bytes, one);
	cr_expect_eq(atomic_load(&p.bytes), one);
	mws__msg_pool_shrink_spare(&p, 0);
	cr_expect_null(p.spare);
	cr_expect_eq(atomic_load(&p.bytes), 0);
	mws__msg_free(a);
	mws__msg_pool_clear(&p);
}
