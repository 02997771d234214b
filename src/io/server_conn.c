/* A server connection's life on the I/O thread: open, receive (fragments
 * joined, JSON heartbeats answered), pings, reaping, closing, graceful
 * shutdown. Its output is in server_tx.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json_heartbeat.h"
#include "core/json_valid.h"
#include "io/server_io.h"

/* How long a close frame may take to leave before the socket is dropped. */
#define MWS__SRV_CLOSE_SEND_SECS 2

/* The end of a connection as the application sees it: the id goes stale,
 * on_disconnect fires once. The socket may live on while it closes. */
void mws__srv_conn_end(struct mws_server *srv, mws__srv_conn *c, int code,
                       const char *reason, int why)
{
	if (!c->in_map)
		return;
	pthread_mutex_lock(&srv->lock);
	mws__idm_remove(&srv->map, c->id);
	c->in_map = 0;
	if (c->managed)
		mws__srv_shared_left_locked(srv, c->id); /* sends to it still queued */
	pthread_mutex_unlock(&srv->lock);
	atomic_fetch_sub(&srv->connections, 1);
	atomic_fetch_add(&srv->disconnects, 1);
	uint64_t up = mws__now_ms() - c->opened_ms;
	pthread_mutex_lock(&srv->stats_lock);
	mws__hist_add(&srv->duration_ms, up);
	mws__ph_observe(&srv->prom_duration, (double)up / 1000.0);
	pthread_mutex_unlock(&srv->stats_lock);
	mws__log(srv->ctx, MWS_LOG_DEBUG, "server %d: connection %" PRIu64 " ended (%d %s)",
	         atomic_load(&srv->port), c->id, code, reason);
	if (srv->cbs.on_disconnect)
		srv->cbs.on_disconnect(srv, c->id, code, reason, why, srv->user_data);
}

/* Asks for a close frame: after what is queued, or at once (dropping it). */
void mws__srv_conn_close(struct mws_server *srv, mws__srv_conn *c, int code,
                         const char *reason, int why, int now)
{
	if (c->close_state == MWS__CLOSE_NONE || now) {
		c->close_state = now ? MWS__CLOSE_NOW : MWS__CLOSE_AFTER_QUEUE;
		c->close_code = code;
		mws__srv_reason_set(&c->close_reason, reason, reason ? strlen(reason) : 0);
	}
	lws_callback_on_writable(c->wsi);
	mws__srv_conn_end(srv, c, code, reason ? reason : "", why);
}

void mws__srv_reason_set(char **slot, const void *s, size_t n)
{
	free(*slot);
	*slot = NULL;
	if (!n)
		return;
	if (n > 123)
		n = 123;
	*slot = malloc(n + 1);
	if (*slot) {
		memcpy(*slot, s, n);
		(*slot)[n] = '\0';
	}
}

void mws__srv_conn_free(mws__srv_conn *c)
{
	free(c->close_reason);
	free(c->peer_reason);
	free(c->own_reason);
	free(c);
}

mws__srv_conn *mws__srv_conn_new(int managed)
{
	if (!managed)
		return calloc(1, sizeof(mws__srv_conn));
	mws__srv_conn_block *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->c.managed = 1;
	b->c.v1 = &b->v1;
	return &b->c;
}

mws__srv_conn *mws__srv_conn_open(struct mws_server *srv, struct lws *wsi)
{
	int v1 = mws__srv_is_v1(srv, wsi);
	mws__srv_conn *c = mws__srv_conn_new(v1);
	if (!c)
		return NULL;
	c->srv = srv;
	c->wsi = wsi;
	c->id = ++srv->next_id;
	c->opened_ms = c->last_seen_ms = mws__now_ms();
	if (v1) {
		/* Into the map, counted and announced at its hello. */
		mws__srv_v1_open(srv, c);
		c->next = srv->conns.next;
		c->prev = &srv->conns;
		srv->conns.next->prev = c;
		srv->conns.next = c;
		srv->live++;
		srv->ctx->live_wsi++;
		return c;
	}
	pthread_mutex_lock(&srv->lock);
	int rc = mws__idm_put(&srv->map, c->id, c);
	pthread_mutex_unlock(&srv->lock);
	if (rc) {
		free(c);
		return NULL;
	}
	c->in_map = 1;
	c->next = srv->conns.next;
	c->prev = &srv->conns;
	srv->conns.next->prev = c;
	srv->conns.next = c;
	srv->live++;
	srv->ctx->live_wsi++; /* a graceful stop waits for its close frame */
	atomic_fetch_add(&srv->connections, 1);
	atomic_fetch_add(&srv->accepted, 1);
	if (srv->set.json_protocol) {
		char ack[128];
		int n = snprintf(ack, sizeof ack,
		                 "{\"type\":\"connection_ack\",\"connectionId\":\"%" PRIu64
		                 "\",\"timestamp\":%" PRIu64 "}",
		                 c->id, (uint64_t)time(NULL) * 1000u);
		mws__srv_enqueue_text(c, ack, (size_t)n);
	}
	if (srv->cbs.on_connect) {
		mws__srv_info info;
		mws__srv_info_fill(&info, wsi);
		srv->cbs.on_connect(srv, c->id, &info.pub, srv->user_data);
	}
	return c;
}

