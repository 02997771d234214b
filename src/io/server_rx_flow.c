/* Receive flow control asked by the application (mws_server_pause_rx):
 * a paused connection is not read, so the kernel's buffers fill and TCP
 * slows its sender, until it is resumed.
 *
 * Reading is off while either we hold output libwebsockets could not
 * write (server_tx.c) or the application paused it. A paused connection
 * cannot read its peer's heartbeats or pongs, so it is not reaped for
 * silence (its clock restarts at resume), and it tells the peer that it
 * is alive with an unsolicited pong (RFC 6455 5.5.3) every second: our
 * client, and any that takes a received frame for life, does not time
 * out. A suspended mws.v1 session keeps its pause for its next
 * connection. */
#include "io/server_io.h"

#define MWS__SRV_KEEPALIVE_MS 1000

void mws__srv_rx_apply(mws__srv_conn *c)
{
	int off = c->rx_paused || c->app_paused;
	if (!c->wsi || off == c->rx_off)
		return;
	/* 0 stops reading (POLLIN) on this wsi, 1 reads again. */
	lws_rx_flow_control(c->wsi, off ? 0 : 1);
	c->rx_off = off;
}

static void mws__srv_keepalive_tick(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, keepalive_sul);
	for (mws__srv_conn *c = srv->conns.next; c != &srv->conns; c = c->next) {
		if (!c->app_paused || !c->wsi || c->close_state)
			continue;
		c->keepalive_due = 1;
		lws_callback_on_writable(c->wsi);
	}
	if (atomic_load(&srv->app_paused) > 0 && !srv->free_cmd)
		mws__timer_in(srv->ctx, &srv->keepalive_sul, MWS__SRV_KEEPALIVE_MS,
		              mws__srv_keepalive_tick);
}

static void mws__srv_app_count(struct mws_server *srv, int delta)
{
	int now = atomic_fetch_add(&srv->app_paused, delta) + delta;
	if (delta > 0 && now == 1 && !srv->free_cmd)
		mws__timer_in(srv->ctx, &srv->keepalive_sul, MWS__SRV_KEEPALIVE_MS,
		              mws__srv_keepalive_tick);
	if (now == 0)
		mws__timer_cancel(&srv->keepalive_sul);
}

void mws__srv_app_pause(struct mws_server *srv, mws__srv_conn *c, int paused)
{
	paused = paused != 0;
	if (c->app_paused == paused)
		return;
	c->app_paused = paused;
	if (!c->wsi)
		return; /* a suspended session: its next connection starts so */
	mws__srv_app_count(srv, paused ? 1 : -1);
	if (!paused)
		c->last_seen_ms = mws__now_ms(); /* silence counts from now */
	mws__srv_rx_apply(c);
}

void mws__srv_app_pause_move(struct mws_server *srv, mws__srv_conn *from, mws__srv_conn *to)
{
	int paused = from->app_paused;
	if (!paused)
		return;
	from->app_paused = 0;
	if (from->wsi)
		mws__srv_app_count(srv, -1);
	if (to)
		mws__srv_app_pause(srv, to, 1);
}

int mws__srv_keepalive_write(struct mws_server *srv, mws__srv_conn *c)
{
	if (!c->keepalive_due || c->close_state)
		return 0;
	c->keepalive_due = 0;
	unsigned char buf[LWS_PRE + 1];
	if (lws_write(c->wsi, buf + LWS_PRE, 0, LWS_WRITE_PONG) < 0)
		return -1;
	if (srv->tls) /* one write per WRITEABLE */
		lws_callback_on_writable(c->wsi);
	return 1;
}
