/* The send side on the I/O thread: the ring drained in batches into the
 * connection's queue, written as the socket allows; heartbeats ride along. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "core/json_heartbeat.h"
#include "core/ws_frame.h"
#include "io/client_io.h"
#include "io/tx_batch.h"

#define MWS__DRAIN_BATCH 64
/* Without TLS several writes fit in one WRITEABLE; libwebsockets 4.1.6 lost
 * data under TLS with more than one, so TLS gets exactly one. */
#define MWS__WRITES_PER_WRITEABLE 32
/* A batch of frames up to this size is written without asking the socket
 * for its room (what libwebsockets would send in one call by default);
 * past it, a batch grows to the socket's room, up to MWS__CLIENT_WRITE_MAX.
 * A message whose frame fits here is small: it may be written at once. */
#define MWS__BATCH_BASE (4096u + LWS_PRE + 4u)
/* A message too large for the socket's room goes out as fragments of what
 * the socket takes (at least MWS__TX_FRAGMENT_MIN), one per WRITEABLE; under
 * TLS at most MWS__TX_FRAGMENT_TLS. tx_frag holds either one fragment or one
 * batch, with its frame headers (MWS__FRAME_HEAD_MAX each). */
#define MWS__TX_FRAGMENT_TLS MWS__TX_BATCH_CAP
#define MWS__TX_FRAGMENT_MIN 512u
#define MWS__FRAME_HEAD_MAX 14u
/* How much socket room one measurement may count on: several batches. */
#define MWS__ROOM_ASK (1024u * 1024u)

static void mws__client_written(struct mws_client *c, mws__msg *m, int sent)
{
	atomic_fetch_sub(&c->pending_msgs, 1);
	atomic_fetch_sub(&c->pending_bytes, m->len);
	if (sent) {
		/* Plain WebSocket has no acks: a written message is settled. */
		atomic_store(&c->v1.acked_number, ++c->v1.settled);
		atomic_fetch_add_explicit(&c->msgs_out, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->bytes_out, m->len, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&c->msgs_discarded, 1, memory_order_relaxed);
	}
	mws__msg_pool_put(&c->pool, m); /* the sender fills it again */
	if (!atomic_load_explicit(&c->pending_msgs, memory_order_relaxed))
		mws__msg_pool_shrink(&c->pool, MWS__CLIENT_POOL_KEEP); /* the burst is over */
	mws__client_sent_note(c);
}

size_t mws__client_pool_limit(size_t queue_max_bytes)
{
	size_t half = queue_max_bytes / 2;
	return half < MWS__CLIENT_POOL_KEEP ? MWS__CLIENT_POOL_KEEP
	       : half > MWS__CLIENT_POOL_MAX ? MWS__CLIENT_POOL_MAX : half;
}

void mws__client_discard_one(struct mws_client *c, mws__msg *m)
{
	mws__client_written(c, m, 0);
}

/* Moves what the ring holds to the queue; returns how many. */
size_t mws__client_take_ring(struct mws_client *c)
{
	void *batch[MWS__DRAIN_BATCH];
	size_t total = 0, n;
	while ((n = mws__spsc_pop_batch(&c->ring, batch, MWS__DRAIN_BATCH)) > 0) {
		for (size_t i = 0; i < n; i++)
			mws__msgq_push(&c->txq, batch[i]);
		total += n;
	}
	c->taken += total;
	/* Before anything sent after the release can be written. */
	if (atomic_exchange(&c->release_pending, 0))
		mws__client_queue_release(c, atomic_load(&c->release_upto));
	return total;
}

void mws__client_discard_pending(struct mws_client *c)
{
	mws__client_take_ring(c);
	mws__msg *m;
	while ((m = mws__msgq_pop(&c->held)))
		mws__client_written(c, m, 0);
	while ((m = mws__msgq_pop(&c->txq)))
		mws__client_written(c, m, 0);
}

void mws__client_drain(mws_ctx *ctx, mws__ready *r)
{
	(void)ctx;
	struct mws_client *c = MWS__CONTAINER_OF(r, struct mws_client, ready);
	if (c->state == MWS_STATE_CLOSED) {
		mws__client_discard_pending(c); /* a send that raced close() */
		return;
	}
	if (c->set.no_offline_queue && c->state != MWS_STATE_CONNECTED) {
		mws__client_discard_pending(c); /* accepted just before the drop */
		return;
	}
	mws__client_rx_flow_apply(c);
	if (atomic_exchange(&c->creds_ready, 0))
		mws__client_credentials_resume(c);
	if (mws__client_take_ring(c))
		mws__client_kick(c);
}

