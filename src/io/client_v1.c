/* mws.v1 on the client (docs/V1-WIRING.md §2): the session engine that
 * lives across connections, and the send side of a managed connection:
 * hello first, nothing else before the welcome, then envelope pings and
 * pongs, data in batches (one lws_write each) with acks riding along, and
 * a standalone ack when one falls due with nothing to carry it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "io/client_io.h"

/* Envelopes larger than the socket takes now go out in fragments of what
 * it takes (see client_tx.c): never more than this in one lws_write. */
#define MWS__V1_WRITE_MAX (MWS__SESS_BATCH_MAX_BYTES + 64u) /* a whole batch */

void mws__client_v1_init(struct mws_client *c, int mode, int lost_mode, uint32_t ack_every,
                         uint32_t ack_delay_ms)
{
	mws__client_v1 *v = &c->v1;
	v->mode = mode;
	v->lost_mode = lost_mode;
	mws__sess_limits lim = {c->set.queue_max_messages, c->set.queue_max_bytes, ack_every,
	                        ack_delay_ms};
	mws__sess_init(&v->sess, &lim);
	mws__env_out_growing(&v->out, LWS_PRE);
}

void mws__client_v1_destroy(struct mws_client *c)
{
	mws__sess_destroy(&c->v1.sess);
	mws__env_out_release(&c->v1.out);
	free(c->v1.frag);
	c->v1.frag = NULL;
}

/* Messages leave the outbox (acked, or freed by a session loss): the
 * application's queue counters fall and the receipts move on. */
void mws__client_v1_settle(struct mws_client *c, uint64_t msgs, uint64_t bytes, int notify)
{
	mws__client_v1 *v = &c->v1;
	if (!msgs)
		return;
	atomic_fetch_sub(&c->pending_msgs, msgs);
	atomic_fetch_sub(&c->pending_bytes, bytes);
	v->settled += msgs;
	atomic_store(&v->acked_number, v->settled);
	if (notify && c->cbs.on_acked)
		c->cbs.on_acked(c, v->settled, c->user_data);
	mws__client_sent_note(c);
}

void mws__client_v1_receipts(struct mws_client *c, uint64_t settled0)
{
	/* Managed connections announce theirs as acks arrive. */
	if (c->v1.settled > settled0 && !c->v1.managed && c->cbs.on_acked)
		c->cbs.on_acked(c, c->v1.settled, c->user_data);
}

/* Moves what waits in the plain queue into the session: numbering happens
 * here, on the I/O thread, in the order of the sends. The application's
 * bound covers both, so the outbox never refuses. */
static void mws__client_v1_take(struct mws_client *c)
{
	mws__msg *m;
	while ((m = mws__msgq_pop(&c->txq))) {
		if (mws__sess_push(&c->v1.sess, m, NULL)) {
			/* cannot happen: the same bound was checked at send */
			mws__msgq_push_front(&c->txq, m);
			break;
		}
	}
}

/* The whole client session ends (closed for good, or 1000 by the
 * application): everything still kept is discarded and counted. */
void mws__client_v1_discard(struct mws_client *c)
{
	mws__client_v1 *v = &c->v1;
	uint64_t bytes = mws__sess_outbox_bytes(&v->sess);
	size_t n = mws__sess_outbox_count(&v->sess);
	mws__sess_limits lim = v->sess.lim;
	mws__sess_destroy(&v->sess);
	mws__sess_init(&v->sess, &lim);
	if (n) {
		atomic_fetch_add(&c->msgs_discarded, n);
		atomic_fetch_sub(&c->pending_msgs, n);
		atomic_fetch_sub(&c->pending_bytes, bytes);
		mws__client_sent_note(c);
	}
	v->has_session = 0;
}

/* A new connection: the handshake starts over on it. */
void mws__client_v1_conn_reset(struct mws_client *c)
{
	mws__client_v1 *v = &c->v1;
	v->managed = v->hello_sent = v->welcomed = v->goaway = v->final_ack_due = 0;
	v->echo_watch = 0;
	v->pong_due = 0;
	v->session_event = 0;
	v->tx_off = 0;
	mws__env_out_reset(&v->out);
	atomic_store(&v->managed_pub, 0);
	mws__timer_cancel(&v->ack_sul);
}

/* The socket's free room, as client_tx.c measures it, up to a cap. */
static size_t mws__client_v1_room(struct lws *wsi)
{
	return mws__client_socket_room(wsi, MWS__V1_WRITE_MAX);
}

/* Writes the encoded envelope in v->out, whole when the socket takes it,
 * else the next fragment. 1 when all of it is out, 0 when more is due,
 * -1 on a failed write. A fragment is copied out with its own header room,
 * as client_tx.c does: written in place inside the envelope, libwebsockets
 * 4.1.6 (which masks in place) lost the connection. */
static int mws__client_v1_flush(struct mws_client *c, struct lws *wsi)
{
	mws__client_v1 *v = &c->v1;
	size_t len = v->out.len, left = len - v->tx_off;
	size_t n = left;
	if (v->tx_off || len > 512) {
		size_t room = mws__client_v1_room(wsi);
		if (n > room)
			n = room;
	}
	int kind = v->tx_off ? LWS_WRITE_CONTINUATION : LWS_WRITE_BINARY;
	if (n < left)
		kind |= LWS_WRITE_NO_FIN;
	unsigned char *p = mws__env_out_bytes(&v->out) + v->tx_off;
	if (n < len) {
		if (!v->frag && !(v->frag = malloc(LWS_PRE + MWS__V1_WRITE_MAX)))
			return -1;
		memcpy(v->frag + LWS_PRE, p, n);
		p = v->frag + LWS_PRE;
	}
	if (lws_write(wsi, p, n, (enum lws_write_protocol)kind) < (int)n)
		return -1;
	v->tx_off += n;
	if (v->tx_off < len)
		return 0;
	v->tx_off = 0;
	mws__env_out_reset(&v->out);
	return 1;
}

