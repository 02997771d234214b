/* mws.v1 on the server, the receive side (docs/PROTOCOL.md §5): the hello
 * that creates or resumes a session, then data, batches, acks and pings on
 * it. Anything malformed or out of place closes with the documented code,
 * is counted, and ends the session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "io/server_io.h"

void mws__srv_v1_adopt(struct mws_server *srv, mws__srv_conn *c, mws__store_rec *rec);

int mws__srv_is_v1(const struct mws_server *srv, struct lws *wsi)
{
	/* A server serving plain only still lists mws.v1 (libwebsockets 4.1.6
	 * refuses an upgrade naming no subprotocol it knows), and speaks
	 * plain on it: no marker, so our client stays plain. */
	const struct lws_protocols *p = lws_get_protocol(wsi);
	return srv && srv->set.v1_enabled && p && p->name && strcmp(p->name, MWS__SUBPROTOCOL) == 0;
}

void mws__srv_v1_open(struct mws_server *srv, mws__srv_conn *c)
{
	mws__env_out_growing(&c->v1->out, LWS_PRE);
	/* on_connect comes with the hello; the request is read now, while
	 * libwebsockets still holds it. */
	c->v1->info = malloc(sizeof *c->v1->info);
	if (c->v1->info) {
		mws__srv_info_fill(c->v1->info, c->wsi);
		/* By the hello libwebsockets has freed the request's headers. */
		mws__srv_info_keep(c->v1->info, srv->set.keep_headers, srv->set.keep_header_count);
	}
}

/* The handshake's details are needed until on_connect (or a resume). */
static void mws__srv_v1_info_drop(mws__srv_conn *c)
{
	if (c->v1->info)
		free(c->v1->info->kept);
	free(c->v1->info);
	c->v1->info = NULL;
}

void mws__srv_v1_conn_free(mws__srv_conn *c)
{
	mws__timer_cancel(&c->v1->goaway_sul);
	mws__env_out_release(&c->v1->out);
	mws__srv_v1_info_drop(c);
}

static void mws__srv_v1_error(struct mws_server *srv, mws__srv_conn *c, int code,
                              const char *what)
{
	char why[124];
	snprintf(why, sizeof why, "mws.v1: %s", what);
	atomic_fetch_add(&srv->protocol_errors, 1);
	c->goaway_due = 0;
	c->v1->error_code = code;
	int too_big = code == MWS__CLOSE_TOO_BIG;
	if (too_big)
		atomic_fetch_add(&srv->too_big, 1);
	mws__srv_conn_close(srv, c, code, why,
	                    too_big ? MWS_DISCONNECT_TOO_BIG : MWS_DISCONNECT_PROTOCOL_ERROR, 1);
}

/* Outbox messages freed by an ack or a resume: the sender's bound opens. */
static void mws__srv_v1_freed(struct mws_server *srv, mws__srv_conn *c, uint64_t acked0,
                              uint64_t bytes0)
{
	mws__sess *s = &c->rec->sess;
	size_t n = (size_t)(s->stats.acked - acked0);
	size_t bytes = (size_t)(bytes0 - mws__sess_outbox_bytes(s));
	if (!n)
		return;
	pthread_mutex_lock(&srv->lock);
	c->v1->pending_msgs -= n < c->v1->pending_msgs ? n : c->v1->pending_msgs;
	c->pending_bytes -= bytes < c->pending_bytes ? bytes : c->pending_bytes;
	pthread_mutex_unlock(&srv->lock);
	if (c->rec->inbox_more && c->wsi) /* messages from other nodes wait for room */
		lws_callback_on_writable(c->wsi);
}

/* The shared store is down: no session can be made or resumed now. The
 * client keeps its session and tries again (1013: later, with backoff). */
static void mws__srv_v1_refuse(struct mws_server *srv, mws__srv_conn *c)
{
	atomic_fetch_add(&srv->store_refused, 1);
	c->goaway_due = 0;
	mws__srv_conn_close(srv, c, 1013, "mws.v1: session store unavailable retry-after=1000",
	                    MWS_DISCONNECT_ERROR, 1);
}

/* on_connect for a session new to this node, with its handshake. */
static void mws__srv_v1_announce(struct mws_server *srv, mws__srv_conn *c)
{
	if (srv->cbs.on_connect) {
		mws__srv_info empty;
		mws__srv_info *info = c->v1->info;
		if (!info) {
			memset(&empty, 0, sizeof empty);
			empty.pub.size = sizeof empty.pub;
			empty.pub.peer_ip = empty.pub.path = empty.pub.origin = "";
			empty.pub.subprotocol = "";
			info = &empty;
		}
		srv->cbs.on_connect(srv, c->id, &info->pub, srv->user_data);
	}
	mws__srv_v1_info_drop(c);
}