void mws__client_send_local(struct mws_client *c, mws__msg *m)
{
	/* Everything numbered before it is in the ring: it goes first; but
	 * not from the CONNECTED callback, whose sends go before the messages
	 * that waited (set aside), which other threads' sends must follow. */
	if (!c->in_opened)
		mws__client_take_ring(c);
	mws__msgq_push(&c->txq, m);
	c->taken++;
	if (c->state == MWS_STATE_CLOSED ||
	    (c->set.no_offline_queue && c->state != MWS_STATE_CONNECTED)) {
		mws__client_discard_pending(c); /* as mws__client_drain() would */
	}
}

static int mws__client_write_ping(struct mws_client *c, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 8];
	uint64_t now = mws__now_us();
	for (int i = 0; i < 8; i++)
		buf[LWS_PRE + i] = (unsigned char)(now >> (56 - 8 * i));
	c->ping_due = 0;
	return lws_write(wsi, buf + LWS_PRE, 8, LWS_WRITE_PING) < 8 ? -1 : 0;
}

/* Unix epoch milliseconds, what a peer's Date.now() compares with. */
static uint64_t mws__wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int mws__client_write_json_hb(struct mws_client *c, struct lws *wsi)
{
	char buf[LWS_PRE + 256], own[24];
	/* The server's id exactly as its connection_ack gave it; without one,
	 * our own count of connections. */
	const char *id = c->server_conn_id_json;
	if (!*id) {
		snprintf(own, sizeof own, "%llu",
		         (unsigned long long)atomic_load(&c->connection_id));
		id = own;
	}
	int n = mws__jhb_format(buf + LWS_PRE, sizeof buf - LWS_PRE, mws__wall_ms(), id);
	c->json_hb_due = 0;
	if (n < 0)
		return -1;
	return lws_write(wsi, (unsigned char *)buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n
		? -1 : 0;
}

/* How much the kernel takes now without a short write: a short write
 * leaves bytes in libwebsockets' own buffer, and a connection closing with
 * bytes there waits 5 s in flushing-before-close. SO_SNDBUF reads back
 * doubled for the kernel's overhead: half of it is payload room. */
static size_t mws__client_room(struct lws *wsi, size_t cap, int share)
{
	int fd = lws_get_socket_fd(wsi), sndbuf = 0, queued = 0;
	socklen_t len = sizeof sndbuf;
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) ||
	    ioctl(fd, SIOCOUTQ, &queued))
		return MWS__TX_BATCH_CAP < cap ? MWS__TX_BATCH_CAP : cap;
	long room = (long)sndbuf / share - queued;
	if (room < (long)MWS__TX_FRAGMENT_MIN)
		return MWS__TX_FRAGMENT_MIN;
	return room < (long)cap ? (size_t)room : cap;
}

size_t mws__client_socket_room(struct lws *wsi, size_t cap)
{
	return mws__client_room(wsi, cap, 2);
}

static unsigned char *mws__client_tx_buf(struct mws_client *c)
{
	if (!c->tx_frag)
		c->tx_frag = malloc(LWS_PRE + MWS__CLIENT_WRITE_MAX);
	return c->tx_frag ? c->tx_frag + LWS_PRE : NULL;
}

/* Frames and masks the next fragment of a message too large for the
 * socket's room now, and writes it. Handed over whole, libwebsockets 4.1.6
 * buffers the rest, and a peer that stops reading and half-closes then
 * keeps the I/O thread spinning in flushing-before-close. Framed here (not
 * by lws_write) so that its mask comes from our pool, not from a read of
 * /dev/urandom per frame. Returns 1 when the message is complete, 0 when
 * more is due, -1. */
