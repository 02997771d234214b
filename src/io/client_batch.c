/* Batched hand-over to bindings, on the I/O thread. With on_messages set,
 * each message read is copied into the client's batch, and a zero-delay
 * timer delivers the batch at the start of the next pass of the loop
 * (libwebsockets runs ripe timers before it polls), so everything one read
 * brought arrives in one call. on_sent is owed whenever messages leave the
 * send queue and is paid by the same timer. A state change pays both first,
 * so an application never sees a message after the state that ended its
 * connection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/client_io.h"

/* A batch is delivered at once when it reaches either bound. */
#define MWS__BATCH_MAX_COUNT 1024u
#define MWS__BATCH_MAX_BYTES (256u * 1024u)
/* A message this large goes alone, uncopied (after the batch before it). */
#define MWS__BATCH_DIRECT_BYTES (64u * 1024u)
/* Buffers above this are freed after a delivery, not kept for the next. */
#define MWS__BATCH_KEEP_BYTES (16u * 1024u)

static void mws__client_batch_due(mws__timer *sul)
{
	struct mws_client *c = MWS__CONTAINER_OF(sul, struct mws_client, batch.sul);
	c->batch.scheduled = 0;
	mws__client_batch_flush(c);
}

static void mws__client_batch_arm(struct mws_client *c)
{
	if (c->batch.scheduled)
		return;
	c->batch.scheduled = 1;
	mws__timer_in(c->ctx, &c->batch.sul, 0, mws__client_batch_due);
}

/* Copies one message into the batch; -1 when out of memory. */
static int mws__client_batch_add(mws__client_batch *b, const void *data, size_t len, int type)
{
	if (b->count == b->items_cap) {
		size_t cap = b->items_cap ? b->items_cap * 2 : 64;
		mws_message *items = realloc(b->items, cap * sizeof *items);
		if (!items)
			return -1;
		b->items = items;
		b->items_cap = cap;
	}
	if (b->used + len > b->buf_cap) {
		size_t cap = b->buf_cap ? b->buf_cap : 4096;
		while (cap < b->used + len)
			cap *= 2;
		unsigned char *buf = realloc(b->buf, cap);
		if (!buf)
			return -1;
		b->buf = buf;
		b->buf_cap = cap;
	}
	if (len)
		memcpy(b->buf + b->used, data, len);
	/* An offset until the flush: buf may move as the batch grows. */
	b->items[b->count++] = (mws_message){(const void *)(uintptr_t)b->used, len, type};
	b->used += len;
	return 0;
}

static void mws__client_batch_trim(mws__client_batch *b)
{
	if (b->buf_cap > MWS__BATCH_KEEP_BYTES) {
		free(b->buf);
		b->buf = NULL;
		b->buf_cap = 0;
	}
	if (b->items_cap * sizeof *b->items > MWS__BATCH_KEEP_BYTES) {
		free(b->items);
		b->items = NULL;
		b->items_cap = 0;
	}
}

void mws__client_hand_over(struct mws_client *c, const void *data, size_t len, int type)
{
	if (!c->cbs.on_messages) {
		if (c->cbs.on_message)
			c->cbs.on_message(c, data, len, type, c->user_data);
		return;
	}
	mws__client_batch *b = &c->batch;
	/* While a batch is being delivered its buffers are the application's;
	 * a large message is not worth a copy; out of memory, nothing is
	 * dropped: each of these goes alone, after what waits. */
	if (b->flushing || len > MWS__BATCH_DIRECT_BYTES || mws__client_batch_add(b, data, len, type)) {
		mws__client_batch_flush(c);
		mws_message one = {data, len, type};
		c->cbs.on_messages(c, &one, 1, c->user_data);
		return;
	}
	if (b->count >= MWS__BATCH_MAX_COUNT || b->used >= MWS__BATCH_MAX_BYTES)
		mws__client_batch_flush(c);
	else
		mws__client_batch_arm(c);
}

void mws__client_sent_note(struct mws_client *c)
{
	mws__client_room_wake(c);
	if (!c->cbs.on_sent)
		return;
	c->batch.sent_due = 1;
	mws__client_batch_arm(c);
}

void mws__client_batch_flush(struct mws_client *c)
{
	mws__client_batch *b = &c->batch;
	if (b->flushing)
		return;
	b->flushing = 1;
	if (b->count) {
		size_t n = b->count;
		for (size_t i = 0; i < n; i++)
			b->items[i].data = b->buf + (uintptr_t)b->items[i].data;
		b->count = 0;
		b->used = 0;
		c->cbs.on_messages(c, b->items, n, c->user_data);
		mws__client_batch_trim(b);
	}
	if (b->sent_due) {
		b->sent_due = 0;
		mws_send_progress p = {
			.written = atomic_load(&c->msgs_out),
			.discarded = atomic_load(&c->msgs_discarded),
			.queue_messages = (uint32_t)atomic_load(&c->pending_msgs),
			.queue_bytes = atomic_load(&c->pending_bytes),
		};
		c->cbs.on_sent(c, &p, c->user_data);
	}
	b->flushing = 0;
}

void mws__client_batch_free(struct mws_client *c)
{
	mws__client_batch *b = &c->batch;
	mws__timer_cancel(&b->sul);
	b->scheduled = 0;
	free(b->items);
	free(b->buf);
	b->items = NULL;
	b->buf = NULL;
	b->count = b->items_cap = b->used = b->buf_cap = 0;
	b->sent_due = 0;
}
