/* mws.v1 on the server, the send side: the welcome, envelope pings and
 * pongs, the session's messages in batches (one lws_write each, acks riding
 * along), a standalone ack when one falls due, the goaway before a graceful
 * close. As in server_tx.c, a large envelope goes out in fragments, each
 * only while the socket takes more, so libwebsockets never holds ours when
 * a FIN arrives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/server_io.h"

#define MWS__SRV_V1_FRAGMENT (16 * 1024)
/* How long the close frame waits, at most, for the answer to a goaway. */
#define MWS__SRV_GOAWAY_ANSWER_MS 1000

/* Writes the envelope in c->v1->out, or its next fragment. 1 when all of it is
 * out, 0 when more is due, -1 when the socket failed. */
static int mws__srv_v1_flush(mws__srv_conn *c)
{
	size_t len = c->v1->out.len, left = len - c->v1->v1_off;
	size_t n = left > MWS__SRV_V1_FRAGMENT ? MWS__SRV_V1_FRAGMENT : left;
	int kind = c->v1->v1_off ? LWS_WRITE_CONTINUATION : LWS_WRITE_BINARY;
	if (n < left)
		kind |= LWS_WRITE_NO_FIN;
	/* The bytes in front, already written, take the frame header. */
	unsigned char *p = mws__env_out_bytes(&c->v1->out) + c->v1->v1_off;
	if (lws_write(c->wsi, p, n, (enum lws_write_protocol)kind) < (int)n)
		return -1;
	c->v1->v1_off += n;
	if (c->v1->v1_off < len)
		return 0;
	c->v1->v1_off = 0;
	mws__env_out_reset(&c->v1->out);
	return 1;
}

/* A small control envelope just encoded: all of it goes at once. */
static int mws__srv_v1_put(mws__srv_conn *c, int encode_rc)
{
	if (encode_rc)
		return -1;
	return mws__srv_v1_flush(c) < 0 ? -1 : 0;
}

static int mws__srv_v1_close_now(struct mws_server *srv, mws__srv_conn *c)
{
	if (c->v1->error_code) {
		char why[64];
		int n = snprintf(why, sizeof why, "%s", mws__srv_reason(c->close_reason));
		mws__env_out_reset(&c->v1->out);
		c->v1->v1_off = 0;
		if (!mws__env_encode_error(&c->v1->out, (uint32_t)c->v1->error_code, why, (size_t)n))
			mws__srv_v1_flush(c); /* best effort: the close follows anyway */
		c->v1->error_code = 0;
	}
	(void)srv;
	return mws__srv_send_close(c);
}

/* The goaway, and first the final ack: everything delivered from this
 * connection, so the client re-sends nothing the application already has
 * (what arrives from now on is not delivered). 0, or -1 if the goaway
 * could not be written (the close goes at once). */
static int mws__srv_v1_write_goaway(struct mws_server *srv, mws__srv_conn *c)
{
	const char *why = "server going away";
	uint64_t ack = c->rec ? mws__sess_take_ack(&c->rec->sess) : 0;
	if (ack && mws__srv_v1_put(c, mws__env_encode_ack(&c->v1->out, ack)))
		return -1;
	if (mws__srv_v1_put(c, mws__env_encode_goaway(&c->v1->out, (uint32_t)c->v1->goaway_code,
	                                              c->v1->goaway_retry_ms, why, strlen(why))))
		return -1;
	atomic_fetch_add(&srv->goaways_sent, 1);
	return 0;
}