static int mws__client_write_fragment(struct mws_client *c, struct lws *wsi, mws__msg *m)
{
	unsigned char *out = mws__client_tx_buf(c), key[4];
	if (!out || mws__tx_mask(key))
		return -1;
	size_t left = m->len - c->tx_off;
	size_t n = mws__client_socket_room(wsi, c->url.tls ? MWS__TX_FRAGMENT_TLS
	                                                   : MWS__CLIENT_WRITE_MAX - MWS__FRAME_HEAD_MAX);
	if (n > left)
		n = left;
	int op = c->tx_off ? MWS__OP_CONTINUATION
	                   : m->type == MWS_MSG_BINARY ? MWS__OP_BINARY : MWS__OP_TEXT;
	size_t used = mws__frame_put(out, op, n == left, key,
	                             (const unsigned char *)mws__msg_payload(m) + c->tx_off, n);
	if (mws__tx_write_frames(wsi, out, used))
		return -1;
	c->tx_room = c->tx_room > used ? c->tx_room - used : 0;
	c->tx_off += n;
	if (c->tx_off < m->len)
		return 0;
	c->tx_off = 0;
	return 1;
}

/* Frames the messages at the head of txq into tx_frag, each masked with its
 * own key, and writes them at once; pops and settles them once
 * libwebsockets has them all. Past MWS__BATCH_BASE (never under TLS) the
 * batch grows only as far as the socket takes it now, so that several
 * 4 KiB messages leave in one send() and none waits in libwebsockets'
 * buffer. Returns how many, 0 when the first does not fit (it goes as
 * fragments), or -1. */
static int mws__client_write_batch(struct mws_client *c, struct lws *wsi)
{
	unsigned char *out = mws__client_tx_buf(c);
	if (!out)
		return -1;
	size_t cap = MWS__BATCH_BASE, used = 0;
	int n = 0, asked = c->url.tls;
	for (mws__msg *m = c->txq.head; m; m = m->next) {
		size_t need = mws__frame_header_len(m->len, 1) + m->len;
		if (used + need > cap && !asked) {
			asked = 1;
			/* The room only grows while the socket drains: measured once
			 * for several batches, less what each one wrote. Counted
			 * against all of SO_SNDBUF, not half: a batch is whole
			 * messages, and a short write of one only waits in
			 * libwebsockets' buffer as a 4 KiB one would (at half, a
			 * slow reader held the batches to one message each). */
			if (c->tx_room < MWS__CLIENT_WRITE_MAX)
				c->tx_room = mws__client_room(wsi, MWS__ROOM_ASK, 1);
			size_t room = c->tx_room < MWS__CLIENT_WRITE_MAX ? c->tx_room
			                                                 : MWS__CLIENT_WRITE_MAX;
			if (room > cap)
				cap = room;
		}
		if (used + need > cap)
			break;
		unsigned char key[4];
		if (mws__tx_mask(key))
			return -1;
		used += mws__frame_put(out + used,
		                       m->type == MWS_MSG_BINARY ? MWS__OP_BINARY : MWS__OP_TEXT, 1,
		                       key, mws__msg_payload(m), m->len);
		n++;
	}
	if (!n)
		return 0;
	if (mws__tx_write_frames(wsi, out, used))
		return -1; /* the socket failed: the close path takes over */
	c->tx_room = c->tx_room > used ? c->tx_room - used : 0;
	for (int i = 0; i < n; i++)
		mws__client_written(c, mws__msgq_pop(&c->txq), 1);
	return n;
}

/* Fits in a batch without asking the socket. */
static int mws__client_small(const mws__msg *m)
{
	return mws__frame_header_len(m->len, 1) + m->len <= MWS__BATCH_BASE;
}

void mws__client_want_writable(struct mws_client *c, struct lws *wsi)
{
	/* Every plain WRITEABLE takes the ring (mws__client_writeable). */
	if (lws_callback_on_writable(wsi) == 1 && !c->v1.managed && c->state == MWS_STATE_CONNECTED)
		atomic_store(&c->tx_waiting, 1);
}

/* Paired with the fence in mws__client_wake(): a send either sees the flag
 * down and wakes the loop, or its message is in the ring this WRITEABLE
 * takes. A writer choked by the socket is then not woken for every send
 * only to find it still choked. */
void mws__client_tx_arrived(struct mws_client *c)
{
	if (atomic_load_explicit(&c->tx_waiting, memory_order_relaxed)) {
		atomic_store(&c->tx_waiting, 0);
		atomic_thread_fence(memory_order_seq_cst);
	}
}

