/* The sequence/ack engine of one side of an mws.v1 session. */
#include "session.h"
#include <string.h>

#include "managedws.h"

void mws__sess_init(mws__sess *s, const mws__sess_limits *lim)
{
	memset(s, 0, sizeof(*s));
	if (lim)
		s->lim = *lim;
	if (!s->lim.max_messages)
		s->lim.max_messages = 1024;
	if (!s->lim.max_bytes)
		s->lim.max_bytes = 4u << 20;
	if (!s->lim.ack_every)
		s->lim.ack_every = 32;
	if (!s->lim.ack_delay_ms)
		s->lim.ack_delay_ms = 50;
	mws__msgq_init(&s->box);
	s->first_seq = s->next_seq = s->cursor_seq = 1;
	s->ack_due_at = UINT64_MAX;
}

void mws__sess_destroy(mws__sess *s)
{
	mws__msgq_clear(&s->box);
	s->cursor = NULL;
	s->cursor_seq = s->first_seq = s->next_seq;
}

int mws__sess_can_push(const mws__sess *s, size_t len)
{
	if (len > s->lim.max_bytes)
		return MWS_ETOOBIG;
	if (s->box.count >= s->lim.max_messages || s->box.bytes + len > s->lim.max_bytes)
		return MWS_EQUEUEFULL;
	return 0;
}

int mws__sess_push(mws__sess *s, mws__msg *m, uint64_t *seq)
{
	if (!m)
		return MWS_EINVAL;
	int rc = mws__sess_can_push(s, m->len);
	if (rc) {
		if (rc == MWS_EQUEUEFULL)
			s->stats.queue_full++;
		return rc;
	}
	mws__msgq_push(&s->box, m);
	if (!s->cursor)
		s->cursor = m; /* everything before was written: this one is next */
	if (seq)
		*seq = s->next_seq;
	s->next_seq++;
	s->stats.pushed++;
	return 0;
}

void mws__sess_push_always(mws__sess *s, mws__msg *m)
{
	mws__msgq_push(&s->box, m);
	if (!s->cursor)
		s->cursor = m;
	s->next_seq++;
	s->stats.pushed++;
}

static size_t item_size(const mws__msg *m)
{
	return mws__env_payload_size(m->len, m->type == MWS_MSG_TEXT);
}

void mws__sess_plan(const mws__sess *s, size_t max_count, size_t max_bytes, uint64_t ack,
                    mws__sess_batch *out)
{
	memset(out, 0, sizeof(*out));
	mws__msg *m = s->cursor;
	if (!m)
		return;
	out->first = m;
	out->first_seq = s->cursor_seq;
	out->count = 1;
	out->env_bytes = mws__env_data_size(s->cursor_seq, m->len, m->type == MWS_MSG_TEXT, ack);
	size_t items = item_size(m);
	for (m = m->next; m && out->count < max_count; m = m->next) {
		size_t n = out->count + 1;
		size_t total = mws__env_batch_overhead(out->first_seq, n, ack) + items + item_size(m);
		if (total > max_bytes)
			break;
		items += item_size(m);
		out->count = n;
		out->env_bytes = total;
	}
}

void mws__sess_commit(mws__sess *s, const mws__sess_batch *b)
{
	if (!b->count || b->first != s->cursor)
		return;
	mws__msg *m = s->cursor;
	for (size_t i = 0; i < b->count && m; i++) {
		/* At or below highest_written: written before, on an earlier connection. */
		if (s->cursor_seq <= s->highest_written)
			s->stats.replayed++;
		else
			s->stats.sent++;
		if (s->cursor_seq > s->highest_written)
			s->highest_written = s->cursor_seq;
		m = m->next;
		s->cursor_seq++;
	}
	s->cursor = m;
	s->stats.envelopes++;
	if (b->count > 1)
		s->stats.batches++;
}

int mws__sess_write_next(mws__sess *s, mws__env_out *o, size_t max_count, size_t max_bytes)
{
	if (!s->cursor)
		return 0;
	/* Peek at the ack without taking it: a failed encode leaves it due. */
	uint64_t ack = s->last_recv > s->last_ack_sent ? s->last_recv : 0;
	mws__sess_batch b;
	mws__sess_plan(s, max_count, max_bytes, ack, &b);
	int rc;
	if (b.count == 1)
		rc = mws__env_encode_data(o, b.first_seq, mws__msg_payload(b.first), b.first->len,
		                          b.first->type == MWS_MSG_TEXT, ack);
	else
		rc = mws__env_encode_batch(o, b.first_seq, b.first, b.count, ack);
	if (rc)
		return rc;
	if (ack)
		mws__sess_take_ack(s);
	mws__sess_commit(s, &b);
	return 1;
}

