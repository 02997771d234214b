#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "core/rng.h"
#include "core/session.h"
#include "managedws.h"

static mws__sess s;

static void setup(void)
{
	mws__sess_limits lim = {.max_messages = 8, .max_bytes = 100, .ack_every = 4,
	                        .ack_delay_ms = 50};
	mws__sess_init(&s, &lim);
}

static void teardown(void)
{
	mws__sess_destroy(&s);
}

TestSuite(session, .init = setup, .fini = teardown);

static uint64_t push(mws__sess *x, const char *text)
{
	mws__msg *m = mws__msg_new(text, strlen(text), MWS_MSG_TEXT);
	uint64_t seq = 0;
	int rc = mws__sess_push(x, m, &seq);
	if (rc)
		mws__msg_free(m);
	return rc ? 0 : seq;
}

/* Writes everything waiting, one envelope at a time; returns how many. */
static int drain(mws__sess *x, mws__env_out *o, size_t max_count)
{
	int n = 0;
	for (;;) {
		mws__env_out_reset(o);
		int rc = mws__sess_write_next(x, o, max_count, 1 << 16);
		cr_assert_geq(rc, 0);
		if (!rc)
			return n;
		n++;
	}
}

Test(session, numbers_start_at_one_and_are_consecutive)
{
	cr_expect_eq(push(&s, "a"), 1);
	cr_expect_eq(push(&s, "b"), 2);
	cr_expect_eq(push(&s, "c"), 3);
	cr_expect_eq(mws__sess_unsent(&s), 3);
	cr_expect_eq(mws__sess_unacked(&s), 0);
	cr_expect_eq(s.stats.pushed, 3);
}

Test(session, full_outbox_by_count_refuses_and_keeps_everything)
{
	for (int i = 0; i < 8; i++)
		cr_assert_neq(push(&s, "x"), 0);
	mws__msg *m = mws__msg_new("y", 1, MWS_MSG_TEXT);
	cr_expect_eq(mws__sess_push(&s, m, NULL), MWS_EQUEUEFULL);
	mws__msg_free(m);
	cr_expect_eq(mws__sess_outbox_count(&s), 8);
	cr_expect_eq(s.stats.queue_full, 1);
	cr_expect_eq(s.next_seq, 9, "a refusal takes no number");
}

Test(session, full_outbox_by_bytes_refuses_and_a_message_alone_too_big_is_etoobig)
{
	char big[61];
	memset(big, 'b', 60);
	big[60] = '\0';
	cr_assert_eq(push(&s, big), 1);
	cr_expect_eq(mws__sess_can_push(&s, 40), 0);
	cr_expect_eq(mws__sess_can_push(&s, 41), MWS_EQUEUEFULL);
	cr_expect_eq(mws__sess_can_push(&s, 101), MWS_ETOOBIG);
	cr_expect_eq(mws__sess_outbox_bytes(&s), 60);
}

Test(session, one_message_goes_as_data_several_as_one_batch)
{
	mws__env_out o;
	mws__env_out_growing(&o, 16);
	push(&s, "one");
	cr_assert_eq(mws__sess_write_next(&s, &o, 64, 1024), 1);
	mws__env e;
	cr_assert_eq(mws__env_decode(mws__env_out_bytes(&o), o.len, NULL, &e), 0);
	cr_expect_eq(e.type, MWS__ENV_DATA);
	cr_expect_eq(e.u.data.seq, 1);

	push(&s, "two");
	push(&s, "three");
	push(&s, "four");
	mws__env_out_reset(&o);
	cr_assert_eq(mws__sess_write_next(&s, &o, 64, 1024), 1);
	cr_assert_eq(mws__env_decode(mws__env_out_bytes(&o), o.len, NULL, &e), 0);
	cr_expect_eq(e.type, MWS__ENV_BATCH);
	cr_expect_eq(e.u.batch.first_seq, 2);
	cr_expect_eq(e.u.batch.count, 3);
	cr_expect_eq(mws__sess_write_next(&s, &o, 64, 1024), 0, "nothing left");
	cr_expect_eq(mws__sess_unacked(&s), 4);
	cr_expect_eq(s.stats.envelopes, 2);
	cr_expect_eq(s.stats.batches, 1);
	cr_expect_eq(s.stats.sent, 4);
	mws__env_out_release(&o);
}