/* New messages in txq: written at once when nothing is in the way, which
 * saves a trip round the poll loop (for a message sent from the
 * application, the wake's and POLLOUT's); else, or for what is left, at
 * the next WRITEABLE. Not under TLS (one write per WRITEABLE there), not
 * while libwebsockets holds output or a fragment, a ping or a JSON
 * heartbeat is under way, not once either side has begun to close, not
 * after data was read since the last WRITEABLE (rx_seen, which also covers
 * a send from on_message): libwebsockets 4.1.6 owes a pong for a ping read
 * before that data and sends it only at POLLOUT, before our WRITEABLE
 * (ops-ws.c, rops_handle_POLLOUT_ws), and tells nobody; a message echoed
 * from another thread must not overtake it (Autobahn 5.6, 5.7, 5.19).
 * Unless the socket stayed quiet (pollout_idle): libwebsockets asks for
 * POLLOUT when it reads a ping, and we hear of every such change, so
 * without one since the last WRITEABLE (which found POLLOUT off and no
 * pong owed) it owes none, and a send from on_message goes at once. */
void mws__client_kick(struct mws_client *c)
{
	struct lws *wsi = c->wsi;
	if (!wsi || c->state != MWS_STATE_CONNECTED)
		return;
	if (!c->url.tls && !c->v1.managed && c->phase == MWS__PHASE_OPEN && c->txq.head &&
	    (!c->rx_seen || c->pollout_idle) &&
	    !c->tx_off && !c->ping_due && !c->json_hb_due && !c->peer_close_code &&
	    !c->own_close_code && !lws_partial_buffered(wsi) && mws__client_small(c->txq.head)) {
		uint64_t settled0 = c->v1.settled;
		mws__client_write_batch(c, wsi); /* a failed socket fails again at WRITEABLE */
		mws__client_v1_receipts(c, settled0); /* plain receipts: written */
	}
	if (c->txq.head)
		mws__client_want_writable(c, wsi);
}

int mws__client_writeable(struct mws_client *c, struct lws *wsi)
{
	int budget = c->url.tls ? 1 : MWS__WRITES_PER_WRITEABLE;
	if (c->v1.managed)
		return mws__client_v1_writeable(c, wsi);
	if (c->state != MWS_STATE_CONNECTED)
		return 0;
	if (c->ping_due) { /* a control frame may go between fragments */
		if (mws__client_write_ping(c, wsi))
			return -1;
		budget--;
	}
	/* A data frame may not: the JSON heartbeat waits for the message. */
	if (budget > 0 && c->json_hb_due && !c->tx_off) {
		if (mws__client_write_json_hb(c, wsi))
			return -1;
		budget--;
	}
	/* A message takes ownership only once lws_write() has it all. A write
	 * the socket did not take whole leaves the rest with libwebsockets:
	 * then nothing more until it has flushed (no poll per message, as
	 * lws_send_pipe_choked() would make). */
	mws__client_take_ring(c);
	while (budget-- > 0 && c->txq.head && !lws_partial_buffered(wsi)) {
		int n = c->tx_off ? 0 : mws__client_write_batch(c, wsi);
		if (n < 0)
			return -1;
		if (n > 0)
			continue;
		mws__msg *m = c->txq.head;
		int done = mws__client_write_fragment(c, wsi, m);
		if (done < 0)
			return -1;
		if (!done)
			break; /* the next fragment when the socket takes more */
		mws__msgq_pop(&c->txq);
		mws__client_written(c, m, 1);
	}
	if (c->txq.head || c->ping_due || c->json_hb_due)
		mws__client_want_writable(c, wsi);
	return 0;
}

/* ---- heartbeats ---- */

/* Heartbeats wake the loop on a grid that every client of a context
 * shares (multiples of a tick on the monotonic clock): a heartbeat due
 * within the current tick goes now, early by less than a tick and never
 * late, so a zombie is still found within interval + timeout. Thousands of
 * clients on one context then wake their loop a few times a second instead
 * of once per client, and their pings reach the server in bursts that one
 * poll(2) scan serves. A sixteenth of the interval, at most 250 ms. */
#define MWS__HB_TICK_MAX_MS 250

