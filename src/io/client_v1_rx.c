/* mws.v1 on the client, the receive side (docs/PROTOCOL.md §5): the
 * welcome that opens or resumes a session, data and batches delivered in
 * order exactly once, acks that free the outbox, pings, goaway. Anything
 * malformed or out of place closes with the documented code. */
#include <stdio.h>
#include <string.h>

#include "io/client_io.h"

static void mws__client_v1_error(struct mws_client *c, int code, const char *what)
{
	char why[128];
	int n = snprintf(why, sizeof why, "mws.v1: %s", what);
	atomic_fetch_add(&c->v1.protocol_errors, 1);
	mws__log(c->ctx, MWS_LOG_WARN, "client %s: protocol error %d (%s)", c->url_text, code, why);
	mws__client_dropped(c, code, why, (size_t)n, 0);
}

/* Outbox messages freed since `acked0` / `bytes0`: settle them. */
static void mws__client_v1_freed(struct mws_client *c, uint64_t acked0, uint64_t bytes0)
{
	mws__sess *s = &c->v1.sess;
	mws__client_v1_settle(c, s->stats.acked - acked0, bytes0 - mws__sess_outbox_bytes(s), 1);
}

static int mws__client_v1_ack(struct mws_client *c, uint64_t ack)
{
	mws__sess *s = &c->v1.sess;
	uint64_t acked0 = s->stats.acked, bytes0 = mws__sess_outbox_bytes(s);
	if (mws__sess_on_ack(s, ack)) {
		mws__client_v1_error(c, MWS__CLOSE_SEQUENCE, "ack of a message not written");
		return -1;
	}
	mws__client_v1_freed(c, acked0, bytes0);
	return 0;
}

/* The server did not resume: a new session on the same engine. */
static void mws__client_v1_lost(struct mws_client *c, mws_session_info *info)
{
	mws__client_v1 *v = &c->v1;
	uint64_t bytes0 = mws__sess_outbox_bytes(&v->sess);
	mws__sess_lost lost;
	mws__sess_restart(&v->sess, v->lost_mode == MWS_SESSION_LOST_RESEND, &lost);
	info->event = MWS_SESSION_LOST;
	info->unacked = lost.unacked;
	info->resent = lost.resent;
	info->discarded = lost.discarded;
	info->unsent = lost.unsent;
	if (lost.discarded) {
		info->discarded_first = v->settled + 1;
		info->discarded_last = v->settled + lost.discarded;
	}
	atomic_fetch_add(&v->sessions_lost, 1);
	atomic_fetch_add(&v->lost_resent, lost.resent);
	atomic_fetch_add(&v->lost_discarded, lost.discarded);
	/* Discarded ones settle, announced after on_session told which. */
	mws__client_v1_settle(c, lost.discarded, bytes0 - mws__sess_outbox_bytes(&v->sess), 0);
}