static void mws__srv_check_done(struct mws_server *srv);

void mws__srv_conn_closed(struct mws_server *srv, mws__srv_conn *c)
{
	if (c->managed) {
		mws__srv_v1_closed(srv, c); /* ends or suspends its session */
		mws__srv_v1_conn_free(c);
	}
	if (c->in_map) {
		if (c->peer_code)
			mws__srv_conn_end(srv, c, c->peer_code, mws__srv_reason(c->peer_reason),
			                  MWS_DISCONNECT_PEER_CLOSED);
		else if (c->own_code)
			mws__srv_conn_end(srv, c, c->own_code, mws__srv_reason(c->own_reason),
			                  MWS_DISCONNECT_ERROR);
		else
			mws__srv_conn_end(srv, c, 1006, "connection lost", MWS_DISCONNECT_ERROR);
	}
	size_t dropped = 0;
	while (c->txh) {
		mws__srv_op *op = c->txh;
		c->txh = op->next;
		if (op->counted)
			dropped++;
		mws__srv_op_free(op);
	}
	if (dropped)
		atomic_fetch_add(&srv->send_dropped, dropped);
	mws__reasm_free(&c->rx);
	mws__srv_rx_forget(srv, c);
	mws__srv_app_pause_move(srv, c, NULL);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	mws__srv_conn_free(c);
	srv->live--;
	srv->ctx->live_wsi--;
	mws__srv_check_done(srv);
}

/* ---- receive ---- */

static void mws__srv_deliver(struct mws_server *srv, mws__srv_conn *c, const void *data,
                             size_t len, int type)
{
	if (type == MWS_MSG_TEXT) {
		mws__jhb_msg msg;
		if (mws__jhb_parse(data, len, &msg) == MWS__JHB_HEARTBEAT) {
			char ack[96];
			uint64_t ts = msg.timestamp_ms ? msg.timestamp_ms : (uint64_t)time(NULL) * 1000u;
			int n = snprintf(ack, sizeof ack,
			                 "{\"type\":\"heartbeat_ack\",\"timestamp\":%" PRIu64 "}", ts);
			atomic_fetch_add(&srv->heartbeats_in, 1);
			mws__srv_enqueue_text(c, ack, (size_t)n);
			return;
		}
		if (srv->set.json_protocol && !srv->set.json_allow_invalid &&
		    !mws__json_valid(data, len)) {
			atomic_fetch_add(&srv->invalid_messages, 1);
			mws__srv_conn_close(srv, c, 1003, "Invalid message format",
			                    MWS_DISCONNECT_INVALID_MESSAGE, 0);
			return;
		}
	}
	atomic_fetch_add_explicit(&srv->msgs_in, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->bytes_in, len, memory_order_relaxed);
	if (srv->cbs.on_message)
		srv->cbs.on_message(srv, c->id, data, len, type, srv->user_data);
}

static int mws__srv_too_big(struct mws_server *srv, mws__srv_conn *c)
{
	atomic_fetch_add(&srv->too_big, 1);
	mws__reasm_free(&c->rx);
	mws__srv_conn_close(srv, c, 1009, "message too big", MWS_DISCONNECT_TOO_BIG, 1);
	return 0;
}

int mws__srv_receive(struct mws_server *srv, mws__srv_conn *c, const void *in, size_t len)
{
	if (c->close_state != MWS__CLOSE_NONE && !c->goaway_wait)
		return 0; /* closing: what still arrives is not delivered */
	struct lws *wsi = c->wsi;
	c->last_seen_ms = mws__now_ms_coarse(); /* reaping counts seconds */
	const void *msg;
	size_t n;
	int type = lws_frame_is_binary(wsi) ? MWS_MSG_BINARY : MWS_MSG_TEXT;
	size_t limit = srv->set.max_message_bytes;
	if (c->managed) /* an envelope's overhead; batches of up to 64 KiB */
		limit = limit < MWS__SESS_BATCH_MAX_BYTES ? MWS__SESS_BATCH_MAX_BYTES + 64 : limit + 64;
	switch (mws__reasm_feed(&c->rx, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi),
	                        type, in, len, limit, &msg, &n)) {
	case MWS__REASM_TOO_BIG:
		return mws__srv_too_big(srv, c);
	case MWS__REASM_COMPLETE: {
		int rc = 0;
		if (c->goaway_wait) {
			rc = mws__srv_v1_answer(srv, c, msg, n);
		} else if (c->managed) {
			rc = mws__srv_v1_receive(srv, c, msg, n, c->rx.type);
		} else {
			/* A send from on_message waits for WRITEABLE (rx_seen is
			 * set): a ping read before the message must get its pong
			 * first (libwebsockets sends that one there); at once only
			 * if the socket stayed quiet (pollout_idle, mws__srv_kick). */
			mws__srv_deliver(srv, c, msg, n, c->rx.type);
		}
		/* A message rebuilt from pieces leaves no buffer behind: an idle
		 * connection holds none. */
		if (msg == c->rx.buf)
			mws__reasm_free(&c->rx);
		return rc;
	}
	default:
		return 0;
	}
}

