/* The client side's libwebsockets protocol: one callback that routes each
 * event to the client that owns the socket, and the vhosts clients use. */
#include <stdlib.h>
#include <string.h>

#include "io/client_io.h"

_Static_assert(MWS__MSG_HEADROOM >= LWS_PRE, "message headroom below LWS_PRE");

/* A vhost per CA file: libwebsockets binds trust anchors to a vhost. */
struct mws__ca_vhost {
	struct mws__ca_vhost *next;
	struct lws_vhost *vhost;
	char path[];
};

static struct mws_client *mws__client_of(struct lws *wsi)
{
	return lws_get_opaque_user_data(wsi);
}

/* The socket's last callback: it no longer counts toward a graceful stop. */
static void mws__client_wsi_gone(mws_ctx *ctx, struct mws_client *c)
{
	ctx->live_wsi--;
	if (c)
		c->wsi = NULL;
}

static int mws__client_append_headers(struct mws_client *c, struct lws *wsi, void *in,
                                      size_t len)
{
	unsigned char **p = in, *end = *p + len;
	const char *lists[2] = {c->set.headers, c->creds ? c->creds->headers : NULL};
	for (int l = 0; l < 2; l++) {
		const char *line = lists[l];
		while (line && *line) {
			const char *eol = strpbrk(line, "\r\n");
			size_t n = eol ? (size_t)(eol - line) : strlen(line);
			const char *colon = memchr(line, ':', n);
			if (colon) {
				char name[128];
				size_t nlen = (size_t)(colon - line) + 1; /* lws wants the colon */
				const char *val = colon + 1;
				while (val < line + n && *val == ' ')
					val++;
				if (nlen < sizeof name) {
					memcpy(name, line, nlen);
					name[nlen] = '\0';
					if (lws_add_http_header_by_name(
						    wsi, (const unsigned char *)name,
						    (const unsigned char *)val,
						    (int)(line + n - val), p, end))
						return -1;
				}
			}
			line += n;
			while (*line == '\r' || *line == '\n')
				line++;
		}
	}
	return 0;
}

/* A piece of a message read. The next WRITEABLE proves no pong owed
 * (rx_seen off): asked now, it comes while the application reads this
 * message, so that its answer may be written at once, one trip round the
 * poll loop sooner (or taken from the ring by it, unwoken). Not needed
 * while the socket is quiet (pollout_idle: no pong owed), where an answer
 * from on_message is written at once; asked after the message then, if
 * on_message sent nothing. */
static int mws__client_on_receive(struct mws_client *c, struct lws *wsi, const void *in,
                                  size_t len)
{
	int ask = !c->rx_seen && !c->url.tls && !c->v1.managed;
	int quiet = c->pollout_idle;
	uint64_t taken0 = c->taken;
	if (ask && !quiet)
		mws__client_want_writable(c, wsi);
	c->rx_seen = 1; /* a pong may be owed: see mws__client_kick */
	int rc = mws__client_receive(c, wsi, in, len);
	if (ask && quiet && c->taken == taken0 && c->wsi == wsi && c->state == MWS_STATE_CONNECTED)
		mws__client_want_writable(c, wsi);
	return rc;
}