static void mws__srv_v1_new_session(struct mws_server *srv, mws__srv_conn *c,
                                    const mws__env *e)
{
	mws__store_rec *rec = NULL;
	int rc = MWS_EINVAL;
	unsigned char id[MWS__ENV_ID_LEN];
	for (int i = 0; i < 4 && rc == MWS_EINVAL; i++) {
		if (getrandom(id, sizeof id, GRND_NONBLOCK) != sizeof id)
			for (size_t k = 0; k < sizeof id; k++)
				id[k] = (unsigned char)mws__rng_next(&srv->rng);
		rc = mws__store_create(&srv->store, id, e->u.hello.secret, c->id, mws__now_ms(),
		                       &rec);
		if (!rc && srv->shared.ops && (rc = mws__srv_shared_create(srv, rec))) {
			mws__store_remove(&srv->store, rec);
			rec = NULL;
		}
	}
	if (rc == MWS_ESTORE) {
		mws__srv_v1_refuse(srv, c);
		return;
	}
	if (rc == MWS_EQUEUEFULL) {
		mws__srv_v1_error(srv, c, MWS__CLOSE_FULL, "too many sessions");
		return;
	}
	if (rc) {
		mws__srv_v1_error(srv, c, 1011, "cannot create a session");
		return;
	}
	mws__srv_v1_adopt(srv, c, rec);
	atomic_fetch_add(&srv->accepted, 1);
	atomic_fetch_add(&srv->sessions_created, 1);
	c->welcome_due = 1;
	c->resumed = 0;
	lws_callback_on_writable(c->wsi);
	mws__srv_v1_announce(srv, c);
}

static void mws__srv_v1_hello(struct mws_server *srv, mws__srv_conn *c, const mws__env *e)
{
	mws__store_rec *rec = NULL;
	int arrived = 0;
	if (e->u.hello.has_session && srv->shared.ops) {
		int err;
		rec = mws__srv_shared_resume(srv, e->u.hello.session_id, e->u.hello.secret, &err,
		                             &arrived);
		if (err) {
			mws__srv_v1_refuse(srv, c);
			return;
		}
	} else if (e->u.hello.has_session) {
		rec = mws__store_lookup(&srv->store, e->u.hello.session_id, e->u.hello.secret,
		                        mws__now_ms());
	}
	if (!rec) { /* none asked for, unknown, expired or a wrong secret: alike */
		mws__srv_v1_new_session(srv, c, e);
		return;
	}
	mws__srv_v1_adopt(srv, c, rec);
	if (arrived) { /* its outbox came from the store: it counts toward the bound */
		pthread_mutex_lock(&srv->lock);
		c->v1->pending_msgs = mws__sess_outbox_count(&rec->sess);
		c->pending_bytes = (size_t)mws__sess_outbox_bytes(&rec->sess);
		pthread_mutex_unlock(&srv->lock);
	}
	uint64_t acked0 = rec->sess.stats.acked, bytes0 = mws__sess_outbox_bytes(&rec->sess);
	if (mws__sess_resume(&rec->sess, e->u.hello.last_recv_seq)) {
		mws__srv_v1_error(srv, c, MWS__CLOSE_SEQUENCE, "impossible resume");
		return;
	}
	mws__srv_v1_freed(srv, c, acked0, bytes0);
	if (arrived) /* new to this node's application: it learns the id */
		mws__srv_v1_announce(srv, c);
	mws__srv_v1_info_drop(c);
	atomic_fetch_add(&srv->sessions_resumed, 1);
	c->welcome_due = 1;
	c->resumed = 1;
	lws_callback_on_writable(c->wsi);
	if (srv->cbs.on_session)
		srv->cbs.on_session(srv, c->id, MWS_SESSION_RESUMED, srv->user_data);
}

/* `now`: the envelope's arrival, read once for all its messages (a clock
 * read per message cost a quarter of a batch's time on this VM). */
static int mws__srv_v1_data(struct mws_server *srv, mws__srv_conn *c, uint64_t seq,
                            const mws__env_payload *p, uint64_t now)
{
	int rc = mws__sess_on_data(&c->rec->sess, seq, now);
	if (rc == MWS__SESS_EGAP) {
		mws__srv_v1_error(srv, c, MWS__CLOSE_SEQUENCE, "sequence gap");
		return -1;
	}
	if (rc == MWS__SESS_DUPLICATE) {
		atomic_fetch_add(&srv->duplicates, 1);
		return 0;
	}
	atomic_fetch_add_explicit(&srv->msgs_in, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->bytes_in, p->len, memory_order_relaxed);
	if (srv->cbs.on_message)
		srv->cbs.on_message(srv, c->id, p->data, p->len,
		                    p->text ? MWS_MSG_TEXT : MWS_MSG_BINARY, srv->user_data);
	return 0;
}