static uint64_t mws__hb_tick_ms(const struct mws_client *c)
{
	uint64_t t = (uint64_t)c->set.heartbeat_interval_ms / 16;
	return t > MWS__HB_TICK_MAX_MS ? MWS__HB_TICK_MAX_MS : t;
}

static void mws__client_hb_tick(mws__timer *sul);

/* Schedules the next look at `next` (from mws__hb_poll): a send on the
 * grid at or before it, a timeout check exactly. Each context's grid has a
 * random phase, so that processes full of clients do not beat together. */
static void mws__client_hb_arm(struct mws_client *c, uint64_t now, uint64_t next)
{
	uint64_t tick = mws__hb_tick_ms(c), at = next;
	if (tick && next == c->hb.next_send_ms) {
		uint64_t phase = c->ctx->hb_phase % tick;
		uint64_t on_grid = next >= phase ? next - (next - phase) % tick : next;
		if (on_grid > now)
			at = on_grid;
	}
	mws__timer_in(c->ctx, &c->hb_sul, at > now ? at - now : 1, mws__client_hb_tick);
}

static void mws__client_hb_tick(mws__timer *sul)
{
	struct mws_client *c = MWS__CONTAINER_OF(sul, struct mws_client, hb_sul);
	if (c->state != MWS_STATE_CONNECTED || !c->wsi)
		return;
	uint64_t now = mws__now_ms(), next = now, tick = mws__hb_tick_ms(c);
	int action = mws__hb_poll(&c->hb, now, &next);
	if (action == MWS__HB_WAIT && c->hb.next_send_ms < now + tick)
		action = MWS__HB_SEND; /* due within this tick: early, not late */
	switch (action) {
	case MWS__HB_SEND:
		mws__hb_sent(&c->hb, now, mws__now_us());
		atomic_fetch_add(&c->heartbeats_sent, 1);
		if (c->set.heartbeat_mode == MWS_HEARTBEAT_JSON && !c->v1.managed)
			c->json_hb_due = 1; /* mws.v1 has its own ping envelope */
		else
			c->ping_due = 1;
		lws_callback_on_writable(c->wsi);
		mws__hb_poll(&c->hb, now, &next);
		break;
	case MWS__HB_TIMED_OUT:
		if (c->last_rx_ms >= c->hb.sent_at_ms || c->rx_applied) {
			/* No answer, but data came after the heartbeat (or we do not
			 * read, by request): alive. */
			mws__hb_acked(&c->hb, mws__now_us());
			mws__hb_poll(&c->hb, now, &next);
			break;
		}
		atomic_fetch_add(&c->heartbeat_timeouts, 1);
		mws__client_dropped(c, MWS__CODE_HEARTBEAT_TIMEOUT, "heartbeat timeout", 17, 0);
		return;
	default:
		break;
	}
	mws__client_hb_arm(c, now, next);
}

void mws__client_heartbeat_start(struct mws_client *c)
{
	if (c->set.heartbeat_mode == MWS_HEARTBEAT_OFF)
		return;
	uint64_t now = mws__now_ms();
	mws__hb_start(&c->hb, c->set.heartbeat_interval_ms, c->set.heartbeat_timeout_ms, now);
	mws__client_hb_arm(c, now, c->hb.next_send_ms);
}

/* Any message from the peer proves the connection alive (checked when the
 * heartbeat times out); only an answer to a heartbeat gives a round trip. */
void mws__client_heartbeat_alive(struct mws_client *c, int is_ack)
{
	if (!is_ack) {
		c->last_rx_ms = mws__now_ms();
		return;
	}
	int64_t rtt = mws__hb_acked(&c->hb, mws__now_us());
	if (rtt >= 0) {
		pthread_mutex_lock(&c->stats_lock);
		mws__hist_add(&c->rtt_us, (uint64_t)rtt);
		pthread_mutex_unlock(&c->stats_lock);
		/* Nothing outstanding: the timer set for the timeout check moves
		 * to the next send, on the grid (one wake an interval, not two). */
		uint64_t now = mws__now_ms(), next = now;
		if (c->state == MWS_STATE_CONNECTED && c->wsi &&
		    mws__hb_poll(&c->hb, now, &next) == MWS__HB_WAIT)
			mws__client_hb_arm(c, now, next);
	}
}
