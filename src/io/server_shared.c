/* mws.v1 sessions in a store shared by several nodes (src/store/, Redis;
 * docs/SESSIONS-REDIS.md), on the server's I/O thread. The in-memory store
 * keeps the sessions this node holds; the shared one gets, before anything
 * leaves for the client, what another node would need to resume them:
 * - a session is written there when it is created (refused with 1013 when
 *   the store is down: the client retries later, nothing is half made);
 * - before a write that carries data or an ack, what changed is saved
 *   (and replies the application queued from its callbacks are numbered
 *   first), so an ack never leaves ahead of what it covers;
 * - a resume loads it, taking it over from the node that held it (that
 *   node is told and lets go);
 * - while the store is down, data and acks wait (bounded by the session's
 *   outbox: sends then get MWS_EQUEUEFULL), pings still flow, /healthz says
 *   503; when it is back, everything waiting goes out. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "io/server_io.h"

#define MWS__SRV_STORE_TICK_MS 250
#define MWS__SRV_STORE_PING_MS 1000

static size_t mws__srv_room(struct mws_server *srv, const mws__store_rec *rec);
static void mws__srv_inbox(struct mws_server *srv, mws__store_rec *rec);

static int mws__srv_dirty(const mws__store_rec *r)
{
	const mws__sess *s = &r->sess;
	return r->saved_next != s->next_seq || r->saved_first != s->first_seq ||
	       r->saved_recv != s->last_recv;
}

static void mws__srv_store_down(struct mws_server *srv, const char *what)
{
	if (!srv->store_down)
		mws__log(srv->ctx, MWS_LOG_WARN, "server %d: session store unavailable (%s)",
		         atomic_load(&srv->port), what);
	srv->store_down = 1;
}

/* Messages numbered here but never saved go to the node that holds the
 * session now: the application sent them and was told yes. */
void mws__srv_shared_forward_unsaved(struct mws_server *srv, mws__store_rec *rec)
{
	if (!srv->shared.ops)
		return;
	mws__sess *s = &rec->sess;
	mws__msg *m = s->box.head;
	uint64_t seq = s->first_seq;
	for (; m && seq < rec->saved_next; seq++)
		m = m->next;
	for (; m; m = m->next) {
		int rc = srv->shared.ops->send(srv->shared.self, rec->app_id, mws__msg_payload(m),
		                               m->len, m->type, srv->store.cfg.max_messages_per_session);
		if (rc)
			atomic_fetch_add(&srv->send_dropped, 1);
		else
			atomic_fetch_add(&srv->store_forwarded, 1);
	}
}

int mws__srv_shared_save(struct mws_server *srv, mws__store_rec *rec, int force)
{
	if (!force && !mws__srv_dirty(rec))
		return 0;
	if (srv->store_down)
		return MWS_ESTORE;
	int rc = srv->shared.ops->save(srv->shared.self, rec, srv->store.cfg.ttl_ms, 0);
	if (rc == MWS__SHARED_MOVED) {
		mws__srv_v1_moved(srv, rec);
	} else if (rc) {
		mws__srv_store_down(srv, "save");
	}
	return rc;
}

int mws__srv_shared_forward(struct mws_server *srv, mws_conn_id id,
                             const mws__srv_payload *p)
{
	if (!srv->shared.ops)
		return -1;
	int rc = srv->shared.ops->send(srv->shared.self, id, p->buf + LWS_PRE, p->len, p->type,
	                               srv->store.cfg.max_messages_per_session);
	if (!rc)
		atomic_fetch_add(&srv->store_forwarded, 1);
	return rc ? -1 : 0;
}

void mws__srv_shared_after_receive(struct mws_server *srv, mws__srv_conn *c)
{
	if (c->rec && srv->shared.ops)
		mws__srv_shared_before_write(srv, c);
}

int mws__srv_shared_before_write(struct mws_server *srv, mws__srv_conn *c)
{
	int pending;
	pthread_mutex_lock(&srv->lock);
	pending = srv->out_head != NULL;
	pthread_mutex_unlock(&srv->lock);
	if (pending) /* replies queued from callbacks: numbered before the ack */
		mws__srv_drain(srv->ctx, &srv->ready);
	if (!c->rec)
		return -1; /* moved meanwhile */
	if (c->rec->inbox_more && mws__srv_room(srv, c->rec))
		mws__srv_inbox(srv, c->rec); /* acks made room for what waits */
	if (!c->rec)
		return -1;
	int rc = mws__srv_shared_save(srv, c->rec, 0);
	if (rc == MWS__SHARED_MOVED)
		return -1;
	if (rc)
		atomic_fetch_add(&srv->store_stalls, 1);
	return rc ? 0 : 1;
}

