/* mws.v1 sessions on the server (docs/V1-WIRING.md §3): a session's id
 * stays in the id map across connections. While suspended it is held by a
 * "ghost" conn (no socket, on srv->ghosts) so that sends reach it; the
 * session ends once: closed by either side, expired, or the server gone. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "io/server_io.h"

static void mws__srv_ghost_link(struct mws_server *srv, mws__srv_conn *g)
{
	g->next = srv->ghosts.next;
	g->prev = &srv->ghosts;
	srv->ghosts.next->prev = g;
	srv->ghosts.next = g;
}

static void mws__srv_ghost_unlink(mws__srv_conn *g)
{
	g->prev->next = g->next;
	g->next->prev = g->prev;
	g->next = g->prev = g;
}

/* A session ends with what its outbox still holds: counted, never hidden. */
static void mws__srv_v1_count_dropped(struct mws_server *srv, mws__store_rec *rec)
{
	size_t n = mws__sess_outbox_count(&rec->sess);
	if (n)
		atomic_fetch_add(&srv->session_msgs_dropped, n);
}

static void mws__srv_v1_event(struct mws_server *srv, mws_conn_id id, int event)
{
	if (srv->cbs.on_session)
		srv->cbs.on_session(srv, id, event, srv->user_data);
}

void mws__srv_v1_suspend(struct mws_server *srv, mws__srv_conn *c)
{
	mws__store_rec *rec = c->rec;
	if (!rec || !c->in_map)
		return;
	mws__srv_conn *g = mws__srv_conn_new(1);
	if (!g) { /* cannot keep it: the session ends here */
		mws__srv_conn_end(srv, c, 1006, "out of memory", MWS_DISCONNECT_ERROR);
		return;
	}
	g->srv = srv;
	g->id = c->id;
	g->rec = rec;
	g->opened_ms = c->opened_ms;
	g->in_map = 1;
	pthread_mutex_lock(&srv->lock);
	g->pending_bytes = c->pending_bytes;
	g->v1->pending_msgs = c->v1->pending_msgs;
	g->v1->queue_max_bytes = c->v1->queue_max_bytes;
	g->v1->queue_max_msgs = c->v1->queue_max_msgs;
	mws__idm_put(&srv->map, g->id, g); /* replaces c: cannot fail */
	c->in_map = 0;
	pthread_mutex_unlock(&srv->lock);
	c->rec = NULL;
	mws__srv_app_pause_move(srv, c, g); /* the next connection starts paused */
	rec->user = g;
	mws__srv_ghost_link(srv, g);
	mws__store_suspend(&srv->store, rec, mws__now_ms());
	mws__timer_cancel(&c->v1->ack_sul);
	atomic_fetch_sub(&srv->connections, 1);
	atomic_fetch_sub(&srv->sessions_active, 1);
	atomic_fetch_add(&srv->sessions_suspended, 1);
	mws__srv_v1_event(srv, g->id, MWS_SESSION_SUSPENDED);
	rec->saved_ms = 0; /* the shared store's expiry restarts now (store tick) */
}

/* Moves a suspended session onto connection `c` (its hello resumed it). */
void mws__srv_v1_adopt(struct mws_server *srv, mws__srv_conn *c, mws__store_rec *rec)
{
	mws__srv_conn *old = rec->user;
	if (old && old->wsi) { /* an older connection still carries it */
		mws__srv_v1_suspend(srv, old);
		mws__srv_conn_close(srv, old, MWS__CLOSE_UNEXPECTED, "mws.v1: session taken over",
		                    MWS_DISCONNECT_PROTOCOL_ERROR, 1);
		old = rec->user;
	}
	mws__srv_conn *g = old && !old->wsi ? old : NULL;
	pthread_mutex_lock(&srv->lock);
	if (g) {
		c->id = g->id;
		c->pending_bytes = g->pending_bytes;
		c->v1->pending_msgs = g->v1->pending_msgs;
		c->opened_ms = g->opened_ms;
	} else {
		c->id = rec->app_id;
	}
	c->v1->queue_max_bytes = srv->store.cfg.max_bytes_per_session;
	c->v1->queue_max_msgs = srv->store.cfg.max_messages_per_session;
	mws__idm_put(&srv->map, c->id, c);
	c->in_map = 1;
	pthread_mutex_unlock(&srv->lock);
	if (g) {
		mws__srv_app_pause_move(srv, g, c);
		mws__srv_ghost_unlink(g);
		mws__srv_conn_free(g);
		atomic_fetch_sub(&srv->sessions_suspended, 1);
	}
	c->rec = rec;
	rec->user = c;
	mws__store_activate(&srv->store, rec, mws__now_ms());
	atomic_fetch_add(&srv->connections, 1);
	atomic_fetch_add(&srv->sessions_active, 1);
}

