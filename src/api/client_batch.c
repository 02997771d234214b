/* mws_client_send_many: a binding's batch of sends with one lock and one
 * wake, the checks of mws_client_send_seq applied to each message in turn.
 * Room is checked before a message is copied: a refused one costs no
 * allocation. mws_client_cork: one wake per tick of a binding's loop. */
#include "io/client_io.h"

/* While corked, one wake for this many sends: the I/O thread writes while
 * a long loop of sends goes on, and a bounded queue does not fill up
 * behind a sleeping I/O thread. */
#define MWS__CORK_WAKE_EVERY 64

void mws__client_wake(struct mws_client *c)
{
	/* The I/O thread waits for the socket with messages queued: its next
	 * WRITEABLE takes this one too (see mws__client_tx_arrived). */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&c->tx_waiting, memory_order_relaxed))
		return;
	if (atomic_load(&c->corked)) {
		int held = atomic_fetch_add(&c->cork_held, 1) + 1;
		/* Still corked after counting: the uncork sees the count and
		 * wakes. Uncorked meanwhile: this send wakes. */
		if (held < MWS__CORK_WAKE_EVERY && atomic_load(&c->corked))
			return;
		atomic_store(&c->cork_held, 0);
	}
	mws__ctx_schedule(c->ctx, &c->ready);
}

MWS_API int mws_client_cork(mws_client *c, int corked)
{
	if (!c)
		return MWS_EINVAL;
	if (corked) {
		atomic_store(&c->corked, 1);
		return 0;
	}
	atomic_store(&c->corked, 0);
	if (atomic_exchange(&c->cork_held, 0))
		mws__ctx_schedule(c->ctx, &c->ready);
	return 0;
}

/* What refuses a message whatever the queue holds: MWS_EINVAL, MWS_ETOOBIG. */
static int mws__send_many_check(const struct mws_client *c, const mws_message *m)
{
	if ((!m->data && m->len) || (m->type != MWS_MSG_TEXT && m->type != MWS_MSG_BINARY))
		return MWS_EINVAL;
	if (m->len > c->set.queue_max_bytes)
		return MWS_ETOOBIG;
	return 0;
}

/* The state's answer for every message of the batch, as in send_seq. */
static int mws__send_many_state(struct mws_client *c)
{
	int rc = mws__client_ended(c);
	if (rc)
		return rc;
	if (c->set.no_offline_queue && atomic_load_explicit(&c->state_pub, memory_order_relaxed) !=
	                                   MWS_STATE_CONNECTED)
		return MWS_ESTATE;
	return 0;
}

MWS_API int mws_client_send_many(mws_client *c, const mws_message *msgs, size_t count,
                                 size_t *accepted, uint64_t *first_number)
{
	if (accepted)
		*accepted = 0;
	if (!c || (!msgs && count))
		return MWS_EINVAL;
	int rc = mws__send_many_state(c);
	if (rc || !count)
		return rc;

	size_t done = 0;
	pthread_mutex_lock(&c->send_lock);
	uint64_t first = atomic_load_explicit(&c->v1.send_number, memory_order_relaxed) + 1;
	size_t pend = atomic_load_explicit(&c->pending_msgs, memory_order_relaxed);
	uint64_t bytes = atomic_load_explicit(&c->pending_bytes, memory_order_relaxed);
	for (; done < count; done++) {
		const mws_message *m = &msgs[done];
		if ((rc = mws__send_many_check(c, m)))
			break;
		if (pend + 1 > c->set.queue_max_messages || bytes + m->len > c->set.queue_max_bytes) {
			atomic_fetch_add_explicit(&c->queue_full, 1, memory_order_relaxed);
			rc = MWS_EQUEUEFULL;
			break;
		}
		mws__msg *q = mws__msg_pool_new(&c->pool, m->data, m->len, m->type);
		if (!q) {
			rc = MWS_ENOMEM;
			break;
		}
		/* Counted before the push, as in send_seq: the I/O thread may
		 * write (and uncount) it as soon as it is in the ring. */
		atomic_fetch_add_explicit(&c->pending_msgs, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->pending_bytes, m->len, memory_order_relaxed);
		pend++;
		bytes += m->len;
		/* Cannot fail: the ring holds queue_max_messages. */
		mws__spsc_push(&c->ring, q);
	}
	if (done)
		atomic_store_explicit(&c->v1.send_number, first + done - 1, memory_order_relaxed);
	pthread_mutex_unlock(&c->send_lock);

	if (accepted)
		*accepted = done;
	if (done) {
		if (first_number)
			*first_number = first;
		mws__client_wake(c);
	}
	return rc;
}
