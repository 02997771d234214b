/* A server connection's output: the send queue, pings, close frames, and
 * the requests of application threads (send, broadcast, close).
 *
 * libwebsockets 4.1.6 must never hold output of ours when a peer's FIN
 * arrives: with bytes left in its own send buffer, the close goes to
 * LRS_FLUSHING_BEFORE_CLOSE (lib/core-net/close.c), returns without
 * closing, and the forced-service loop (_lws_plat_service_forced_tsi in
 * lib/plat/unix/unix-service.c) retries the same socket at once, forever:
 * the I/O thread spins at 100 % and serves nobody. So a message goes out
 * in fragments of at most MWS__SRV_FRAGMENT bytes, each only while the
 * socket takes more, and a connection whose last write was only partly
 * taken stops being read (no FIN can be read then) until libwebsockets has
 * flushed it. A peer that half-closes meanwhile is found by its TCP state
 * and dropped after a short flush window. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ws_frame.h"
#include "io/server_io.h"
#include "io/tx_batch.h"

_Static_assert(LWS_PRE <= 32, "payload headroom");

/* Without TLS several writes fit in one WRITEABLE; libwebsockets 4.1.6 lost
 * data under TLS with more than one, so TLS gets exactly one. A fragment
 * is a write. */
#define MWS__SRV_WRITES_PER_WRITEABLE 32
/* The largest frame handed to libwebsockets at once; tx_scratch holds one
 * fragment or one batch of small messages. */
#define MWS__SRV_FRAGMENT MWS__TX_BATCH_CAP
/* While a connection is not read, its TCP state is looked at this often. */
#define MWS__SRV_STALL_CHECK_MS 200
/* How long a half-closed peer gets to take what libwebsockets holds. */
#define MWS__SRV_HALF_CLOSE_FLUSH_SECS 2

mws__srv_payload *mws__srv_payload_new(const void *data, size_t len, int type)
{
	if (len > SIZE_MAX - sizeof(mws__srv_payload) - LWS_PRE)
		return NULL;
	mws__srv_payload *p = malloc(sizeof *p + LWS_PRE + len);
	if (!p)
		return NULL;
	p->refs = 1;
	p->type = type;
	p->len = len;
	if (len)
		memcpy(p->buf + LWS_PRE, data, len);
	return p;
}

void mws__srv_payload_unref(mws__srv_payload *p)
{
	if (p && --p->refs == 0)
		free(p);
}

/* Where a SEND's payload starts in its op's allocation. */
#define MWS__SRV_OP_PAYLOAD_AT \
	((sizeof(mws__srv_op) + _Alignof(mws__srv_payload) - 1) & \
	 ~(_Alignof(mws__srv_payload) - 1))

mws__srv_op *mws__srv_op_new_send(const void *data, size_t len, int type)
{
	size_t head = MWS__SRV_OP_PAYLOAD_AT + sizeof(mws__srv_payload) + LWS_PRE;
	if (len > SIZE_MAX - head)
		return NULL;
	mws__srv_op *op = malloc(head + len);
	if (!op)
		return NULL;
	memset(op, 0, sizeof *op);
	mws__srv_payload *p = (mws__srv_payload *)(void *)((char *)op + MWS__SRV_OP_PAYLOAD_AT);
	p->refs = 1;
	p->type = type;
	p->len = len;
	if (len)
		memcpy(p->buf + LWS_PRE, data, len);
	op->kind = MWS__SOP_SEND;
	op->p = p;
	op->inline_p = 1;
	return op;
}

void mws__srv_op_free(mws__srv_op *op)
{
	if (!op->inline_p)
		mws__srv_payload_unref(op->p);
	free(op);
}

void mws__srv_enqueue(mws__srv_conn *c, mws__srv_op *op)
{
	op->next = NULL;
	if (c->txt)
		c->txt->next = op;
	else
		c->txh = op;
	c->txt = op;
}

/* Queues a message the library itself sends (acks): not counted. */
void mws__srv_enqueue_text(mws__srv_conn *c, const char *text, size_t n)
{
	mws__srv_op *op = calloc(1, sizeof *op);
	if (!op)
		return;
	op->p = mws__srv_payload_new(text, n, MWS_MSG_TEXT);
	if (!op->p) {
		free(op);
		return;
	}
	op->id = c->id;
	mws__srv_enqueue(c, op);
	lws_callback_on_writable(c->wsi);
}


