#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "core/message.h"
#include "managedws.h"

Test(message, new_copies_the_payload_after_the_headroom)
{
	char data[] = "hello";
	mws__msg *m = mws__msg_new(data, 5, MWS_MSG_TEXT);
	cr_assert_not_null(m);
	data[0] = 'j'; /* the copy must not follow the caller's buffer */
	cr_expect_eq(m->len, 5);
	cr_expect_eq(m->type, MWS_MSG_TEXT);
	cr_expect_null(m->next);
	cr_expect_arr_eq(mws__msg_payload(m), "hello", 5);
	cr_expect_eq(mws__msg_payload(m) - m->buf, MWS__MSG_HEADROOM);
	mws__msg_free(m);
}

Test(message, payload_is_sixteen_byte_aligned)
{
	mws__msg *m = mws__msg_new("x", 1, MWS_MSG_BINARY);
	cr_assert_not_null(m);
	cr_expect_eq((uintptr_t)m->buf % 16, 0);
	cr_expect_eq((uintptr_t)mws__msg_payload(m) % 16, 0);
	mws__msg_free(m);
}

Test(message, empty_message_needs_no_data)
{
	mws__msg *m = mws__msg_new(NULL, 0, MWS_MSG_BINARY);
	cr_assert_not_null(m);
	cr_expect_eq(m->len, 0);
	cr_expect_eq(m->type, MWS_MSG_BINARY);
	mws__msg_free(m);
}

Test(message, null_data_with_a_length_is_refused)
{
	cr_expect_null(mws__msg_new(NULL, 3, MWS_MSG_TEXT));
}

Test(message, impossible_length_is_refused_without_overflow)
{
	cr_expect_null(mws__msg_new("x", SIZE_MAX, MWS_MSG_BINARY));
	cr_expect_null(mws__msg_new("x", SIZE_MAX - MWS__MSG_HEADROOM, MWS_MSG_BINARY));
}

Test(message, free_of_null_is_harmless)
{
	mws__msg_free(NULL);
}

static mws__msg *msg_of(const char *s)
{
	mws__msg *m = mws__msg_new(s, strlen(s), MWS_MSG_TEXT);
	cr_assert_not_null(m);
	return m;
}

Test(message, queue_is_fifo_with_count_and_bytes)
{
	mws__msg_queue q;
	mws__msgq_init(&q);
	cr_expect_null(mws__msgq_pop(&q));
	cr_expect_null(mws__msgq_peek(&q));
	mws__msgq_push(&q, msg_of("a"));
	mws__msgq_push(&q, msg_of("bb"));
	mws__msgq_push(&q, msg_of("ccc"));
	cr_expect_eq(q.count, 3);
	cr_expect_eq(q.bytes, 6);
	cr_expect_eq(mws__msgq_peek(&q)->len, 1);
	const char *want[] = {"a", "bb", "ccc"};
	for (int i = 0; i < 3; i++) {
		mws__msg *m = mws__msgq_pop(&q);
		cr_assert_not_null(m);
		cr_expect_eq(m->len, strlen(want[i]));
		cr_expect_arr_eq(mws__msg_payload(m), want[i], m->len);
		cr_expect_null(m->next, "a popped message is unlinked");
		mws__msg_free(m);
	}
	cr_expect_eq(q.count, 0);
	cr_expect_eq(q.bytes, 0);
	cr_expect_null(mws__msgq_pop(&q));
	cr_expect_null(q.tail);
}

Test(message, push_front_puts_a_retried_message_back_first)
{
	mws__msg_queue q;
	mws__msgq_init(&q);
	mws__msgq_push(&q, msg_of("1"));
	mws__msgq_push(&q, msg_of("2"));
	mws__msg *first = mws__msgq_pop(&q);
	mws__msgq_push_front(&q, first);
	cr_expect_eq(q.count, 2);
	cr_expect_eq(q.bytes, 2);
	mws__msg *m = mws__msgq_pop(&q);
	cr_expect_eq(m, first);
	mws__msg_free(m);
	m = mws__msgq_pop(&q);
	cr_expect_arr_eq(mws__msg_payload(m), "2", 1);
	mws__msg_free(m);
}

Test(message, push_front_on_an_empty_queue_then_push_keeps_order)
{
	mws__msg_queue q;
	mws__msgq_init(&q);
	mws__msgq_push_front(&q, msg_of("1"));
	mws__msgq_push(&q, msg_of("2"));
	for (const char *want = "12"; *want; want++) {
		mws__msg *m = mws__msgq_pop(&q);
		cr_assert_not_null(m);
		cr_expect_eq(*mws__msg_payload(m), *want);
		mws__msg_free(m);
	}
}

Test(message, clear_frees_everything_and_counts_it)
{
	mws__msg_queue q;
	mws__msgq_init(&q);
	for (int i = 0; i < 100; i++)
		mws__msgq_push(&q, msg_of("payload"));
	cr_expect_eq(mws__msgq_clear(&q), 100);
	cr_expect_eq(q.count, 0);
	cr_expect_eq(q.bytes, 0);
	cr_expect_null(q.head);
	cr_expect_null(q.tail);
	cr_expect_eq(mws__msgq_clear(&q), 0);
	mws__msgq_push(&q, msg_of("again")); /* usable after a clear */
	cr_expect_eq(mws__msgq_clear(&q), 1);
}