static void mws__client_v1_ack_due(mws__timer *sul)
{
	mws__client_v1 *v = MWS__CONTAINER_OF(sul, mws__client_v1, ack_sul);
	struct mws_client *c = MWS__CONTAINER_OF(v, struct mws_client, v1);
	if (c->wsi && v->welcomed)
		lws_callback_on_writable(c->wsi);
}

void mws__client_v1_publish(struct mws_client *c)
{
	mws__client_v1 *v = &c->v1;
	atomic_store(&v->unacked, mws__sess_unacked(&v->sess));
	atomic_store(&v->replayed, v->sess.stats.replayed);
	atomic_store(&v->duplicates, v->sess.stats.duplicates);
	atomic_store(&v->batches_out, v->sess.stats.batches);
}

static int mws__client_v1_write_hello(struct mws_client *c, struct lws *wsi)
{
	mws__client_v1 *v = &c->v1;
	if (!v->has_session &&
	    getrandom(v->secret, sizeof v->secret, GRND_NONBLOCK) != sizeof v->secret) {
		/* No entropy yet (early boot): a weaker secret beats no session. */
		for (size_t i = 0; i < sizeof v->secret; i++)
			v->secret[i] = (unsigned char)mws__rng_next(&c->retry.rng);
	}
	mws__env_out_reset(&v->out);
	if (mws__env_encode_hello(&v->out, v->has_session ? v->session_id : NULL, v->secret,
	                          v->sess.last_recv))
		return -1;
	v->hello_sent = 1;
	return mws__client_v1_flush(c, wsi) < 0 ? -1 : 0;
}

int mws__client_v1_writeable(struct mws_client *c, struct lws *wsi)
{
	mws__client_v1 *v = &c->v1;
	int budget = c->url.tls ? 1 : 32;
	if (!v->hello_sent)
		return mws__client_v1_write_hello(c, wsi);
	if (!v->welcomed || c->state != MWS_STATE_CONNECTED)
		return 0;
	int frag = 0;
	if (v->tx_off) { /* the rest of a large envelope goes first */
		frag = 1;
		int done = mws__client_v1_flush(c, wsi);
		if (done < 0)
			return -1;
		if (!done) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		budget--;
	}
	uint64_t now = mws__now_ms();
	if (budget > 0 && c->ping_due) {
		c->ping_due = 0;
		if (mws__env_encode_ping(&v->out, now) || mws__client_v1_flush(c, wsi) < 0)
			return -1;
		budget--;
	}
	if (budget > 0 && v->pong_due) {
		v->pong_due = 0;
		if (mws__env_encode_pong(&v->out, v->pong_ts) || mws__client_v1_flush(c, wsi) < 0)
			return -1;
		budget--;
	}
	int wrote_data = 0;
	if (!v->goaway) { /* after a goaway data waits for the next session */
		mws__client_v1_take(c);
		/* a fragment ends the WRITEABLE, as in client_tx.c; nothing new
		 * starts while the socket is choked */
		while (budget-- > 0 && !v->tx_off && !frag && !lws_send_pipe_choked(wsi)) {
			uint64_t sent0 = v->sess.stats.sent + v->sess.stats.replayed;
			uint64_t bytes0 = v->out.len;
			int rc = mws__sess_write_next(&v->sess, &v->out, MWS__SESS_BATCH_MAX_COUNT,
			                              MWS__SESS_BATCH_MAX_BYTES);
			if (rc < 0)
				return -1;
			if (rc == 0)
				break;
			(void)bytes0;
			uint64_t n = v->sess.stats.sent + v->sess.stats.replayed - sent0;
			atomic_fetch_add_explicit(&c->msgs_out, n, memory_order_relaxed);
			atomic_fetch_add_explicit(&c->bytes_out, v->out.len, memory_order_relaxed);
			mws__client_sent_note(c);
			wrote_data = 1;
			if (mws__client_v1_flush(c, wsi) < 0)
				return -1;
			if (lws_send_pipe_choked(wsi))
				break;
		}
	}
	if (v->final_ack_due && !v->tx_off && budget > 0) {
		/* Always sent, even when it repeats the last ack: it answers the goaway. */
		v->final_ack_due = 0;
		mws__sess_take_ack(&v->sess);
		if (mws__env_encode_ack(&v->out, v->sess.last_recv) ||
		    mws__client_v1_flush(c, wsi) < 0)
			return -1;
		budget--;
	} else if (!wrote_data && !v->tx_off && budget > 0 && mws__sess_ack_due(&v->sess, now)) {
		uint64_t ack = mws__sess_take_ack(&v->sess);
		if (ack && (mws__env_encode_ack(&v->out, ack) || mws__client_v1_flush(c, wsi) < 0))
			return -1;
	}
	mws__client_v1_publish(c);
	if (v->tx_off || c->ping_due || v->pong_due || v->final_ack_due ||
	    mws__sess_ack_due(&v->sess, now) ||
	    (!v->goaway && (mws__sess_unsent(&v->sess) || c->txq.head)))
		lws_callback_on_writable(wsi);
	uint64_t due = mws__sess_ack_deadline(&v->sess);
	if (due != UINT64_MAX)
		mws__timer_in(c->ctx, &v->ack_sul, due > now ? due - now : 1, mws__client_v1_ack_due);
	return 0;
}