/* ---- reading paused while libwebsockets holds output ---- */

static void mws__srv_stall_tick(mws__timer *sul);

void mws__srv_rx_pause(struct mws_server *srv, mws__srv_conn *c)
{
	if (c->rx_paused)
		return;
	c->rx_paused = 1;
	srv->rx_paused++;
	mws__srv_rx_apply(c);
	/* WRITEABLE, once libwebsockets has flushed, reads again. */
	lws_callback_on_writable(c->wsi);
	if (srv->rx_paused == 1)
		mws__timer_in(srv->ctx, &srv->stall_sul, MWS__SRV_STALL_CHECK_MS,
		              mws__srv_stall_tick);
}

void mws__srv_rx_resume(struct mws_server *srv, mws__srv_conn *c)
{
	if (!c->rx_paused)
		return;
	c->rx_paused = 0;
	srv->rx_paused--;
	mws__srv_rx_apply(c); /* unless the application paused it */
}

void mws__srv_rx_forget(struct mws_server *srv, mws__srv_conn *c)
{
	if (c->rx_paused) {
		c->rx_paused = 0;
		srv->rx_paused--;
	}
}

/* 1 when the peer has sent its FIN (it will send nothing more), whether or
 * not we have read up to it. */
static int mws__srv_peer_half_closed(struct lws *wsi)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int fd = (int)lws_get_socket_fd(wsi);
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return 0;
	return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_LAST_ACK ||
	       ti.tcpi_state == TCP_CLOSE;
}

static void mws__srv_stall_tick(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, stall_sul);
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
		if (!c->rx_paused || c->half_closed || !mws__srv_peer_half_closed(c->wsi))
			continue;
		/* A WebSocket peer ends with a close frame, not a FIN; this one
		 * cannot be answered. libwebsockets' timeout closes the socket
		 * as unusable, without the flush that would spin. */
		c->half_closed = 1;
		atomic_fetch_add(&srv->half_closed, 1);
		mws__srv_conn_end(srv, c, 1006, "peer half-closed", MWS_DISCONNECT_ERROR);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, MWS__SRV_HALF_CLOSE_FLUSH_SECS);
	}
	if (srv->rx_paused > 0 && !srv->free_cmd)
		mws__timer_in(srv->ctx, &srv->stall_sul, MWS__SRV_STALL_CHECK_MS,
		              mws__srv_stall_tick);
}

/* ---- writing ---- */

/* A libwebsockets 4.1.6 client turns 1012-1014 and 1016-2999 into 1002
 * before any callback sees them (lib/roles/ws/client-parser-ws.c), so the
 * real code also goes into the reason, `code=N ...`; a true 1002 says so
 * too, and stays distinguishable from a rewritten one. */
static int mws__srv_code_in_reason(int code)
{
	return code == 1002 || (code >= 1012 && code <= 2999);
}

int mws__srv_send_close(mws__srv_conn *c)
{
	/* A second -1 (a WRITEABLE after the first) would make libwebsockets
	 * drop the socket at once ("we tried the polite way", close.c) instead
	 * of waiting for the peer's close: the peer's data still in flight
	 * then meets a closed socket, and the RST that answers it can destroy
	 * our goaway and close frame before the peer reads them. */
	if (c->close_sent)
		return 0;
	c->close_sent = 1;
	char reason[124 + 16]; /* cut to 123 below, as a close frame needs */
	const char *why = mws__srv_reason(c->close_reason);
	if (mws__srv_code_in_reason(c->close_code) && !strstr(why, "code="))
		snprintf(reason, sizeof reason, "code=%d%s%s", c->close_code, why[0] ? " " : "", why);
	else
		snprintf(reason, sizeof reason, "%s", why);
	size_t n = strlen(reason);
	if (n > 123)
		for (n = 123; n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80;)
			n--; /* not inside a UTF-8 sequence */
	lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
	                 (unsigned char *)reason, n);
	return -1; /* libwebsockets sends the frame and waits for the answer */
}