Test(session, plan_stops_at_the_count_and_byte_limits)
{
	for (int i = 0; i < 6; i++)
		push(&s, "0123456789");
	mws__sess_batch b;
	mws__sess_plan(&s, 4, 1 << 16, 0, &b);
	cr_expect_eq(b.count, 4);
	/* overhead 4 (array, type, seq 1, item array) + 11 per item */
	mws__sess_plan(&s, 64, 4 + 3 * 11, 0, &b);
	cr_expect_eq(b.count, 3);
	cr_expect_eq(b.env_bytes, 4 + 3 * 11);
	mws__sess_plan(&s, 64, 4 + 3 * 11 - 1, 0, &b);
	cr_expect_eq(b.count, 2);
	/* A first message larger than the limit still goes, alone. */
	mws__sess_plan(&s, 64, 5, 0, &b);
	cr_expect_eq(b.count, 1);
	cr_expect_eq(b.env_bytes, mws__env_data_size(1, 10, 1, 0));
}

Test(session, cumulative_ack_frees_through_and_reports_the_highest)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	for (int i = 0; i < 5; i++)
		push(&s, "m");
	drain(&s, &o, 1);
	cr_expect_eq(mws__sess_on_ack(&s, 3), 0);
	cr_expect_eq(s.highest_acked, 3);
	cr_expect_eq(mws__sess_outbox_count(&s), 2);
	cr_expect_eq(s.first_seq, 4);
	cr_expect_eq(mws__sess_on_ack(&s, 2), 0, "an old ack is ignored");
	cr_expect_eq(s.highest_acked, 3);
	cr_expect_eq(mws__sess_on_ack(&s, 6), MWS__SESS_EACK, "6 was never written");
	cr_expect_eq(mws__sess_on_ack(&s, 5), 0);
	cr_expect_eq(mws__sess_outbox_count(&s), 0);
	cr_expect_eq(s.stats.acked, 5);
	cr_expect_eq(mws__sess_can_push(&s, 100), 0, "freed bytes are free again");
	mws__env_out_release(&o);
}

Test(session, ack_of_a_pushed_but_unwritten_message_is_a_protocol_error)
{
	push(&s, "a");
	cr_expect_eq(mws__sess_on_ack(&s, 1), MWS__SESS_EACK);
	cr_expect_eq(mws__sess_outbox_count(&s), 1);
}

Test(session, receipt_is_in_order_with_duplicates_dropped_and_gaps_refused)
{
	cr_expect_eq(mws__sess_on_data(&s, 1, 0), MWS__SESS_DELIVER);
	cr_expect_eq(mws__sess_on_data(&s, 2, 0), MWS__SESS_DELIVER);
	cr_expect_eq(mws__sess_on_data(&s, 2, 0), MWS__SESS_DUPLICATE);
	cr_expect_eq(mws__sess_on_data(&s, 1, 0), MWS__SESS_DUPLICATE);
	cr_expect_eq(mws__sess_on_data(&s, 4, 0), MWS__SESS_EGAP);
	cr_expect_eq(s.last_recv, 2);
	cr_expect_eq(s.stats.received, 2);
	cr_expect_eq(s.stats.duplicates, 2);
}

Test(session, ack_falls_due_after_n_messages)
{
	for (uint64_t i = 1; i <= 3; i++)
		mws__sess_on_data(&s, i, 1000);
	cr_expect_not(mws__sess_ack_due(&s, 1000));
	mws__sess_on_data(&s, 4, 1001);
	cr_expect(mws__sess_ack_due(&s, 1001));
	cr_expect_eq(mws__sess_take_ack(&s), 4);
	cr_expect_not(mws__sess_ack_due(&s, 5000));
	cr_expect_eq(mws__sess_ack_deadline(&s), UINT64_MAX);
	cr_expect_eq(mws__sess_take_ack(&s), 0, "nothing new to ack");
	cr_expect_eq(s.stats.acks_sent, 1);
}

Test(session, ack_falls_due_t_ms_after_the_first_unacked_message)
{
	mws__sess_on_data(&s, 1, 1000);
	mws__sess_on_data(&s, 2, 1030);
	cr_expect_eq(mws__sess_ack_deadline(&s), 1050);
	cr_expect_not(mws__sess_ack_due(&s, 1049));
	cr_expect(mws__sess_ack_due(&s, 1050));
	cr_expect_eq(mws__sess_take_ack(&s), 2);
	mws__sess_on_data(&s, 3, 2000);
	cr_expect_eq(mws__sess_ack_deadline(&s), 2050, "a new window starts");
}