static void mws__client_v1_welcome(struct mws_client *c, const mws__env *e)
{
	mws__client_v1 *v = &c->v1;
	mws_session_info info;
	memset(&info, 0, sizeof info);
	if (e->u.welcome.resumed) {
		if (!v->has_session ||
		    memcmp(e->u.welcome.session_id, v->session_id, MWS__ENV_ID_LEN) != 0) {
			mws__client_v1_error(c, MWS__CLOSE_UNEXPECTED, "resumed a session not asked for");
			return;
		}
		uint64_t acked0 = v->sess.stats.acked, bytes0 = mws__sess_outbox_bytes(&v->sess);
		if (mws__sess_resume(&v->sess, e->u.welcome.last_recv_seq)) {
			/* The replay is impossible: the next hello starts anew and
			 * reports the session lost. */
			v->has_session = 0;
			v->lost_pending = 1;
			mws__client_v1_error(c, MWS__CLOSE_SEQUENCE, "impossible resume");
			return;
		}
		mws__client_v1_freed(c, acked0, bytes0);
		info.event = MWS_SESSION_RESUMED;
		atomic_fetch_add(&v->sessions_resumed, 1);
	} else if (v->has_session || v->lost_pending) {
		mws__client_v1_lost(c, &info);
	} else {
		info.event = MWS_SESSION_STARTED;
		atomic_fetch_add(&v->sessions_started, 1);
	}
	v->lost_pending = 0;
	memcpy(v->session_id, e->u.welcome.session_id, MWS__ENV_ID_LEN);
	memcpy(info.session_id, v->session_id, MWS__ENV_ID_LEN);
	v->has_session = 1;
	v->welcomed = 1;
	v->session_event = info.event;
	struct lws *wsi = c->wsi;
	if (c->cbs.on_session)
		c->cbs.on_session(c, &info, c->user_data);
	if (info.discarded && c->cbs.on_acked && c->wsi == wsi)
		c->cbs.on_acked(c, v->settled, c->user_data);
	if (c->wsi != wsi || c->state != MWS_STATE_CONNECTING)
		return; /* a callback closed or disconnected */
	mws__client_opened(c);
	if (c->wsi == wsi && wsi)
		lws_callback_on_writable(wsi);
}

static void mws__client_v1_deliver(struct mws_client *c, const mws__env_payload *p)
{
	atomic_fetch_add_explicit(&c->msgs_in, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->bytes_in, p->len, memory_order_relaxed);
	mws__client_hand_over(c, p->data, p->len, p->text ? MWS_MSG_TEXT : MWS_MSG_BINARY);
}

/* One numbered message: delivered, dropped as a duplicate, or a gap.
 * 0 to go on, -1 when the connection is gone (closed here or by the
 * application's callback: the input buffer may be freed). */
static int mws__client_v1_data(struct mws_client *c, uint64_t seq, const mws__env_payload *p,
                               uint64_t now)
{
	struct lws *wsi = c->wsi;
	int rc = mws__sess_on_data(&c->v1.sess, seq, now);
	if (rc == MWS__SESS_EGAP) {
		mws__client_v1_error(c, MWS__CLOSE_SEQUENCE, "sequence gap");
		return -1;
	}
	if (rc == MWS__SESS_DELIVER)
		mws__client_v1_deliver(c, p);
	return c->wsi == wsi && c->v1.welcomed ? 0 : -1;
}

static void mws__client_v1_dispatch(struct mws_client *c, const mws__env *e)
{
	mws__client_v1 *v = &c->v1;
	if (!v->welcomed && e->type != MWS__ENV_WELCOME && e->type != MWS__ENV_GOAWAY &&
	    e->type != MWS__ENV_ERROR) {
		mws__client_v1_error(c, MWS__CLOSE_UNEXPECTED, "envelope before welcome");
		return;
	}
	switch (e->type) {
	case MWS__ENV_WELCOME:
		if (v->welcomed) {
			mws__client_v1_error(c, MWS__CLOSE_UNEXPECTED, "second welcome");
			return;
		}
		mws__client_v1_welcome(c, e);
		return;
	case MWS__ENV_DATA:
		if (mws__client_v1_data(c, e->u.data.seq, &e->u.data.payload, mws__now_ms()))
			return;
		break;
	case MWS__ENV_BATCH: {
		mws__env_batch_iter it;
		mws__env_batch_iter_init(&it, e);
		uint64_t seq, now = mws__now_ms(); /* once per batch, not per message */
		mws__env_payload p;
		while (mws__env_batch_next(&it, &seq, &p))
			if (mws__client_v1_data(c, seq, &p, now))
				return;
		break;
	}
	case MWS__ENV_ACK:
		break;
	case MWS__ENV_PING:
		v->pong_due = 1;
		v->pong_ts = e->u.ping.timestamp_ms;
		lws_callback_on_writable(c->wsi);
		return;
	case MWS__ENV_PONG:
		mws__client_heartbeat_alive(c, 1);
		return;
	case MWS__ENV_GOAWAY:
		v->goaway = 1;
		v->goaway_code = e->u.goaway.code;
		v->goaway_retry_ms = e->u.goaway.retry_after_ms;
		snprintf(v->goaway_reason, sizeof v->goaway_reason, "%.*s",
		         (int)e->u.goaway.reason_len, e->u.goaway.reason);
		atomic_fetch_add(&v->goaways, 1);
		/* The answer: our final ack, so that the server's session
		 * knows all we received; the server closes once it has it. */
		v->final_ack_due = 1;
		lws_callback_on_writable(c->wsi);
		return;
	case MWS__ENV_ERROR:
		mws__log(c->ctx, MWS_LOG_WARN, "client %s: the server reports %u (%.*s)",
		         c->url_text, e->u.goaway.code, (int)e->u.goaway.reason_len,
		         e->u.goaway.reason);
		return;
	default: /* hello: never sent by a server */
		mws__client_v1_error(c, MWS__CLOSE_UNEXPECTED, "unexpected envelope");
		return;
	}
	if (e->has_ack && mws__client_v1_ack(c, e->ack_seq))
		return;
	mws__client_v1_publish(c);
	if (mws__sess_ack_deadline(&v->sess) != UINT64_MAX && c->wsi)
		lws_callback_on_writable(c->wsi);
}