/* Writes the next fragment of the head message. 1 when the message is
 * done, 0 when more is left, -1 when the socket failed. */
static int mws__srv_write_fragment(struct mws_server *srv, mws__srv_conn *c, size_t *wrote)
{
	mws__srv_payload *p = c->txh->p;
	size_t left = p->len - c->tx_off;
	size_t n = left > MWS__SRV_FRAGMENT ? MWS__SRV_FRAGMENT : left;
	int first = c->tx_off == 0, last = n == left;
	int flags = !first ? LWS_WRITE_CONTINUATION
	            : p->type == MWS_MSG_BINARY ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
	if (!last)
		flags |= LWS_WRITE_NO_FIN;
	unsigned char *buf = p->buf + LWS_PRE;
	if (!first) {
		/* libwebsockets writes the frame header into the LWS_PRE bytes in
		 * front: not into a payload other connections still read. */
		if (!srv->tx_scratch && !(srv->tx_scratch = malloc(LWS_PRE + MWS__SRV_FRAGMENT)))
			return -1;
		buf = srv->tx_scratch + LWS_PRE;
		memcpy(buf, p->buf + LWS_PRE + c->tx_off, n);
	}
	if (lws_write(c->wsi, buf, n, (enum lws_write_protocol)flags) < (int)n)
		return -1;
	c->tx_off += n;
	*wrote = n;
	return last;
}

/* Fits in one batch with its frame header. */
static int mws__srv_small(struct lws *wsi, const mws__srv_payload *p)
{
	return mws__frame_header_len(p->len, 0) + p->len <= mws__tx_write_limit(wsi);
}

typedef struct mws__srv_written {
	size_t bytes, msgs, counted_bytes;
} mws__srv_written;

static void mws__srv_pop_written(mws__srv_conn *c, mws__srv_written *w)
{
	mws__srv_op *op = c->txh;
	c->txh = op->next;
	if (!c->txh)
		c->txt = NULL;
	c->tx_off = 0;
	w->msgs++;
	if (op->counted)
		w->counted_bytes += op->p->len;
	mws__srv_op_free(op);
}

/* Frames the small messages at the head of the queue into tx_scratch and
 * writes them at once (one send() where libwebsockets would make one per
 * message). 0, or -1 when the socket failed. */
static int mws__srv_write_batch(struct mws_server *srv, mws__srv_conn *c, mws__srv_written *w)
{
	if (!srv->tx_scratch && !(srv->tx_scratch = malloc(LWS_PRE + MWS__SRV_FRAGMENT)))
		return -1;
	unsigned char *out = srv->tx_scratch + LWS_PRE;
	size_t cap = mws__tx_write_limit(c->wsi), used = 0, n = 0;
	for (mws__srv_op *op = c->txh; op; op = op->next, n++) {
		mws__srv_payload *p = op->p;
		if (used + mws__frame_header_len(p->len, 0) + p->len > cap)
			break; /* the first one always fits: see mws__srv_small */
		used += mws__frame_put(out + used,
		                       p->type == MWS_MSG_BINARY ? MWS__OP_BINARY : MWS__OP_TEXT, 1,
		                       NULL, p->buf + LWS_PRE, p->len);
		w->bytes += p->len;
	}
	if (mws__tx_write_frames(c->wsi, out, used))
		return -1;
	while (n-- > 0)
		mws__srv_pop_written(c, w);
	return 0;
}

/* After writing: reading stops while libwebsockets holds output; the
 * written messages leave the connection's bound and enter the stats. */
static void mws__srv_settle(struct mws_server *srv, mws__srv_conn *c, const mws__srv_written *w)
{
	if (lws_partial_buffered(c->wsi))
		mws__srv_rx_pause(srv, c);
	if (w->counted_bytes) {
		pthread_mutex_lock(&srv->lock);
		c->pending_bytes -= w->counted_bytes;
		pthread_mutex_unlock(&srv->lock);
	}
	atomic_fetch_add_explicit(&srv->msgs_out, w->msgs, memory_order_relaxed);
	atomic_fetch_add_explicit(&srv->bytes_out, w->bytes, memory_order_relaxed);
}