/* A suspended session ends: on_disconnect once, the ghost freed. The
 * record is removed by the caller (or by the store, when it expired). */
static void mws__srv_ghost_end(struct mws_server *srv, mws__srv_conn *g, int code,
                               const char *reason, int why)
{
	atomic_fetch_add(&srv->connections, 1); /* conn_end counts a socket down */
	mws__srv_conn_end(srv, g, code, reason, why);
	mws__srv_ghost_unlink(g);
	mws__srv_conn_free(g);
	atomic_fetch_sub(&srv->sessions_suspended, 1);
}

void mws__srv_v1_close_ghost(struct mws_server *srv, mws__srv_conn *g)
{
	mws__store_rec *rec = g->rec;
	mws__srv_ghost_end(srv, g, 1000, "closed while suspended", MWS_DISCONNECT_SERVER_CLOSED);
	mws__srv_v1_count_dropped(srv, rec);
	mws__srv_shared_forget(srv, rec);
	mws__store_remove(&srv->store, rec);
}

void mws__srv_v1_moved(struct mws_server *srv, mws__store_rec *rec)
{
	mws__srv_shared_forward_unsaved(srv, rec);
	mws__srv_conn *c = rec->user;
	rec->user = NULL;
	atomic_fetch_add(&srv->sessions_moved, 1);
	if (c && c->wsi) {
		c->rec = NULL;
		mws__timer_cancel(&c->v1->ack_sul);
		atomic_fetch_sub(&srv->sessions_active, 1);
		mws__srv_conn_close(srv, c, MWS__CLOSE_UNEXPECTED,
		                    "mws.v1: session moved to another node", MWS_DISCONNECT_MOVED, 1);
	} else if (c) {
		mws__srv_ghost_end(srv, c, 1001, "session moved to another node",
		                   MWS_DISCONNECT_MOVED);
	}
	mws__store_remove(&srv->store, rec);
}

static void mws__srv_expired(mws__store_rec *rec, void *user)
{
	struct mws_server *srv = user;
	mws__srv_conn *g = rec->user;
	if (!g || g->wsi)
		return; /* cannot happen: only suspended sessions expire */
	rec->user = NULL;
	if (srv->ending_why == MWS_DISCONNECT_EXPIRED || !srv->shared.ops)
		mws__srv_v1_count_dropped(srv, rec); /* else kept in the shared store */
	if (srv->ending_why == MWS_DISCONNECT_EXPIRED) {
		atomic_fetch_add(&srv->sessions_expired, 1);
		mws__srv_shared_forget(srv, rec); /* a server going away keeps them there */
	}
	mws__srv_ghost_end(srv, g, 1001,
	                   srv->ending_why == MWS_DISCONNECT_EXPIRED ? "session expired"
	                                                             : "server closed",
	                   srv->ending_why);
}

void mws__srv_v1_end_all(struct mws_server *srv, int why)
{
	if (!srv->store.ops)
		return;
	srv->ending_why = why;
	srv->shared_dirty = 1;
	mws__srv_shared_flush(srv); /* another node resumes them from there */
	/* Only suspended sessions expire: far in the future ends them all. */
	mws__store_expire(&srv->store, UINT64_MAX - 1, mws__srv_expired, srv);
	srv->ending_why = MWS_DISCONNECT_EXPIRED;
}

void mws__srv_v1_tick(struct mws_server *srv, uint64_t now)
{
	if (!srv->store.ops)
		return;
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
		if (c->managed && !c->rec && !c->close_state &&
		    now - c->opened_ms > MWS__SESS_HELLO_TIMEOUT_MS) {
			atomic_fetch_add(&srv->protocol_errors, 1);
			mws__srv_conn_close(srv, c, MWS__CLOSE_UNEXPECTED, "mws.v1: no hello in time",
			                    MWS_DISCONNECT_PROTOCOL_ERROR, 1);
		}
	}
	srv->ending_why = MWS_DISCONNECT_EXPIRED;
	mws__store_expire(&srv->store, now, mws__srv_expired, srv);
}