/* Frees messages up to `upto` (already checked to be written). */
static void free_through(mws__sess *s, uint64_t upto)
{
	while (s->first_seq <= upto && s->box.head) {
		mws__msg *m = mws__msgq_pop(&s->box);
		mws__msg_free(m);
		s->first_seq++;
		s->stats.acked++;
	}
}

int mws__sess_on_ack(mws__sess *s, uint64_t ack)
{
	/* Only what was written on this connection can be acked: after a
	 * resume the cursor rewinds below highest_written, and freeing past it
	 * would free the message the cursor points to. */
	if (ack >= s->cursor_seq)
		return MWS__SESS_EACK;
	if (ack <= s->highest_acked)
		return 0;
	s->highest_acked = ack;
	free_through(s, ack);
	return 0;
}

int mws__sess_on_data(mws__sess *s, uint64_t seq, uint64_t now_ms)
{
	if (seq <= s->last_recv) {
		s->stats.duplicates++;
		return MWS__SESS_DUPLICATE;
	}
	if (seq != s->last_recv + 1)
		return MWS__SESS_EGAP;
	s->last_recv = seq;
	s->stats.received++;
	if (s->unacked_recv++ == 0)
		s->ack_due_at = now_ms + s->lim.ack_delay_ms;
	if (s->unacked_recv >= s->lim.ack_every)
		s->ack_due_at = now_ms;
	return MWS__SESS_DELIVER;
}

int mws__sess_ack_due(const mws__sess *s, uint64_t now_ms)
{
	return s->ack_due_at != UINT64_MAX && now_ms >= s->ack_due_at;
}

uint64_t mws__sess_take_ack(mws__sess *s)
{
	s->unacked_recv = 0;
	s->ack_due_at = UINT64_MAX;
	if (s->last_recv <= s->last_ack_sent)
		return 0;
	s->last_ack_sent = s->last_recv;
	s->stats.acks_sent++;
	return s->last_recv;
}

int mws__sess_resume(mws__sess *s, uint64_t peer_last_recv)
{
	if (peer_last_recv > s->highest_written)
		return MWS__SESS_EACK;
	if (peer_last_recv + 1 < s->first_seq)
		return MWS__SESS_ELOST;
	if (peer_last_recv > s->highest_acked)
		s->highest_acked = peer_last_recv;
	free_through(s, peer_last_recv);
	s->cursor = s->box.head;
	s->cursor_seq = s->first_seq;
	/* hello/welcome carried last_recv: the peer has our ack. */
	s->last_ack_sent = s->last_recv;
	s->unacked_recv = 0;
	s->ack_due_at = UINT64_MAX;
	return 0;
}

void mws__sess_restart(mws__sess *s, int resend, mws__sess_lost *out)
{
	mws__sess_lost lost = {0};
	lost.unacked = s->cursor_seq - s->first_seq;
	lost.unsent = s->next_seq - s->cursor_seq;
	if (resend) {
		lost.resent = lost.unacked;
	} else {
		for (uint64_t i = 0; i < lost.unacked; i++)
			mws__msg_free(mws__msgq_pop(&s->box));
		lost.discarded = lost.unacked;
	}
	s->first_seq = s->cursor_seq = 1;
	s->next_seq = 1 + s->box.count;
	s->cursor = s->box.head;
	s->highest_written = 0;
	s->highest_acked = 0;
	s->last_recv = 0;
	s->last_ack_sent = 0;
	s->unacked_recv = 0;
	s->ack_due_at = UINT64_MAX;
	if (out)
		*out = lost;
}

int mws__sess_restore(mws__sess *s, uint64_t first_seq, uint64_t next_seq, uint64_t last_recv,
                      mws__msg_queue *box)
{
	if (first_seq < 1 || next_seq < first_seq || next_seq - first_seq != box->count)
		return MWS__SESS_EACK;
	mws__msgq_clear(&s->box);
	mws__msgq_append(&s->box, box);
	s->first_seq = first_seq;
	s->next_seq = next_seq;
	s->cursor = s->box.head;
	s->cursor_seq = first_seq;
	s->highest_written = next_seq - 1;
	s->highest_acked = first_seq - 1;
	s->last_recv = last_recv;
	s->last_ack_sent = last_recv;
	s->unacked_recv = 0;
	s->ack_due_at = UINT64_MAX;
	return 0;
}