void mws__srv_post_locked(struct mws_server *srv, mws__srv_op *op)
{
	op->next = NULL;
	op->seq = ++srv->post_seq;
	if (srv->out_tail)
		srv->out_tail->next = op;
	else
		srv->out_head = op;
	srv->out_tail = op;
}

void mws__srv_kick(struct mws_server *srv, mws__srv_conn *c)
{
	struct lws *wsi = c->wsi;
	/* Written now only when nothing else must go first or differently:
	 * no TLS (one write per WRITEABLE there), nothing held by
	 * libwebsockets, no fragment, ping or close under way, the peer has
	 * not closed, not after data was read since the last WRITEABLE
	 * (rx_seen, which also covers a send from this connection's
	 * on_message: a pong may be owed, which libwebsockets sends only at
	 * POLLOUT) unless the socket stayed quiet since that WRITEABLE
	 * (pollout_idle: libwebsockets asks for POLLOUT when it reads a
	 * ping, and we hear of every change to the socket's poll events).
	 * Otherwise, or for what is left, the next WRITEABLE. */
	if (!srv->tls && !c->managed && c->txh && !c->tx_off && !c->ping_due &&
	    (!c->rx_seen || c->pollout_idle) &&
	    !c->close_state && !c->peer_code && !c->half_closed && !c->rx_paused &&
	    !lws_partial_buffered(wsi) && mws__srv_small(wsi, c->txh->p)) {
		mws__srv_written w = {0, 0, 0};
		if (!mws__srv_write_batch(srv, c, &w))
			mws__srv_settle(srv, c, &w);
		/* a failed socket fails again at WRITEABLE, which closes it */
	}
	if (c->txh)
		lws_callback_on_writable(wsi);
}

int mws__srv_writeable(struct mws_server *srv, mws__srv_conn *c)
{
	struct lws *wsi = c->wsi;
	int budget = srv->tls ? 1 : MWS__SRV_WRITES_PER_WRITEABLE;
	int writes = 0;
	if (c->managed)
		return mws__srv_v1_writeable(srv, c);
	if (c->half_closed)
		return -1; /* what libwebsockets held is gone: drop it now */
	/* Called only once libwebsockets holds nothing more: read again. */
	mws__srv_rx_resume(srv, c);
	if (c->close_state == MWS__CLOSE_NOW)
		return mws__srv_send_close(c);
	int ka = mws__srv_keepalive_write(srv, c);
	if (ka < 0 || (ka && srv->tls))
		return ka < 0 ? -1 : 0;
	if (c->ping_due) {
		/* 7 bits a byte: the pong must be valid UTF-8. libwebsockets 4.1.6
		 * (lib/roles/ws/ops-ws.c) leaves check_utf8 set from the last text
		 * frame and validates a PONG's payload with it: 1007 "bad utf8". */
		unsigned char buf[LWS_PRE + 8];
		uint64_t now = mws__now_us();
		for (int i = 0; i < 8; i++)
			buf[LWS_PRE + i] = (unsigned char)((now >> (49 - 7 * i)) & 0x7f);
		c->ping_due = 0;
		if (lws_write(wsi, buf + LWS_PRE, 8, LWS_WRITE_PING) < 8)
			return -1;
		atomic_fetch_add(&srv->pings_sent, 1);
		budget--;
		writes++;
	}
	/* Until a write is not taken whole: libwebsockets keeps the rest and
	 * flushes it first (no poll per message, as lws_send_pipe_choked()
	 * would make). */
	mws__srv_written w = {0, 0, 0};
	while (budget-- > 0 && c->txh && !lws_partial_buffered(wsi)) {
		writes++;
		if (!c->tx_off && mws__srv_small(wsi, c->txh->p)) {
			if (mws__srv_write_batch(srv, c, &w))
				return -1; /* the socket failed: the close path takes over */
			continue;
		}
		size_t n = 0;
		int rc = mws__srv_write_fragment(srv, c, &n);
		if (rc < 0)
			return -1;
		w.bytes += n;
		if (rc)
			mws__srv_pop_written(c, &w);
	}
	mws__srv_settle(srv, c, &w);
	if (!c->txh && c->close_state == MWS__CLOSE_AFTER_QUEUE) {
		if (!srv->tls || !writes)
			return mws__srv_send_close(c);
		lws_callback_on_writable(wsi); /* TLS: one write per WRITEABLE */
		return 0;
	}
	if (c->txh || c->ping_due)
		lws_callback_on_writable(wsi);
	return 0;
}