void mws__srv_v1_closed(struct mws_server *srv, mws__srv_conn *c)
{
	mws__timer_cancel(&c->v1->ack_sul);
	mws__store_rec *rec = c->rec;
	if (!rec)
		return; /* never welcomed, or its session moved on */
	if (c->in_map && c->peer_code != 1000) {
		mws__srv_v1_suspend(srv, c); /* lost, or closed without ending it */
		return;
	}
	if (c->in_map)
		mws__srv_conn_end(srv, c, c->peer_code, mws__srv_reason(c->peer_reason),
		                  MWS_DISCONNECT_PEER_CLOSED);
	c->rec = NULL;
	rec->user = NULL;
	int gone = 0, kept = 0; /* gone: moved meanwhile, already let go of here */
	if (!srv->draining && !srv->free_cmd) {
		mws__srv_shared_forget(srv, rec);
	} else if (srv->shared.ops) { /* a node going away leaves them to the others */
		kept = 1;
		gone = mws__srv_shared_save(srv, rec, 0) == MWS__SHARED_MOVED;
	}
	if (!kept)
		mws__srv_v1_count_dropped(srv, rec);
	if (!gone)
		mws__store_remove(&srv->store, rec);
	atomic_fetch_sub(&srv->sessions_active, 1);
}

void mws__srv_v1_metrics(struct mws_server *srv, mws__mt *mt)
{
	struct {
		const char *name, *type, *help;
		uint64_t v;
	} rows[] = {
		{"mws_server_sessions_active", "gauge", "mws.v1 sessions carried by a connection now.",
		 atomic_load(&srv->sessions_active)},
		{"mws_server_sessions_suspended", "gauge", "mws.v1 sessions waiting for a resume.",
		 atomic_load(&srv->sessions_suspended)},
		{"mws_server_sessions_created_total", "counter", "mws.v1 sessions begun.",
		 atomic_load(&srv->sessions_created)},
		{"mws_server_sessions_resumed_total", "counter", "mws.v1 sessions resumed.",
		 atomic_load(&srv->sessions_resumed)},
		{"mws_server_sessions_expired_total", "counter",
		 "mws.v1 sessions ended: suspended past their TTL.", atomic_load(&srv->sessions_expired)},
		{"mws_server_protocol_errors_total", "counter",
		 "mws.v1 connections closed for bad input (4002..4013).",
		 atomic_load(&srv->protocol_errors)},
		{"mws_server_replayed_total", "counter", "mws.v1 messages written again after a resume.",
		 atomic_load(&srv->replayed)},
		{"mws_server_duplicates_dropped_total", "counter",
		 "mws.v1 messages received again after a resume, dropped.",
		 atomic_load(&srv->duplicates)},
		{"mws_server_batches_total", "counter", "mws.v1 envelopes holding several messages.",
		 atomic_load(&srv->batches_out)},
		{"mws_server_goaways_total", "counter", "mws.v1 goaway envelopes sent.",
		 atomic_load(&srv->goaways_sent)},
		{"mws_server_session_messages_dropped_total", "counter",
		 "mws.v1 messages a session still held (unacknowledged or unsent) when it ended.",
		 atomic_load(&srv->session_msgs_dropped)},
		{"mws_server_session_ttl_seconds", "gauge", "How long a suspended session is kept.",
		 srv->store.cfg.ttl_ms / 1000},
		{"mws_server_sessions_max", "gauge", "Sessions kept at most.", srv->store.cfg.max_sessions},
		{"mws_server_session_max_bytes", "gauge", "Unacknowledged bytes kept per session.",
		 srv->store.cfg.max_bytes_per_session},
		{"mws_server_session_max_messages", "gauge", "Unacknowledged messages kept per session.",
		 srv->store.cfg.max_messages_per_session},
	};
	mws__srv_shared_metrics(srv, mt);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		mws__mt_family(mt, rows[i].name, rows[i].type, rows[i].help);
		mws__mt_u64(mt, rows[i].name, NULL, rows[i].v);
	}
}