Test(session, the_ack_rides_on_outgoing_data_and_is_then_no_longer_due)
{
	mws__sess_on_data(&s, 1, 0);
	mws__sess_on_data(&s, 2, 0);
	push(&s, "reply");
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	cr_assert_eq(mws__sess_write_next(&s, &o, 64, 1024), 1);
	mws__env e;
	cr_assert_eq(mws__env_decode(mws__env_out_bytes(&o), o.len, NULL, &e), 0);
	cr_expect(e.has_ack);
	cr_expect_eq(e.ack_seq, 2);
	cr_expect_not(mws__sess_ack_due(&s, 1000));
	push(&s, "again");
	mws__env_out_reset(&o);
	cr_assert_eq(mws__sess_write_next(&s, &o, 64, 1024), 1);
	cr_assert_eq(mws__env_decode(mws__env_out_bytes(&o), o.len, NULL, &e), 0);
	cr_expect_not(e.has_ack, "the same ack is not repeated");
	mws__env_out_release(&o);
}

Test(session, a_failed_encode_commits_nothing_and_keeps_the_ack_due)
{
	mws__sess_on_data(&s, 1, 0);
	push(&s, "0123456789");
	unsigned char small[8];
	mws__env_out o;
	mws__env_out_fixed(&o, small, sizeof(small), 0);
	cr_expect_eq(mws__sess_write_next(&s, &o, 64, 1024), MWS_ETOOBIG);
	cr_expect_eq(mws__sess_unsent(&s), 1);
	cr_expect(mws__sess_ack_due(&s, 50));
}

Test(session, resume_replays_what_the_peer_lacks_in_order)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	for (int i = 0; i < 5; i++)
		push(&s, "m");
	drain(&s, &o, 1);
	mws__sess_on_ack(&s, 1);
	push(&s, "offline"); /* sent while the connection was down: seq 6 */
	cr_assert_eq(mws__sess_resume(&s, 3), 0);
	cr_expect_eq(s.first_seq, 4, "2 and 3 were received: freed");
	cr_expect_eq(s.highest_acked, 3);
	cr_expect_eq(mws__sess_unsent(&s), 3);
	mws__sess_batch b;
	mws__sess_plan(&s, 64, 1024, 0, &b);
	cr_expect_eq(b.first_seq, 4);
	cr_expect_eq(b.count, 3);
	drain(&s, &o, 64);
	cr_expect_eq(s.stats.replayed, 2, "4 and 5 again");
	cr_expect_eq(s.stats.sent, 6, "1..5 the first time, then 6");
	mws__env_out_release(&o);
}

Test(session, resume_beyond_what_was_written_or_behind_what_was_freed_is_refused)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	for (int i = 0; i < 3; i++)
		push(&s, "m");
	drain(&s, &o, 1);
	cr_expect_eq(mws__sess_resume(&s, 4), MWS__SESS_EACK);
	mws__sess_on_ack(&s, 2);
	cr_expect_eq(mws__sess_resume(&s, 0), MWS__SESS_ELOST);
	cr_expect_eq(mws__sess_resume(&s, 1), MWS__SESS_ELOST);
	cr_expect_eq(mws__sess_resume(&s, 2), 0);
	mws__env_out_release(&o);
}

Test(session, after_a_resume_an_ack_beyond_the_rewritten_messages_is_refused)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	for (int i = 0; i < 4; i++)
		push(&s, "m");
	drain(&s, &o, 1);
	cr_assert_eq(mws__sess_resume(&s, 1), 0);
	/* 2..4 were written before, not yet on this connection. */
	cr_expect_eq(mws__sess_on_ack(&s, 3), MWS__SESS_EACK);
	cr_expect_eq(mws__sess_outbox_count(&s), 3);
	mws__env_out_reset(&o);
	cr_assert_eq(mws__sess_write_next(&s, &o, 1, 1024), 1);
	cr_expect_eq(mws__sess_on_ack(&s, 2), 0);
	cr_expect_eq(mws__sess_unsent(&s), 2);
	mws__env_out_release(&o);
}

Test(session, resume_clears_the_pending_ack_hello_carried_it)
{
	mws__sess_on_data(&s, 1, 0);
	cr_assert_eq(mws__sess_resume(&s, 0), 0);
	cr_expect_eq(mws__sess_ack_deadline(&s), UINT64_MAX);
	cr_expect_eq(mws__sess_take_ack(&s), 0);
}

