/* mws.v1 on the client, the connection's life (docs/V1-WIRING.md §1-2):
 * what is offered, what the server selected, and what ending a session or
 * falling back to plain does to the outbox. */
#include <stdio.h>
#include <string.h>

#include "io/client_io.h"

const char *mws__client_v1_offer(struct mws_client *c, char *buf, size_t cap)
{
	if (c->v1.mode == MWS_PROTOCOL_PLAIN)
		return c->set.subprotocol;
	if (!c->set.subprotocol || !*c->set.subprotocol)
		return MWS__SUBPROTOCOL;
	int n = snprintf(buf, cap, "%s, %s", MWS__SUBPROTOCOL, c->set.subprotocol);
	return n > 0 && (size_t)n < cap ? buf : MWS__SUBPROTOCOL;
}

void mws__client_v1_negotiated(struct mws_client *c, struct lws *wsi)
{
	char buf[64] = "";
	mws__client_v1_conn_reset(c);
	if (c->v1.mode == MWS_PROTOCOL_PLAIN)
		return;
	char mark[16] = "";
	if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_PROTOCOL) > 0 &&
	    strcmp(buf, MWS__SUBPROTOCOL) == 0 &&
	    lws_hdr_custom_copy(wsi, mark, sizeof mark, MWS__MARKER_HEADER,
	                        (int)strlen(MWS__MARKER_HEADER)) > 0 &&
	    strcmp(mark, MWS__MARKER_VALUE) == 0)
		c->v1.managed = 1;
}

/* A plain connection after managed ones: what the outbox holds goes out
 * plain, before anything newer (plain WebSocket cannot resume anything). */
static void mws__client_v1_to_plain(struct mws_client *c)
{
	mws__sess *s = &c->v1.sess;
	if (!mws__sess_outbox_count(s))
		return;
	mws__msg_queue q;
	mws__msgq_init(&q);
	mws__msg *m;
	while ((m = mws__msgq_pop(&s->box)))
		mws__msgq_push(&q, m);
	while ((m = mws__msgq_pop(&c->txq)))
		mws__msgq_push(&q, m);
	c->txq = q;
	mws__sess_limits lim = s->lim;
	mws__sess_destroy(s);
	mws__sess_init(s, &lim);
	c->v1.has_session = 0;
}

int mws__client_v1_established(struct mws_client *c)
{
	mws__client_v1 *v = &c->v1;
	if (!v->managed) {
		if (v->mode == MWS_PROTOCOL_REQUIRE) {
			mws__client_fail(c, 1002, "mws.v1 required, the server did not select it");
			return -1;
		}
		mws__client_v1_to_plain(c);
		return 0;
	}
	atomic_store(&v->managed_pub, 1);
	/* The handshake timeout stays armed until the welcome. */
	c->phase = MWS__PHASE_OPEN;
	lws_callback_on_writable(c->wsi);
	return 1;
}

/* The server selected mws.v1 but does not speak it: Node's `ws` selects
 * the first protocol offered unless told otherwise, and echoes our hello.
 * Offer: the connection goes on plain. Require: FAILED. 0 when plain. */
int mws__client_v1_fallback(struct mws_client *c)
{
	mws__client_v1 *v = &c->v1;
	if (v->mode == MWS_PROTOCOL_REQUIRE) {
		mws__client_fail(c, 1002, "mws.v1 required, the server does not speak it");
		return -1;
	}
	mws__log(c->ctx, MWS_LOG_INFO, "client %s: the server selected mws.v1 but does not "
	         "speak it: plain", c->url_text);
	mws__client_v1_conn_reset(c);
	c->v1.echo_watch = 1; /* an echo server may send our hello back later */
	mws__client_v1_to_plain(c);
	struct lws *wsi = c->wsi;
	mws__client_opened(c);
	if (c->wsi == wsi && wsi)
		lws_callback_on_writable(wsi);
	return c->wsi == wsi ? 0 : -1;
}

void mws__client_v1_end_session(struct mws_client *c, int close_for_good)
{
	mws__client_v1 *v = &c->v1;
	if (close_for_good) {
		mws__client_v1_discard(c);
		return;
	}
	/* A 1000 ends the session on the server; what was written and not
	 * acknowledged is handled as after a loss, what waits is kept. */
	if (!v->has_session)
		return;
	uint64_t bytes0 = mws__sess_outbox_bytes(&v->sess);
	mws__sess_lost lost;
	mws__sess_restart(&v->sess, v->lost_mode == MWS_SESSION_LOST_RESEND, &lost);
	atomic_fetch_add(&v->lost_resent, lost.resent);
	atomic_fetch_add(&v->lost_discarded, lost.discarded);
	mws__client_v1_settle(c, lost.discarded, bytes0 - mws__sess_outbox_bytes(&v->sess), 1);
	v->has_session = 0;
	mws__client_v1_publish(c);
}