/* Sessions that changed (a send or a broadcast reached them): saved at
 * once, so that a node taking one over finds what was sent to it here. */
void mws__srv_shared_flush(struct mws_server *srv)
{
	if (!srv->shared.ops || !srv->shared_dirty)
		return;
	srv->shared_dirty = 0;
	mws__srv_conn *c = srv->conns.next;
	while (c != &srv->conns) {
		mws__srv_conn *next = c->next; /* a move closes c, it stays listed */
		if (c->rec)
			mws__srv_shared_save(srv, c->rec, 0);
		c = next;
	}
	mws__srv_conn *g = srv->ghosts.next;
	while (g != &srv->ghosts) {
		mws__srv_conn *next = g->next; /* a move frees g */
		if (g->rec)
			mws__srv_shared_save(srv, g->rec, 0);
		g = next;
	}
}

int mws__srv_shared_create(struct mws_server *srv, mws__store_rec *rec)
{
	if (srv->store_down)
		return MWS_ESTORE;
	int rc = srv->shared.ops->create(srv->shared.self, rec, srv->store.cfg.ttl_ms);
	if (rc && rc != MWS_EINVAL)
		mws__srv_store_down(srv, "create");
	return rc;
}

void mws__srv_shared_forget(struct mws_server *srv, const mws__store_rec *rec)
{
	if (srv->shared.ops && !srv->store_down &&
	    srv->shared.ops->remove(srv->shared.self, rec))
		mws__srv_store_down(srv, "remove");
}