Test(session, lost_session_resends_unacked_renumbered_and_counts_them)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	for (int i = 0; i < 4; i++)
		push(&s, "m");
	drain(&s, &o, 1);
	mws__sess_on_ack(&s, 1);
	push(&s, "unsent");
	mws__sess_on_data(&s, 1, 0);
	mws__sess_lost lost;
	mws__sess_restart(&s, 1, &lost);
	cr_expect_eq(lost.unacked, 3);
	cr_expect_eq(lost.resent, 3);
	cr_expect_eq(lost.discarded, 0);
	cr_expect_eq(lost.unsent, 1);
	cr_expect_eq(s.first_seq, 1);
	cr_expect_eq(s.next_seq, 5);
	cr_expect_eq(mws__sess_unsent(&s), 4);
	cr_expect_eq(s.last_recv, 0, "the peer numbers from 1 too");
	cr_expect_eq(mws__sess_on_data(&s, 1, 0), MWS__SESS_DELIVER);
	mws__env_out_release(&o);
}

Test(session, lost_session_in_discard_mode_frees_unacked_and_keeps_unsent)
{
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	for (int i = 0; i < 3; i++)
		push(&s, "m");
	drain(&s, &o, 1);
	push(&s, "unsent");
	mws__sess_lost lost;
	mws__sess_restart(&s, 0, &lost);
	cr_expect_eq(lost.unacked, 3);
	cr_expect_eq(lost.discarded, 3);
	cr_expect_eq(lost.unsent, 1);
	cr_expect_eq(mws__sess_outbox_count(&s), 1);
	cr_expect_eq(mws__sess_outbox_bytes(&s), 6);
	cr_expect_eq(mws__msg_payload(s.box.head)[0], 'u');
	cr_expect_eq(s.next_seq, 2);
	mws__env_out_release(&o);
}

/* Two sessions over a connection that breaks at random, dropping whatever
 * was in flight; every break is followed by a resume. The receiver must see
 * 1..N exactly once, in order. */