void mws__srv_pong(struct mws_server *srv, mws__srv_conn *c, const void *in, size_t len)
{
	c->last_seen_ms = mws__now_ms();
	atomic_fetch_add(&srv->pongs_in, 1);
	if (len != 8)
		return;
	const unsigned char *b = in;
	uint64_t sent = 0;
	for (int i = 0; i < 8; i++) /* 7 bits a byte (server_tx.c) */
		sent = sent << 7 | (b[i] & 0x7f);
	uint64_t now = mws__now_us();
	if (sent > now || now - sent > 3600ull * 1000000u)
		return; /* not one of ours */
	pthread_mutex_lock(&srv->stats_lock);
	mws__hist_add(&srv->rtt_us, now - sent);
	mws__ph_observe(&srv->prom_rtt, (double)(now - sent) / 1e6);
	pthread_mutex_unlock(&srv->stats_lock);
}

/* ---- timers: reaping and pings ---- */

static void mws__srv_check_tick(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, check_sul);
	uint64_t now = mws__now_ms();
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
		if (!c->in_map || c->close_state || c->app_paused ||
		    now - c->last_seen_ms <= srv->set.heartbeat_timeout_ms)
			continue; /* paused: its heartbeats cannot be read */
		atomic_fetch_add(&srv->reaped, 1);
		/* A silent peer may never read the close frame: do not wait long. */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, MWS__SRV_CLOSE_SEND_SECS);
		if (c->managed)
			mws__srv_v1_suspend(srv, c); /* a zombie: the session waits for a resume */
		mws__srv_conn_close(srv, c, 4000, "Heartbeat timeout", MWS_DISCONNECT_REAPED, 1);
	}
	mws__srv_v1_tick(srv, now);
	if (!srv->free_cmd)
		mws__timer_in(srv->ctx, &srv->check_sul, srv->set.check_interval_ms,
		              mws__srv_check_tick);
}

static void mws__srv_ping_tick(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, ping_sul);
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
		if (!c->in_map || c->close_state)
			continue;
		c->ping_due = 1;
		lws_callback_on_writable(c->wsi);
	}
	if (!srv->free_cmd)
		mws__timer_in(srv->ctx, &srv->ping_sul, srv->set.ping_interval_ms,
		              mws__srv_ping_tick);
}

void mws__srv_timers_start(struct mws_server *srv)
{
	mws__timer_in(srv->ctx, &srv->check_sul, srv->set.check_interval_ms, mws__srv_check_tick);
	if (srv->set.ping_interval_ms)
		mws__timer_in(srv->ctx, &srv->ping_sul, srv->set.ping_interval_ms,
		              mws__srv_ping_tick);
}

/* ---- shutdown and free ---- */

static void mws__srv_finish_free(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, free_sul);
	mws__timer_cancel(&srv->check_sul);
	mws__timer_cancel(&srv->ping_sul);
	mws__timer_cancel(&srv->deadline_sul);
	mws__timer_cancel(&srv->shut_sul);
	mws__timer_cancel(&srv->stall_sul);
	mws__timer_cancel(&srv->keepalive_sul);
	mws__srv_heads_forget(srv);
	mws__ctx_remove_member(srv->ctx, &srv->member);
	/* Sockets the deadline could not close: forget them; libwebsockets
	 * closes them with the vhost and finds no server behind them. */
	while (srv->conns.next != &srv->conns) {
		mws__srv_conn *c = srv->conns.next;
		c->in_map = 0;
		c->peer_code = 0;
		mws__srv_conn_closed(srv, c);
	}
	mws__srv_v1_end_all(srv, MWS_DISCONNECT_SHUTDOWN);
	mws__srv_shared_stop(srv);
	mws__server_unlisten(srv);
	if (srv->shutdown_waiter) {
		mws__ctx_complete(srv->ctx, srv->shutdown_waiter);
		srv->shutdown_waiter = NULL;
	}
	mws__cmd *cmd = srv->free_cmd;
	if (cmd->waited)
		mws__ctx_complete(srv->ctx, cmd); /* the caller releases */
	else
		srv->release(srv); /* deferred from a callback */
}

