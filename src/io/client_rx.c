/* The receive side on the I/O thread: fragments rebuilt into messages,
 * JSON heartbeat answers taken out, the rest handed to the application. */
#include <string.h>

#include "core/json_heartbeat.h"
#include "io/client_io.h"

void mws__client_rx_reset(struct mws_client *c) { mws__reasm_free(&c->rx); }

/* In JSON heartbeat mode the library owns the heartbeat protocol. */
static int mws__client_swallow_json(struct mws_client *c, const void *data, size_t len)
{
	mws__jhb_msg msg;
	switch (mws__jhb_parse(data, len, &msg)) {
	case MWS__JHB_ACK:
		mws__client_heartbeat_alive(c, 1);
		return 1;
	case MWS__JHB_CONNECTION_ACK:
		pthread_mutex_lock(&c->stats_lock);
		memcpy(c->server_conn_id, msg.connection_id, sizeof c->server_conn_id);
		memcpy(c->server_conn_id_json, msg.connection_id_json,
		       sizeof c->server_conn_id_json);
		pthread_mutex_unlock(&c->stats_lock);
		return 1;
	default:
		return 0;
	}
}

static void mws__client_deliver(struct mws_client *c, const void *data, size_t len, int type)
{
	atomic_fetch_add_explicit(&c->msgs_in, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->bytes_in, len, memory_order_relaxed);
	if (type == MWS_MSG_TEXT && c->set.heartbeat_mode == MWS_HEARTBEAT_JSON &&
	    mws__client_swallow_json(c, data, len))
		return;
	mws__client_heartbeat_alive(c, 0);
	mws__client_hand_over(c, data, len, type);
}

int mws__client_receive(struct mws_client *c, struct lws *wsi, const void *in, size_t len)
{
	const void *msg;
	size_t n;
	int type = lws_frame_is_binary(wsi) ? MWS_MSG_BINARY : MWS_MSG_TEXT;
	size_t limit = c->set.max_message_bytes;
	if (c->v1.managed) /* an envelope's overhead; batches of up to 64 KiB */
		limit = limit < MWS__SESS_BATCH_MAX_BYTES ? MWS__SESS_BATCH_MAX_BYTES + 64 : limit + 64;
	switch (mws__reasm_feed(&c->rx, lws_is_first_fragment(wsi), lws_is_final_fragment(wsi),
	                        type, in, len, limit, &msg, &n)) {
	case MWS__REASM_TOO_BIG:
		mws__client_dropped(c, 1009, "message too big", 15, 0);
		return 0;
	case MWS__REASM_COMPLETE:
		if (c->v1.managed && mws__client_v1_receive(c, msg, n, c->rx.type) != 1)
			return 0;
		if (mws__client_v1_hello_echo(c, msg, n, c->rx.type))
			return 0;
		/* A send from on_message waits for WRITEABLE (rx_seen is set):
		 * a ping read before the message must get its pong first
		 * (libwebsockets sends that one there); at once only if the
		 * socket stayed quiet (pollout_idle, see mws__client_kick). */
		mws__client_deliver(c, msg, n, c->rx.type);
		return 0;
	default:
		return 0;
	}
}