Test(session, nothing_lost_duplicated_or_reordered_across_random_breaks)
{
	mws__sess a, b;
	mws__sess_limits lim = {.max_messages = 64, .max_bytes = 4096, .ack_every = 8,
	                        .ack_delay_ms = 20};
	mws__sess_init(&a, &lim);
	mws__sess_init(&b, &lim);
	mws__rng rng;
	mws__rng_seed(&rng, 20261202);
	uint64_t next_payload = 1, expect = 1, now = 0;
	enum { WIRE = 64 };
	mws__env_out wire[WIRE];
	for (int i = 0; i < WIRE; i++)
		mws__env_out_growing(&wire[i], 0);
	int breaks = 0;
	for (int round = 0; round < 3000; round++) {
		now += mws__rng_between(&rng, 0, 10);
		/* The application sends what the outbox accepts. */
		int want = (int)mws__rng_between(&rng, 0, 6);
		for (int k = 0; k < want; k++) {
			char text[24];
			snprintf(text, sizeof(text), "%llu", (unsigned long long)next_payload);
			mws__msg *m = mws__msg_new(text, strlen(text), MWS_MSG_TEXT);
			if (mws__sess_push(&a, m, NULL)) {
				mws__msg_free(m);
				break;
			}
			next_payload++;
		}
		/* a writes some envelopes onto the wire. */
		int on_wire = 0;
		int writes = (int)mws__rng_between(&rng, 0, 4);
		for (int k = 0; k < writes && on_wire < WIRE; k++) {
			mws__env_out_reset(&wire[on_wire]);
			int rc = mws__sess_write_next(&a, &wire[on_wire], mws__rng_between(&rng, 1, 16),
			                              200);
			cr_assert_geq(rc, 0);
			if (rc)
				on_wire++;
		}
		/* The connection may break: the tail of the wire is lost. */
		int delivered = on_wire;
		int broke = mws__rng_between(&rng, 0, 9) == 0;
		if (broke)
			delivered = (int)mws__rng_between(&rng, 0, (uint64_t)on_wire);
		for (int k = 0; k < delivered; k++) {
			mws__env e;
			cr_assert_eq(mws__env_decode(mws__env_out_bytes(&wire[k]), wire[k].len, NULL, &e),
			             0);
			mws__env_batch_iter it;
			uint64_t seq;
			mws__env_payload p = e.u.data.payload;
			if (e.type == MWS__ENV_BATCH)
				mws__env_batch_iter_init(&it, &e);
			int more = e.type == MWS__ENV_DATA;
			seq = e.u.data.seq;
			if (e.type == MWS__ENV_BATCH)
				more = mws__env_batch_next(&it, &seq, &p);
			while (more) {
				int rc = mws__sess_on_data(&b, seq, now);
				cr_assert_geq(rc, 0, "seq %llu", (unsigned long long)seq);
				if (rc == MWS__SESS_DELIVER) {
					char text[24];
					snprintf(text, sizeof(text), "%llu", (unsigned long long)expect);
					cr_assert(p.len == strlen(text) && !memcmp(p.data, text, p.len),
					          "expected %s", text);
					expect++;
				}
				more = e.type == MWS__ENV_BATCH && mws__env_batch_next(&it, &seq, &p);
			}
		}
		if (broke) {
			breaks++;
			/* hello/welcome: each side learns what the other last received. */
			cr_assert_eq(mws__sess_resume(&a, b.last_recv), 0);
			cr_assert_eq(mws__sess_resume(&b, a.last_recv), 0);
		} else if (mws__sess_ack_due(&b, now) || mws__rng_between(&rng, 0, 3) == 0) {
			uint64_t ack = mws__sess_take_ack(&b);
			if (ack)
				cr_assert_eq(mws__sess_on_ack(&a, ack), 0);
		}
	}
	/* Finally everything waiting goes through. */
	cr_assert_eq(mws__sess_resume(&a, b.last_recv), 0);
	for (int guard = 0; guard < 1000 && mws__sess_unsent(&a); guard++) {
		mws__env_out_reset(&wire[0]);
		cr_assert_eq(mws__sess_write_next(&a, &wire[0], 1, 200), 1);
		mws__env e;
		cr_assert_eq(mws__env_decode(mws__env_out_bytes(&wire[0]), wire[0].len, NULL, &e), 0);
		if (mws__sess_on_data(&b, e.u.data.seq, now) == MWS__SESS_DELIVER)
			expect++;
	}
	cr_expect_eq(expect, next_payload, "every message delivered once");
	cr_expect_gt(breaks, 100);
	cr_expect_gt(a.stats.replayed, 0);
	cr_expect_gt(a.stats.batches, 0);
	cr_expect_eq(b.stats.received, next_payload - 1);
	for (int i = 0; i < WIRE; i++)
		mws__env_out_release(&wire[i]);
	mws__sess_destroy(&a);
	mws__sess_destroy(&b);
}

Test(session, batches_at_the_sender_limits_pass_the_receiver_defaults)
{
	mws__sess x;
	mws__sess_limits lim = {.max_messages = 1000, .max_bytes = 1 << 22};
	mws__sess_init(&x, &lim);
	static char kb[1000];
	for (int i = 0; i < 300; i++)
		cr_assert_eq(push(&x, "sixty-four bytes, or close enough to it, for a batch"), (uint64_t)i + 1);
	for (int i = 0; i < 100; i++) {
		mws__msg *m = mws__msg_new(kb, sizeof(kb), MWS_MSG_BINARY);
		cr_assert_eq(mws__sess_push(&x, m, NULL), 0);
	}
	mws__env_out o;
	mws__env_out_growing(&o, 16);
	size_t counts[3];
	for (int k = 0; k < 3; k++) {
		mws__env_out_reset(&o);
		cr_assert_eq(mws__sess_write_next(&x, &o, MWS__SESS_BATCH_MAX_COUNT,
		                                  MWS__SESS_BATCH_MAX_BYTES), 1);
		cr_expect_leq(o.len, MWS__SESS_BATCH_MAX_BYTES);
		mws__env e;
		cr_assert_eq(mws__env_decode(mws__env_out_bytes(&o), o.len, NULL, &e), 0);
		counts[k] = e.u.batch.count;
	}
	cr_expect_eq(counts[0], MWS__SESS_BATCH_MAX_COUNT);
	/* 44 small ones, then as many 1000-byte ones as fit in 64 KiB. */
	cr_expect_gt(counts[1], 44 + 50);
	cr_expect_lt(counts[1], 44 + 66);
	cr_expect_lt(counts[2], 66);
	mws__env_out_release(&o);
	mws__sess_destroy(&x);
}