/* Before the welcome, what a server that selected mws.v1 without speaking
 * it sends: a text (a greeting, a JSON connection_ack) or our own hello
 * echoed back. Binary that does not decode is a protocol error. */
static int mws__client_v1_not_v1(int type, int rc, const mws__env *e)
{
	return type == MWS_MSG_TEXT || (!rc && e->type == MWS__ENV_HELLO);
}

int mws__client_v1_receive(struct mws_client *c, const void *msg, size_t len, int type)
{
	if (!c->v1.welcomed) {
		mws__env_limits lim0 = {len, c->set.max_message_bytes, 0};
		mws__env e0;
		int rc0 = mws__env_decode(msg, len, &lim0, &e0);
		if (mws__client_v1_not_v1(type, rc0, &e0)) {
			if (mws__client_v1_fallback(c))
				return 0;
			/* our own hello echoed back is not the application's */
			return !rc0 && e0.type == MWS__ENV_HELLO ? 0 : 1;
		}
	}
	if (type == MWS_MSG_TEXT) {
		mws__client_v1_error(c, MWS__CLOSE_UNEXPECTED, "text message");
		return 0;
	}
	mws__env_limits lim = {len, c->set.max_message_bytes, 0}; /* reassembly bounded len */
	mws__env e;
	int rc = mws__env_decode(msg, len, &lim, &e);
	if (rc) {
		mws__client_v1_error(c, mws__env_close_code(rc), mws__env_err_name(rc));
		return 0;
	}
	mws__client_heartbeat_alive(c, 0);
	mws__client_v1_dispatch(c, &e);
	return 0;
}

int mws__client_v1_hello_echo(struct mws_client *c, const void *msg, size_t len, int type)
{
	mws__client_v1 *v = &c->v1;
	if (!v->echo_watch || type != MWS_MSG_BINARY)
		return 0;
	mws__env_limits lim = {len, len, 0};
	mws__env e;
	if (mws__env_decode(msg, len, &lim, &e) || e.type != MWS__ENV_HELLO ||
	    memcmp(e.u.hello.secret, v->secret, MWS__ENV_ID_LEN) != 0)
		return 0;
	v->echo_watch = 0;
	return 1;
}

int mws__client_v1_goaway_close(struct mws_client *c, int *code, char *reason, size_t cap)
{
	mws__client_v1 *v = &c->v1;
	if (!v->goaway)
		return 0;
	*code = (int)v->goaway_code;
	snprintf(reason, cap, "code=%u retry-after=%llu %s", v->goaway_code,
	         (unsigned long long)v->goaway_retry_ms, v->goaway_reason);
	return 1;
}