static void mws__srv_check_done(struct mws_server *srv)
{
	if (srv->live > 0)
		return;
	if (srv->shutdown_waiter) {
		mws__ctx_complete(srv->ctx, srv->shutdown_waiter);
		srv->shutdown_waiter = NULL;
	}
	/* Not from inside a callback of one of this vhost's sockets. */
	if (srv->free_cmd)
		mws__timer_in(srv->ctx, &srv->free_sul, 0, mws__srv_finish_free);
}

static void mws__srv_deadline(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, deadline_sul);
	mws__timer_cancel(&srv->shut_sul);
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
		srv->drain_dropped = 1;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
	}
}

/* Shutdown closes in flight at once. libwebsockets 4.1.6 arms a close
 * timeout per closing connection in its sorted timer list, and each insert
 * walks every pending one: 10,000 closes at once kept the server (and the
 * clients answering) busy for seconds walking it. With at most this many
 * closing, the list stays short; the next ones go as earlier ones finish. */
#define MWS__SRV_CLOSES_IN_FLIGHT 256
/* How often a shutdown with closes still to send looks again, and how
 * many it sends then even at the bound, so that clients that never answer
 * their close cannot hold everyone else's back until the deadline. */
#define MWS__SRV_SHUT_STEP_MS 2
#define MWS__SRV_CLOSES_PER_STEP_MIN 16

static void mws__srv_shutdown_step(mws__timer *sul);

/* Sends shutdown closes up to the bound; the rest at a later step. */
static void mws__srv_shutdown_batch(struct mws_server *srv)
{
	int in_flight = 0, waiting = 0, sent = 0;
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next)
		in_flight += c->close_state != MWS__CLOSE_NONE;
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
		/* managed ones still waiting for their hello are not in the map */
		if ((!c->in_map && !c->managed) || c->close_state)
			continue;
		if (in_flight >= MWS__SRV_CLOSES_IN_FLIGHT && sent >= MWS__SRV_CLOSES_PER_STEP_MIN) {
			waiting = 1;
			break;
		}
		in_flight++;
		sent++;
		char reason[64];
		uint64_t retry = mws__rng_between(&srv->rng, 0, srv->shut_window_ms);
		snprintf(reason, sizeof reason, "code=%d retry-after=%" PRIu64, srv->shut_code,
		         retry);
		if (c->managed) /* half the deadline at most for its final ack */
			mws__srv_v1_goaway(c, srv->shut_code, retry, srv->shut_deadline_ms / 2);
		mws__srv_conn_close(srv, c, srv->shut_code, reason, MWS_DISCONNECT_SHUTDOWN, 0);
	}
	if (waiting)
		mws__timer_in(srv->ctx, &srv->shut_sul, MWS__SRV_SHUT_STEP_MS,
		              mws__srv_shutdown_step);
}

static void mws__srv_shutdown_step(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, shut_sul);
	mws__srv_shutdown_batch(srv);
	if (srv->store.ops && !srv->shut_sul.list) { /* the last batch: as at the start */
		srv->shared_dirty = 1;
		mws__srv_shared_flush(srv);
	}
}

void mws__srv_shutdown_begin(struct mws_server *srv, int code, uint64_t window_ms,
                             uint64_t deadline_ms, mws__cmd *waiter)
{
	if (!srv->draining) {
		srv->draining = 1;
		atomic_store(&srv->shutting_down, 1);
		mws__log(srv->ctx, MWS_LOG_INFO, "server %d: shutting down (%d, spread %" PRIu64
		         " ms)", atomic_load(&srv->port), code, window_ms);
		srv->shut_code = code;
		srv->shut_window_ms = window_ms;
		srv->shut_deadline_ms = deadline_ms;
		/* A successor may take the port while this one drains; those
		 * who come early are refused at once instead of read and 503'd. */
		if (srv->set.release_port_on_shutdown)
			mws__srv_close_listener(srv);
		mws__srv_shutdown_batch(srv);
		mws__timer_in(srv->ctx, &srv->deadline_sul, deadline_ms, mws__srv_deadline);
		mws__srv_v1_end_all(srv, MWS_DISCONNECT_SHUTDOWN); /* suspended ones too */
	}
	if (waiter) {
		if (srv->shutdown_waiter) /* one waiter at a time: answer the older */
			mws__ctx_complete(srv->ctx, srv->shutdown_waiter);
		srv->shutdown_waiter = waiter;
	}
	mws__srv_check_done(srv);
}

void mws__srv_free_begin(struct mws_server *srv, mws__cmd *cmd)
{
	srv->free_cmd = cmd;
	if (!srv->vh) { /* never started */
		mws__timer_in(srv->ctx, &srv->free_sul, 0, mws__srv_finish_free);
		return;
	}
	mws__srv_shutdown_begin(srv, 1001, 0, 1000, NULL);
}
