/* Messages rebuilt from chunks: pass-through, joins, the limit. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/reassembly.h"
#include "managedws.h"

Test(reassembly, a_single_chunk_passes_through_without_a_copy)
{
	mws__reassembly r = {0};
	const void *msg;
	size_t n;
	const char text[] = "whole";
	cr_assert_eq(mws__reasm_feed(&r, 1, 1, MWS_MSG_TEXT, text, 5, 100, &msg, &n),
	             MWS__REASM_COMPLETE);
	cr_expect_eq(msg, (const void *)text);
	cr_expect_eq(n, 5);
	cr_expect_null(r.buf);
	mws__reasm_free(&r);
}

Test(reassembly, chunks_join_in_order_and_keep_the_first_type)
{
	mws__reassembly r = {0};
	const void *msg = NULL;
	size_t n = 0;
	cr_assert_eq(mws__reasm_feed(&r, 1, 0, MWS_MSG_BINARY, "ab", 2, 100, &msg, &n),
	             MWS__REASM_PARTIAL);
	cr_assert_eq(mws__reasm_feed(&r, 0, 0, MWS_MSG_TEXT, "cd", 2, 100, &msg, &n),
	             MWS__REASM_PARTIAL);
	cr_assert_eq(mws__reasm_feed(&r, 0, 1, MWS_MSG_TEXT, "e", 1, 100, &msg, &n),
	             MWS__REASM_COMPLETE);
	cr_expect_eq(n, 5);
	cr_expect_eq(memcmp(msg, "abcde", 5), 0);
	cr_expect_eq(r.type, MWS_MSG_BINARY);
	/* The next message starts afresh. */
	cr_assert_eq(mws__reasm_feed(&r, 1, 0, MWS_MSG_TEXT, "x", 1, 100, &msg, &n),
	             MWS__REASM_PARTIAL);
	cr_assert_eq(mws__reasm_feed(&r, 0, 1, MWS_MSG_TEXT, "y", 1, 100, &msg, &n),
	             MWS__REASM_COMPLETE);
	cr_expect_eq(n, 2);
	cr_expect_eq(memcmp(msg, "xy", 2), 0);
	mws__reasm_free(&r);
}

Test(reassembly, the_limit_counts_the_whole_message)
{
	mws__reassembly r = {0};
	const void *msg;
	size_t n;
	char chunk[600] = {0};
	cr_assert_eq(mws__reasm_feed(&r, 1, 1, MWS_MSG_TEXT, chunk, 10, 10, &msg, &n),
	             MWS__REASM_COMPLETE, "exactly the limit is fine");
	cr_assert_eq(mws__reasm_feed(&r, 1, 0, MWS_MSG_TEXT, chunk, 600, 1000, &msg, &n),
	             MWS__REASM_PARTIAL);
	cr_expect_eq(mws__reasm_feed(&r, 0, 1, MWS_MSG_TEXT, chunk, 600, 1000, &msg, &n),
	             MWS__REASM_TOO_BIG);
	cr_expect_eq(mws__reasm_feed(&r, 1, 1, MWS_MSG_TEXT, chunk, 11, 10, &msg, &n),
	             MWS__REASM_TOO_BIG);
	mws__reasm_free(&r);
}

Test(reassembly, a_large_message_grows_the_buffer)
{
	mws__reassembly r = {0};
	const void *msg = NULL;
	size_t n = 0;
	unsigned char chunk[4096];
	for (int i = 0; i < 256; i++) {
		memset(chunk, i, sizeof chunk);
		int rc = mws__reasm_feed(&r, i == 0, i == 255, MWS_MSG_BINARY, chunk, sizeof chunk,
		                         1 << 20, &msg, &n);
		cr_assert_eq(rc, i == 255 ? MWS__REASM_COMPLETE : MWS__REASM_PARTIAL);
	}
	cr_assert_eq(n, 1 << 20);
	const unsigned char *b = msg;
	for (int i = 0; i < 256; i++)
		cr_assert_eq(b[i * 4096 + 17], i);
	mws__reasm_free(&r);
}

Test(reassembly, a_message_of_empty_fragments_is_an_empty_message_not_null)
{
	mws__reassembly r = {0};
	const void *msg = NULL;
	size_t n = 99;
	cr_expect_eq(mws__reasm_feed(&r, 1, 0, MWS_MSG_TEXT, NULL, 0, 100, &msg, &n),
	             MWS__REASM_PARTIAL);
	cr_expect_eq(mws__reasm_feed(&r, 0, 0, MWS_MSG_TEXT, NULL, 0, 100, &msg, &n),
	             MWS__REASM_PARTIAL);
	cr_assert_eq(mws__reasm_feed(&r, 0, 1, MWS_MSG_TEXT, NULL, 0, 100, &msg, &n),
	             MWS__REASM_COMPLETE);
	cr_expect_neq(msg, NULL);
	cr_expect_eq(n, 0);
	cr_expect_eq(r.type, MWS_MSG_TEXT);
	mws__reasm_free(&r);
}

Test(reassembly, an_empty_single_frame_is_not_null_either)
{
	mws__reassembly r = {0};
	const void *msg = NULL;
	size_t n = 99;
	cr_assert_eq(mws__reasm_feed(&r, 1, 1, MWS_MSG_BINARY, NULL, 0, 100, &msg, &n),
	             MWS__REASM_COMPLETE);
	cr_expect_neq(msg, NULL);
	cr_expect_eq(n, 0);
	mws__reasm_free(&r);
}