/* Messages other nodes sent: numbered into the session, then saved. */
static void mws__srv_take_in(struct mws_server *srv, mws__store_rec *rec, mws__msg_queue *in)
{
	mws__srv_conn *c = rec->user;
	mws__msg *m;
	uint64_t taken = 0;
	pthread_mutex_lock(&srv->lock);
	while ((m = mws__msgq_pop(in))) {
		mws__sess_push_always(&rec->sess, m); /* the store numbered it already */
		taken++;
		if (c) {
			c->v1->pending_msgs++;
			c->pending_bytes += m->len;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	atomic_fetch_add(&srv->store_remote_in, taken);
	if (taken && c && c->wsi)
		lws_callback_on_writable(c->wsi);
}

static size_t mws__srv_room(struct mws_server *srv, const mws__store_rec *rec)
{
	size_t max = srv->store.cfg.max_messages_per_session, n = rec->sess.box.count;
	return n < max ? max - n : 0;
}

static void mws__srv_inbox(struct mws_server *srv, mws__store_rec *rec)
{
	mws__msg_queue in;
	if (srv->store_down)
		return; /* the notice after recovery ('r') brings it */
	size_t room = mws__srv_room(srv, rec);
	rec->inbox_more = 1; /* until a take leaves room unused */
	if (!room)
		return; /* the outbox is full: taken when acks free it */
	if (mws__srv_shared_save(srv, rec, 0))
		return; /* moved, or the store is down */
	int rc = srv->shared.ops->take_inbox(srv->shared.self, rec, room, &in);
	if (rc == MWS__SHARED_MOVED) {
		mws__srv_v1_moved(srv, rec);
		return;
	}
	if (rc) {
		mws__srv_store_down(srv, "inbox");
		return;
	}
	rec->inbox_more = in.count == room;
	if (!in.count)
		return;
	mws__srv_take_in(srv, rec, &in);
	rec->saved_next = rec->sess.next_seq; /* the store numbered them alike */
}

mws__store_rec *mws__srv_shared_resume(struct mws_server *srv, const unsigned char *id,
                                       const unsigned char *secret, int *err, int *arrived)
{
	*err = 0;
	*arrived = 0;
	if (srv->store_down) {
		*err = MWS_ESTORE;
		return NULL;
	}
	mws__shared_loaded ld;
	int rc = srv->shared.ops->load(srv->shared.self, id, secret, srv->store.cfg.ttl_ms,
	                               srv->store.cfg.max_messages_per_session, &ld);
	if (rc < 0) {
		if (rc == MWS_ESTORE)
			mws__srv_store_down(srv, "load");
		*err = rc;
		return NULL;
	}
	uint64_t now = mws__now_ms();
	mws__store_rec *local = mws__store_find(&srv->store, id);
	if (rc == 0) {
		/* The store does not know it: lost with its data (a Redis restarted
		 * empty) if we hold it, else gone or a wrong secret. */
		local = mws__store_lookup(&srv->store, id, secret, now);
		if (local && srv->shared.ops->save(srv->shared.self, local, srv->store.cfg.ttl_ms, 1))
			local = NULL;
		return local;
	}
	if (ld.was_mine && local) {
		mws__msgq_clear(&ld.box);
		mws__srv_take_in(srv, local, &ld.inbox);
		local->inbox_more = 1;
		return local;
	}
	if (local) /* an old copy: the session was held elsewhere since */
		mws__srv_v1_moved(srv, local);
	mws__store_rec *rec = NULL;
	rc = mws__store_create(&srv->store, id, secret, ld.app_id, now, &rec);
	if (!rc && mws__sess_restore(&rec->sess, ld.first_seq, ld.next_seq, ld.last_recv, &ld.box)) {
		mws__store_remove(&srv->store, rec);
		rec = NULL;
		rc = MWS_EINVAL;
	}
	if (rc) {
		mws__msgq_clear(&ld.box);
		mws__msgq_clear(&ld.inbox);
		*err = rc;
		return NULL;
	}
	rec->saved_first = ld.first_seq;
	rec->saved_next = ld.next_seq;
	rec->saved_recv = ld.last_recv;
	rec->saved_ms = now;
	mws__srv_take_in(srv, rec, &ld.inbox);
	rec->inbox_more = 1; /* more may wait than there was room for */
	atomic_fetch_add(&srv->sessions_taken_over, 1);
	*arrived = 1;
	return rec;
}

/* Appends to the server's request list, drained on the I/O thread in
 * order with the application's sends. */
static void mws__srv_shared_post(struct mws_server *srv, mws__srv_op *op)
{
	pthread_mutex_lock(&srv->lock);
	mws__srv_post_locked(srv, op);
	pthread_mutex_unlock(&srv->lock);
	mws__ctx_schedule(srv->ctx, &srv->ready);
}

/* Any thread: a send to a session this node does not hold, through the
 * store. Should the session have arrived here while the store took it
 * (its inbox got it after this node took the session over), the I/O
 * thread takes the inbox before any send the caller makes after this
 * one: the notice from the store could come later than those. */
int mws__srv_shared_send(struct mws_server *srv, mws_conn_id id, const void *data, size_t len,
                         int type)
{
	int rc = srv->shared.ops->send(srv->shared.self, id, data, len, type,
	                               srv->store.cfg.max_messages_per_session);
	if (rc)
		return rc;
	pthread_mutex_lock(&srv->lock);
	int here = mws__idm_get(&srv->map, id) != NULL;
	pthread_mutex_unlock(&srv->lock);
	mws__srv_op *op = here ? calloc(1, sizeof *op) : NULL;
	if (op) { /* (out of memory: the store's notice still brings it) */
		op->kind = MWS__SOP_NOTICE;
		op->code = 'I'; /* by the application's id, not the session's */
		op->id = id;
		mws__srv_shared_post(srv, op);
	}
	return 0;
}

/* I/O thread, before a send to c's session is numbered: messages other
 * nodes (or this node's application, while the session was elsewhere)
 * sent it that may still wait in its inbox go first. 0, or -1 when the
 * session moved meanwhile. */
int mws__srv_shared_take_waiting(struct mws_server *srv, mws__srv_conn *c)
{
	if (!srv->shared.ops || !c->rec || !c->rec->inbox_more || !mws__srv_room(srv, c->rec))
		return 0;
	mws__srv_inbox(srv, c->rec);
	return c->rec ? 0 : -1;
}

/* A session leaves this node (moved, or its node let it go) while sends
 * to it the application made here may still wait in the request list:
 * those are forwarded to the store by the I/O thread, in order, so a
 * later send must not reach the store ahead of them. It queues behind
 * them until the I/O thread finished the last request for that id. */
void mws__srv_shared_left_locked(struct mws_server *srv, mws_conn_id id)
{
	if (!srv->shared_configured || atomic_load(&srv->done_seq) >= srv->post_seq)
		return; /* nothing waits */
	uint64_t done = atomic_load(&srv->done_seq);
	mws__srv_left *slot = NULL;
	for (int i = 0; i < MWS__SRV_LEFT_MAX; i++) {
		mws__srv_left *l = &srv->left[i];
		if (l->seq && l->id == id) {
			slot = l;
			break;
		}
		if (!slot && l->seq <= done)
			slot = l; /* free, or its requests were all done */
	}
	if (slot)
		*slot = (mws__srv_left){id, srv->post_seq};
	else
		srv->left_all_seq = srv->post_seq; /* full: every id waits, rarely */
}

int mws__srv_shared_behind_locked(struct mws_server *srv, mws_conn_id id)
{
	uint64_t done = atomic_load(&srv->done_seq);
	if (srv->left_all_seq > done)
		return 1;
	for (int i = 0; i < MWS__SRV_LEFT_MAX; i++)
		if (srv->left[i].id == id && srv->left[i].seq > done)
			return 1;
	return 0;
}

/* On the store's thread: into the server's request list, drained on the
 * I/O thread. */
static void mws__srv_shared_notice(void *user, int kind, const unsigned char *data, size_t len)
{
	struct mws_server *srv = user;
	mws__srv_op *op = calloc(1, sizeof *op);
	if (!op)
		return;
	if (kind == 'b') {
		op->p = len ? mws__srv_payload_new(data + 1, len - 1,
		                                   data[0] == MWS_MSG_TEXT ? MWS_MSG_TEXT
		                                                           : MWS_MSG_BINARY)
		            : NULL;
		if (!op->p) {
			free(op);
			return;
		}
		op->kind = MWS__SOP_BROADCAST;
	} else {
		op->kind = MWS__SOP_NOTICE;
		op->code = kind;
		if (len > sizeof op->reason)
			len = sizeof op->reason;
		if (len)
			memcpy(op->reason, data, len);
	}
	mws__srv_shared_post(srv, op);
}

/* Notices may have been missed (the store or the link to it was away):
 * every session here looks at its inbox. */
static void mws__srv_shared_resync(struct mws_server *srv)
{
	mws__srv_conn *c = srv->conns.next;
	while (c != &srv->conns) {
		mws__srv_conn *next = c->next; /* a move closes c, it stays listed */
		if (c->rec)
			mws__srv_inbox(srv, c->rec);
		c = next;
	}
	mws__srv_conn *g = srv->ghosts.next;
	while (g != &srv->ghosts) {
		mws__srv_conn *next = g->next; /* a move frees g */
		if (g->rec)
			mws__srv_inbox(srv, g->rec);
		g = next;
	}
}

void mws__srv_shared_notice_run(struct mws_server *srv, mws__srv_op *op)
{
	if (op->code == 'r') {
		mws__srv_shared_resync(srv);
		return;
	}
	if (op->code == 'I') {
		pthread_mutex_lock(&srv->lock);
		mws__srv_conn *c = mws__idm_get(&srv->map, op->id);
		pthread_mutex_unlock(&srv->lock);
		if (c && c->rec)
			mws__srv_inbox(srv, c->rec);
		return;
	}
	mws__store_rec *rec = mws__store_find(&srv->store, (const unsigned char *)op->reason);
	if (!rec)
		return; /* not here: its inbox waits for whoever resumes it */
	if (op->code == 't')
		mws__srv_v1_moved(srv, rec);
	else if (op->code == 'i')
		mws__srv_inbox(srv, rec);
}

static void mws__srv_store_tick(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, store_sul);
	uint64_t now = mws__now_ms();
	if (srv->store_down || now - srv->store_pinged_ms >= MWS__SRV_STORE_PING_MS) {
		srv->store_pinged_ms = now;
		int up = srv->shared.ops->check(srv->shared.self);
		if (up && srv->store_down) {
			srv->store_down = 0;
			mws__log(srv->ctx, MWS_LOG_INFO, "server %d: session store back",
			         atomic_load(&srv->port));
			for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next)
				if (c->rec && c->wsi)
					lws_callback_on_writable(c->wsi); /* what waited goes out */
			srv->shared_dirty = 1;
			mws__srv_shared_flush(srv);
			mws__srv_shared_resync(srv);
		} else if (!up) {
			mws__srv_store_down(srv, "ping");
		}
	}
	/* A held session's expiry is moved on well before it could pass. */
	uint64_t every = srv->store.cfg.ttl_ms / 3;
	mws__srv_conn *c = srv->conns.next;
	while (!srv->store_down && c != &srv->conns) {
		mws__srv_conn *next = c->next;
		if (c->rec && c->wsi && now - c->rec->saved_ms >= every)
			mws__srv_shared_save(srv, c->rec, 1);
		c = next;
	}
	/* Just suspended (saved_ms 0): the expiry there restarts with the TTL. */
	mws__srv_conn *g = srv->ghosts.next;
	while (!srv->store_down && g != &srv->ghosts) {
		mws__srv_conn *next = g->next;
		if (g->rec && !g->rec->saved_ms)
			mws__srv_shared_save(srv, g->rec, 1);
		g = next;
	}
	if (!srv->free_cmd)
		mws__timer_in(srv->ctx, &srv->store_sul, MWS__SRV_STORE_TICK_MS, mws__srv_store_tick);
}