static int mws__client_callback(struct lws *wsi, enum lws_callback_reasons reason,
                                void *user, void *in, size_t len)
{
	(void)user;
	mws_ctx *ctx = lws_context_user(lws_get_context(wsi));
	struct mws_client *c;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		mws__ctx_on_wake(ctx, wsi);
		return 0; /* non-zero would close the wake pipe */

	case LWS_CALLBACK_GET_THREAD_ID:
		if (mws__ctx_pollfd_changed(ctx, wsi) && (c = mws__client_of(wsi)))
			c->pollout_idle = 0;
		return MWS__IO_THREAD_ID;

	case LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED:
		/* permessage-deflate loops forever on some frames in 4.1.6 */
		return 1;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		c = mws__client_of(wsi);
		mws__client_wsi_gone(ctx, c);
		if (c) {
			const char *why = in ? (const char *)in : "connection error";
			mws__client_dropped(c, MWS__CODE_ABNORMAL, why, strlen(why),
			                    (int)lws_http_client_http_response(wsi));
		}
		return 0;

	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		c = mws__client_of(wsi);
		if (!c)
			return -1;
		mws__client_handshake_started(c);
		return mws__client_append_headers(c, wsi, in, len);

	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c = mws__client_of(wsi);
		if (!c)
			return -1;
		c->wsi = wsi;
		c->pollout_idle = 0; /* quiet only from this socket's first WRITEABLE */
		if (mws__client_v1_established(c) == 0)
			mws__client_opened(c);
		return 0;

	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		/* The response headers are still readable here. */
		c = mws__client_of(wsi);
		if (c)
			mws__client_v1_negotiated(c, wsi);
		return 0;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		c = mws__client_of(wsi);
		if (!c)
			return 0; /* detached: its close is under way */
		return mws__client_on_receive(c, wsi, in, len);

	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		c = mws__client_of(wsi);
		if (c)
			mws__client_heartbeat_alive(c, 1);
		return 0;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		c = mws__client_of(wsi);
		if (!c)
			return -1; /* detached: send the stored close frame */
		{
			c->rx_seen = 0; /* libwebsockets wrote any pong it owed before this */
			/* and turned POLLOUT off: from here, it asks for it again
			 * (for a pong too) only through a change we are told of */
			c->pollout_idle = c->ctx->pollfd_watch;
			mws__client_tx_arrived(c);
			uint64_t settled0 = c->v1.settled;
			int rc = mws__client_writeable(c, wsi);
			mws__client_v1_receipts(c, settled0);
			return rc;
		}

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		c = mws__client_of(wsi);
		if (c && len >= 2) {
			const unsigned char *b = in;
			c->peer_close_code = b[0] << 8 | b[1];
			size_t n = len - 2;
			if (n >= sizeof c->peer_close_reason)
				n = sizeof c->peer_close_reason - 1;
			memcpy(c->peer_close_reason, b + 2, n);
			c->peer_close_reason[n] = '\0';
			c->peer_close_reason_len = n;
		} else if (c) {
			c->peer_close_code = 1005; /* no status received */
		}
		return 0;

	case LWS_CALLBACK_WS_CLIENT_DROP_PROTOCOL:
		/* When libwebsockets refuses a frame (1002, invalid UTF-8: 1007)
		 * it prepares the close frame itself and tells no callback. Here,
		 * just before it is written, is the last moment to read it: a
		 * client's frame is masked in place once written. */
		c = mws__client_of(wsi);
		if (c && c->phase == MWS__PHASE_OPEN && !c->peer_close_code && !c->own_close_code)
			c->own_close_code = mws__ws_own_close(wsi, c->own_close_reason,
			                                      sizeof c->own_close_reason);
		return 0;

	case LWS_CALLBACK_CLIENT_CLOSED:
		c = mws__client_of(wsi);
		mws__client_wsi_gone(ctx, c);
		if (c) {
			int code = c->peer_close_code ? c->peer_close_code : MWS__CODE_ABNORMAL;
			char gw[200];
			/* A goaway's code, whatever lws made of the close frame's. */
			if (mws__client_v1_goaway_close(c, &code, gw, sizeof gw))
				mws__client_dropped(c, code, gw, strlen(gw), 0);
			else if (c->peer_close_code)
				mws__client_dropped(c, code, c->peer_close_reason,
				                    c->peer_close_reason_len, 0);
			else if (c->own_close_code) /* libwebsockets refused a frame */
				mws__client_dropped(c, c->own_close_code, c->own_close_reason,
				                    strlen(c->own_close_reason), 0);
			else
				mws__client_dropped(c, code, "connection lost", 15, 0);
		}
		return 0;

	case LWS_CALLBACK_WSI_DESTROY:
		/* libwebsockets 4.1.6 frees a client wsi waiting for the upgrade
		 * answer at its context timeout (5 s, client-http.c) without
		 * CONNECTION_ERROR or CLIENT_CLOSED: a wsi we still hold here
		 * would be used after free by our own handshake timer. */
		c = mws__client_of(wsi);
		if (c && c->wsi == wsi) {
			mws__client_wsi_gone(ctx, c);
			const char *why = c->phase == MWS__PHASE_HANDSHAKE
				? "handshake timeout (libwebsockets gave up)" : "connection lost";
			mws__client_dropped(c, MWS__CODE_ABNORMAL, why, strlen(why), 0);
		}
		return 0;

	default:
		return 0;
	}
}

static const struct lws_protocols mws__client_protocols[] = {
	/* Per-session data only so that libwebsockets 4.1.6 sends
	 * WS_CLIENT_DROP_PROTOCOL (lib/core-net/close.c: only with user_space).
	 * tx_packet_size: a batch of frames leaves in one send().
	 * rx_buffer_size: what every connection holds to receive into; 0
	 * would mean the context's service buffer, 64 KiB (ctx.c). */
	{"mws-client", mws__client_callback, sizeof(int), MWS__CLIENT_RX_BYTES, 0, NULL,
	 MWS__CLIENT_WRITE_MAX},
	{NULL, NULL, 0, 0, 0, NULL, 0}};

struct lws_vhost *mws__client_vhost_create(mws_ctx *ctx, const char *ca_file)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = mws__client_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.client_ssl_ca_filepath = ca_file;
	info.vhost_name = ca_file ? "mws-client-ca" : "mws-client";
	info.connect_timeout_secs = 3600; /* our own timers decide */
	return lws_create_vhost(ctx->lws, &info);
}

struct lws_vhost *mws__client_vhost_for(mws_ctx *ctx, const char *ca_file)
{
	if (!ca_file)
		return ctx->client_vhost;
	for (struct mws__ca_vhost *v = ctx->ca_vhosts; v; v = v->next)
		if (!strcmp(v->path, ca_file))
			return v->vhost;
	size_t n = strlen(ca_file) + 1;
	struct mws__ca_vhost *v = malloc(sizeof *v + n);
	if (!v)
		return NULL;
	memcpy(v->path, ca_file, n);
	v->vhost = mws__client_vhost_create(ctx, ca_file);
	if (!v->vhost) {
		free(v);
		return NULL;
	}
	v->next = ctx->ca_vhosts;
	ctx->ca_vhosts = v;
	return v->vhost;
}

/* The vhosts themselves go with the libwebsockets context. */
void mws__client_vhosts_forget(mws_ctx *ctx)
{
	while (ctx->ca_vhosts) {
		struct mws__ca_vhost *next = ctx->ca_vhosts->next;
		free(ctx->ca_vhosts);
		ctx->ca_vhosts = next;
	}
}