/* One application request: SEND and CLOSE for one id, BROADCAST for all. */
static void mws__srv_drain_one(struct mws_server *srv, mws__srv_op *op)
{
	if (op->kind == MWS__SOP_BROADCAST) {
		uint64_t skipped = 0;
		pthread_mutex_lock(&srv->lock);
		for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
			if (!c->in_map || c->close_state)
				continue;
			if (c->managed) {
				skipped += mws__srv_v1_broadcast_one(srv, c, op->p) ? 1 : 0;
				continue;
			}
			mws__srv_op *node = calloc(1, sizeof *node);
			if (!node ||
			    c->pending_bytes + op->p->len > srv->set.send_queue_max_bytes) {
				free(node);
				skipped++;
				continue;
			}
			node->kind = MWS__SOP_SEND;
			node->counted = 1;
			node->id = c->id;
			node->p = op->p;
			op->p->refs++;
			c->pending_bytes += op->p->len;
			mws__srv_enqueue(c, node);
			lws_callback_on_writable(c->wsi);
		}
		mws__srv_v1_broadcast_ghosts(srv, op, &skipped);
		pthread_mutex_unlock(&srv->lock);
		if (skipped)
			atomic_fetch_add(&srv->send_dropped, skipped);
		mws__srv_op_free(op);
		return;
	}
	if (op->kind == MWS__SOP_AUTH_ANSWER) { /* a handshake, not a connection */
		mws__srv_head_answer(srv, op->id, op->code);
		mws__srv_op_free(op);
		return;
	}
	if (op->kind == MWS__SOP_NOTICE) {
		mws__srv_shared_notice_run(srv, op);
		mws__srv_op_free(op);
		return;
	}
	pthread_mutex_lock(&srv->lock);
	mws__srv_conn *c = mws__idm_get(&srv->map, op->id);
	if (c && op->kind == MWS__SOP_SEND && c->close_state) {
		if (op->counted)
			c->pending_bytes -= op->p->len;
		c = NULL;
	}
	pthread_mutex_unlock(&srv->lock);
	if (!c) { /* ended after the call was accepted */
		/* (moved to another node meanwhile: it follows the session) */
		if (op->kind == MWS__SOP_SEND && mws__srv_shared_forward(srv, op->id, op->p))
			atomic_fetch_add(&srv->send_dropped, 1);
		mws__srv_op_free(op);
		return;
	}
	if (op->kind == MWS__SOP_PAUSE_RX) {
		mws__srv_app_pause(srv, c, op->code);
		mws__srv_op_free(op);
		return;
	}
	if (op->kind == MWS__SOP_CLOSE && c->managed && !c->wsi) {
		mws__srv_v1_close_ghost(srv, c);
		mws__srv_op_free(op);
		return;
	}
	if (op->kind == MWS__SOP_SEND && c->managed) {
		mws__srv_v1_send(srv, c, op);
		return;
	}
	if (op->kind == MWS__SOP_CLOSE) {
		mws__srv_conn_close(srv, c, op->code, op->reason,
		                    MWS_DISCONNECT_SERVER_CLOSED, 0);
		mws__srv_op_free(op);
		return;
	}
	mws__srv_enqueue(c, op);
	mws__srv_kick(srv, c);
}

/* Application requests, in the order they were posted. */
void mws__srv_drain(mws_ctx *ctx, mws__ready *r)
{
	(void)ctx;
	struct mws_server *srv = MWS__CONTAINER_OF(r, struct mws_server, ready);
	pthread_mutex_lock(&srv->lock);
	mws__srv_op *ops = srv->out_head;
	srv->out_head = srv->out_tail = NULL;
	pthread_mutex_unlock(&srv->lock);

	while (ops) {
		mws__srv_op *op = ops;
		ops = op->next;
		op->next = NULL;
		uint64_t seq = op->seq;
		mws__srv_drain_one(srv, op);
		atomic_store(&srv->done_seq, seq); /* sends queued behind it may go */
	}
	mws__srv_shared_flush(srv); /* suspended sessions that got messages */
}