int mws__srv_shared_start(struct mws_server *srv)
{
	if (!srv->shared.ops)
		return 0;
	int rc = srv->shared.ops->listen(srv->shared.self, mws__srv_shared_notice, srv);
	if (rc)
		return rc;
	srv->store_pinged_ms = mws__now_ms();
	mws__timer_in(srv->ctx, &srv->store_sul, MWS__SRV_STORE_TICK_MS, mws__srv_store_tick);
	return 0;
}

void mws__srv_shared_stop(struct mws_server *srv)
{
	if (!srv->shared.ops)
		return;
	mws__timer_cancel(&srv->store_sul);
	mws__srv_shared_flush(srv);
	/* No notice arrives after this: the thread that posts them is gone. */
	srv->shared.ops->destroy(srv->shared.self);
	srv->shared.ops = NULL;
	mws__ctx_unschedule(srv->ctx, &srv->ready); /* release frees what waits */
}

void mws__srv_shared_metrics(struct mws_server *srv, mws__mt *mt)
{
	mws__shared_stats st;
	memset(&st, 0, sizeof st);
	if (srv->shared.ops)
		srv->shared.ops->stats(srv->shared.self, &st);
	st.up = st.up && !srv->store_down;
	struct {
		const char *name, *type, *help;
		uint64_t v;
	} rows[] = {
		{"mws_server_store_shared", "gauge", "1: mws.v1 sessions are kept in Redis.",
		 srv->shared_configured},
		{"mws_server_store_up", "gauge", "1: the shared session store answers.", st.up},
		{"mws_server_store_bus_up", "gauge", "1: notices from other nodes arrive.", st.bus_up},
		{"mws_server_store_node", "gauge", "This node's number in the shared store.", st.node},
		{"mws_server_store_calls_total", "counter", "Calls to the shared store.", st.calls},
		{"mws_server_store_errors_total", "counter", "Calls to the shared store that failed.",
		 st.errors},
		{"mws_server_store_refused_total", "counter",
		 "mws.v1 hellos refused (1013) while the shared store was down.",
		 atomic_load(&srv->store_refused)},
		{"mws_server_store_stalls_total", "counter",
		 "Writes held back because the session could not be saved.",
		 atomic_load(&srv->store_stalls)},
		{"mws_server_sessions_taken_over_total", "counter",
		 "mws.v1 sessions resumed here that another node held.",
		 atomic_load(&srv->sessions_taken_over)},
		{"mws_server_sessions_moved_total", "counter",
		 "mws.v1 sessions this node let go: resumed on another node.",
		 atomic_load(&srv->sessions_moved)},
		{"mws_server_remote_sends_total", "counter",
		 "Messages for sessions on other nodes, handed to the store.", st.sends_out},
		{"mws_server_remote_received_total", "counter",
		 "Messages from other nodes taken into sessions here.",
		 atomic_load(&srv->store_remote_in)},
		{"mws_server_remote_broadcasts_total", "counter",
		 "Broadcasts published to the other nodes.", st.broadcasts_out},
		{"mws_server_store_notices_total", "counter", "Notices and broadcasts from other nodes.",
		 st.notices_in},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		mws__mt_family(mt, rows[i].name, rows[i].type, rows[i].help);
		mws__mt_u64(mt, rows[i].name, NULL, rows[i].v);
	}
}