static void mws__srv_v1_ack_due(mws__timer *sul)
{
	mws__srv_conn *c = mws__srv_conn_of_v1(MWS__CONTAINER_OF(sul, mws__srv_v1c, ack_sul));
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

void mws__srv_v1_arm_ack(struct mws_server *srv, mws__srv_conn *c, uint64_t now)
{
	uint64_t due = c->rec && !srv->store_down ? mws__sess_ack_deadline(&c->rec->sess)
	                                          : UINT64_MAX; /* the store tick wakes it */
	if (due != UINT64_MAX)
		mws__timer_in(srv->ctx, &c->v1->ack_sul, due > now ? due - now : 1, mws__srv_v1_ack_due);
}

static void mws__srv_v1_dispatch(struct mws_server *srv, mws__srv_conn *c, const mws__env *e,
                                 uint64_t now)
{
	if (!c->rec) {
		if (e->type == MWS__ENV_HELLO)
			mws__srv_v1_hello(srv, c, e);
		else
			mws__srv_v1_error(srv, c, MWS__CLOSE_UNEXPECTED, "expected hello");
		return;
	}
	switch (e->type) {
	case MWS__ENV_DATA:
		if (mws__srv_v1_data(srv, c, e->u.data.seq, &e->u.data.payload, now))
			return;
		mws__srv_shared_after_receive(srv, c);
		if (!c->rec)
			return; /* moved meanwhile */
		break;
	case MWS__ENV_BATCH: {
		mws__env_batch_iter it;
		mws__env_batch_iter_init(&it, e);
		uint64_t seq;
		mws__env_payload p;
		while (mws__env_batch_next(&it, &seq, &p))
			if (mws__srv_v1_data(srv, c, seq, &p, now))
				return;
		mws__srv_shared_after_receive(srv, c);
		if (!c->rec)
			return; /* moved meanwhile */
		break;
	}
	case MWS__ENV_ACK:
		break;
	case MWS__ENV_PING:
		c->pong_due = 1;
		c->v1->pong_ts = e->u.ping.timestamp_ms;
		lws_callback_on_writable(c->wsi);
		return;
	case MWS__ENV_PONG: {
		atomic_fetch_add(&srv->pongs_in, 1);
		if (e->u.ping.timestamp_ms <= now && now - e->u.ping.timestamp_ms < 3600000u) {
			uint64_t rtt_us = (now - e->u.ping.timestamp_ms) * 1000u;
			pthread_mutex_lock(&srv->stats_lock);
			mws__hist_add(&srv->rtt_us, rtt_us);
			mws__ph_observe(&srv->prom_rtt, (double)rtt_us / 1e6);
			pthread_mutex_unlock(&srv->stats_lock);
		}
		return;
	}
	case MWS__ENV_ERROR:
		mws__log(srv->ctx, MWS_LOG_INFO, "server: client reports %u (%.*s)",
		         e->u.goaway.code, (int)e->u.goaway.reason_len, e->u.goaway.reason);
		return;
	default: /* hello again, welcome, goaway: not a client's to send now */
		mws__srv_v1_error(srv, c, MWS__CLOSE_UNEXPECTED, "unexpected envelope");
		return;
	}
	if (e->has_ack) {
		mws__sess *s = &c->rec->sess;
		uint64_t acked0 = s->stats.acked, bytes0 = mws__sess_outbox_bytes(s);
		if (mws__sess_on_ack(s, e->ack_seq)) {
			mws__srv_v1_error(srv, c, MWS__CLOSE_SEQUENCE, "ack of a message not written");
			return;
		}
		mws__srv_v1_freed(srv, c, acked0, bytes0);
	}
	mws__srv_v1_arm_ack(srv, c, mws__now_ms());
}

int mws__srv_v1_answer(struct mws_server *srv, mws__srv_conn *c, const void *msg, size_t len)
{
	mws__env e;
	mws__env_limits lim = {len, srv->set.max_message_bytes, 0};
	/* Data is not delivered now; its riding ack is taken. Anything that
	 * does not decode ends the wait: the connection is closing anyway. */
	int rc = mws__env_decode(msg, len, &lim, &e);
	int answered = rc || e.type == MWS__ENV_ACK;
	if (!rc && e.has_ack && c->rec) {
		mws__sess *s = &c->rec->sess;
		uint64_t acked0 = s->stats.acked;
		uint64_t bytes0 = mws__sess_outbox_bytes(s);
		if (mws__sess_on_ack(s, e.ack_seq))
			answered = 1;
		else
			mws__srv_v1_freed(srv, c, acked0, bytes0);
	}
	if (answered) { /* the close frame goes now */
		mws__timer_cancel(&c->v1->goaway_sul);
		c->goaway_wait = 0;
		lws_callback_on_writable(c->wsi);
	}
	return 0;
}

int mws__srv_v1_receive(struct mws_server *srv, mws__srv_conn *c, const void *msg,
                        size_t len, int type)
{
	if (type == MWS_MSG_TEXT) {
		mws__srv_v1_error(srv, c, MWS__CLOSE_UNEXPECTED, "text message");
		return 0;
	}
	mws__env_limits lim = {len, srv->set.max_message_bytes, 0}; /* reassembly bounded len */
	mws__env e;
	int rc = mws__env_decode(msg, len, &lim, &e);
	if (rc) {
		mws__srv_v1_error(srv, c, mws__env_close_code(rc), mws__env_err_name(rc));
		return 0;
	}
	uint64_t now = mws__now_ms();
	if (c->rec)
		mws__store_touch(&srv->store, c->rec, now);
	mws__srv_v1_dispatch(srv, c, &e, now);
	return 0;
}