/* The client answered the goaway (or did not in time): the close goes. */
static void mws__srv_v1_goaway_answered(mws__timer *sul)
{
	mws__srv_conn *c = mws__srv_conn_of_v1(MWS__CONTAINER_OF(sul, mws__srv_v1c, goaway_sul));
	c->goaway_wait = 0;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

int mws__srv_v1_writeable(struct mws_server *srv, mws__srv_conn *c)
{
	struct lws *wsi = c->wsi;
	int budget = srv->tls ? 1 : 32;
	uint64_t now = mws__now_ms();
	mws__sess *s = c->rec ? &c->rec->sess : NULL;
	int may_data = 1;
	if (c->half_closed)
		return -1;
	mws__srv_rx_resume(srv, c);
	if (c->close_state == MWS__CLOSE_NOW)
		return mws__srv_v1_close_now(srv, c);
	int ka = mws__srv_keepalive_write(srv, c);
	if (ka < 0 || (ka && srv->tls))
		return ka < 0 ? -1 : 0;
	if (c->v1->v1_off) {
		int done = mws__srv_v1_flush(c);
		if (done < 0)
			return -1;
		budget--;
		if (!done)
			goto out;
	}
	/* With a shared store, data and acks go only once saved there. */
	if (s && srv->shared.ops) {
		int w = mws__srv_shared_before_write(srv, c);
		if (w < 0) { /* moved: closing */
			lws_callback_on_writable(wsi);
			return 0;
		}
		may_data = w;
	}
	if (s && c->welcome_due) {
		if (mws__srv_v1_put(c, mws__env_encode_welcome(&c->v1->out, c->rec->id, c->resumed,
		                                               s->last_recv, srv->store.cfg.ttl_ms)))
			return -1;
		c->welcome_due = 0;
		budget--;
	}
	if (s && c->ping_due && budget > 0) { /* never before the welcome */
		c->ping_due = 0;
		if (mws__srv_v1_put(c, mws__env_encode_ping(&c->v1->out, now)))
			return -1;
		atomic_fetch_add(&srv->pings_sent, 1);
		budget--;
	}
	if (s && c->pong_due && budget > 0) {
		c->pong_due = 0;
		if (mws__srv_v1_put(c, mws__env_encode_pong(&c->v1->out, c->v1->pong_ts)))
			return -1;
		budget--;
	}
	int wrote_data = 0;
	/* After the goaway nothing new goes: the session ends with this connection. */
	while (s && may_data && !c->goaway_wait && budget-- > 0 && !c->v1->v1_off && !lws_send_pipe_choked(wsi)) {
		uint64_t n0 = s->stats.sent + s->stats.replayed, b0 = s->stats.batches;
		uint64_t r0 = s->stats.replayed;
		int rc = mws__sess_write_next(s, &c->v1->out, MWS__SESS_BATCH_MAX_COUNT,
		                              MWS__SESS_BATCH_MAX_BYTES);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		atomic_fetch_add_explicit(&srv->msgs_out, s->stats.sent + s->stats.replayed - n0,
		                          memory_order_relaxed);
		atomic_fetch_add_explicit(&srv->bytes_out, c->v1->out.len, memory_order_relaxed);
		atomic_fetch_add(&srv->batches_out, s->stats.batches - b0);
		atomic_fetch_add(&srv->replayed, s->stats.replayed - r0);
		wrote_data = 1;
		if (mws__srv_v1_flush(c) < 0)
			return -1;
	}
	if (s && may_data && !wrote_data && !c->v1->v1_off && budget > 0 && mws__sess_ack_due(s, now)) {
		uint64_t ack = mws__sess_take_ack(s);
		if (ack && mws__srv_v1_put(c, mws__env_encode_ack(&c->v1->out, ack)))
			return -1;
	}
	if (c->close_state == MWS__CLOSE_AFTER_QUEUE && !c->v1->v1_off && (budget > 0 || !srv->tls) &&
	    (!s || !mws__sess_unsent(s) || c->goaway_wait)) {
		if (c->goaway_due) {
			c->goaway_due = 0;
			if (mws__srv_v1_write_goaway(srv, c) == 0) {
				c->goaway_wait = 1; /* the close follows the client's final ack */
				mws__timer_in(srv->ctx, &c->v1->goaway_sul, c->v1->goaway_wait_ms,
				              mws__srv_v1_goaway_answered);
			}
		}
		if (!c->goaway_wait)
			return mws__srv_send_close(c);
	}
out:
	if (!c->v1->v1_off) /* nothing half written: an idle session holds no buffer */
		mws__env_out_release(&c->v1->out);
	if (lws_partial_buffered(wsi))
		mws__srv_rx_pause(srv, c);
	if (c->v1->v1_off || (s && (c->welcome_due || c->ping_due || c->pong_due ||
	                        (may_data && ((mws__sess_unsent(s) && !c->goaway_wait) ||
	                                      mws__sess_ack_due(s, now))))) ||
	    (c->close_state == MWS__CLOSE_AFTER_QUEUE && !c->goaway_wait))
		lws_callback_on_writable(wsi);
	mws__srv_v1_arm_ack(srv, c, now);
	return 0;
}

/* Under srv->lock: one copy into the session's outbox, within its bounds
 * (the caller counted it already when `counted`). 0, or -1 (skipped). */
static int mws__srv_v1_push_locked(struct mws_server *srv, mws__srv_conn *c,
                                   const mws__srv_payload *p, int counted)
{
	if (!counted && ((c->v1->queue_max_msgs && c->v1->pending_msgs + 1 > c->v1->queue_max_msgs) ||
	                 c->pending_bytes + p->len > c->v1->queue_max_bytes))
		return -1;
	mws__msg *m = mws__msg_new(p->buf + LWS_PRE, p->len, p->type);
	if (!m || mws__sess_push(&c->rec->sess, m, NULL)) {
		if (m)
			mws__msg_free(m);
		if (counted) {
			c->v1->pending_msgs--;
			c->pending_bytes -= p->len;
		}
		return -1;
	}
	if (!counted) {
		c->v1->pending_msgs++;
		c->pending_bytes += p->len;
	}
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
	srv->shared_dirty = 1; /* saved at the end of the drain (shared store) */
	return 0;
}

void mws__srv_v1_send(struct mws_server *srv, mws__srv_conn *c, mws__srv_op *op)
{
	if (mws__srv_shared_take_waiting(srv, c)) {
		/* moved while its inbox was taken: the send follows the session */
		if (mws__srv_shared_forward(srv, op->id, op->p))
			atomic_fetch_add(&srv->send_dropped, 1);
		mws__srv_op_free(op);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	int rc = c->rec ? mws__srv_v1_push_locked(srv, c, op->p, op->counted) : -1;
	pthread_mutex_unlock(&srv->lock);
	if (rc)
		atomic_fetch_add(&srv->send_dropped, 1);
	mws__srv_op_free(op);
}

int mws__srv_v1_broadcast_one(struct mws_server *srv, mws__srv_conn *c,
                              const mws__srv_payload *p)
{
	if (!c->rec)
		return 0; /* not welcomed yet: not a session the application knows */
	return mws__srv_v1_push_locked(srv, c, p, 0);
}

void mws__srv_v1_broadcast_ghosts(struct mws_server *srv, mws__srv_op *op, uint64_t *skipped)
{
	for (mws__srv_conn *g = srv->ghosts.next; g != &srv->ghosts; g = g->next)
		if (mws__srv_v1_push_locked(srv, g, op->p, 0))
			(*skipped)++;
}

void mws__srv_v1_goaway(mws__srv_conn *c, int code, uint64_t retry_ms, uint64_t answer_ms)
{
	if (!c->rec)
		return;
	c->goaway_due = 1;
	c->v1->goaway_code = (uint16_t)code;
	c->v1->goaway_retry_ms = retry_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)retry_ms;
	c->v1->goaway_wait_ms = answer_ms < MWS__SRV_GOAWAY_ANSWER_MS ? answer_ms
	                                                          : MWS__SRV_GOAWAY_ANSWER_MS;
}
