/* The server's libwebsockets protocol: one handler for the WebSocket
 * connections and for plain HTTP (/healthz, /metrics) on the same port,
 * the admission checks at the handshake, and the vhost itself. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/server_io.h"

/* libwebsockets' own idle ping would interfere with ours. */
static const lws_retry_bo_t mws__srv_no_idle_policy = {
	.secs_since_valid_ping = 65535,
	.secs_since_valid_hangup = 65535,
};

static struct mws_server *mws__srv_of(struct lws *wsi)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	const struct lws_protocols *prot = lws_get_protocol(wsi);
	if (!vh || !prot)
		return NULL;
	struct mws_server **slot = lws_protocol_vh_priv_get(vh, prot);
	return slot ? *slot : NULL;
}

void mws__srv_info_fill(mws__srv_info *info, struct lws *wsi)
{
	memset(info, 0, sizeof *info);
	info->pub.size = sizeof info->pub;
	info->wsi = wsi;
	lws_get_peer_simple(wsi, info->ip, sizeof info->ip);
	if (!strncmp(info->ip, "::ffff:", 7) && strchr(info->ip + 7, '.'))
		memmove(info->ip, info->ip + 7, strlen(info->ip + 7) + 1);
	if (lws_hdr_copy(wsi, info->path, sizeof info->path, WSI_TOKEN_GET_URI) < 0)
		info->path[0] = '\0';
	size_t n = strlen(info->path);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0 && n + 2 < sizeof info->path) {
		info->path[n] = '?';
		if (lws_hdr_copy(wsi, info->path + n + 1, (int)(sizeof info->path - n - 1),
		                 WSI_TOKEN_HTTP_URI_ARGS) < 0)
			info->path[n] = '\0';
	}
	if (lws_hdr_copy(wsi, info->origin, sizeof info->origin, WSI_TOKEN_ORIGIN) < 0)
		info->origin[0] = '\0';
	if (lws_hdr_copy(wsi, info->subprotocol, sizeof info->subprotocol, WSI_TOKEN_PROTOCOL) < 0)
		info->subprotocol[0] = '\0';
	info->pub.peer_ip = info->ip;
	info->pub.path = info->path;
	info->pub.origin = info->origin;
	info->pub.subprotocol = info->subprotocol;
}

MWS_API int mws_conn_info_header(const mws_conn_info *pub, const char *name, char *buf,
                                 size_t cap)
{
	if (!pub || !name || !*name || !buf || cap == 0 || cap > INT32_MAX ||
	    strlen(name) > 120 || strpbrk(name, ": \r\n"))
		return MWS_EINVAL;
	const mws__srv_info *info = MWS__CONTAINER_OF(pub, mws__srv_info, pub);
	struct lws *wsi = info->wsi;
	buf[0] = '\0';
	char key[128];
	size_t kn = strlen(name);
	for (size_t i = 0; i < kn; i++)
		key[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	key[kn] = ':';
	key[kn + 1] = '\0';
	/* Known headers are tokens; the rest are "custom" headers. */
	for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
		const char *s = (const char *)lws_token_to_string((enum lws_token_indexes)t);
		if (!s || strcasecmp(s, key))
			continue;
		int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
		if (len <= 0)
			return 0;
		if ((size_t)len >= cap)
			return MWS_ETOOBIG;
		int n = lws_hdr_copy(wsi, buf, (int)cap, (enum lws_token_indexes)t);
		return n < 0 ? 0 : n;
	}
	int len = lws_hdr_custom_length(wsi, key, (int)kn + 1);
	if (len <= 0)
		return 0;
	if ((size_t)len >= cap)
		return MWS_ETOOBIG;
	int n = lws_hdr_custom_copy(wsi, buf, (int)cap, key, (int)kn + 1);
	return n < 0 ? 0 : n;
}

/* 0 to let the handshake go on, or the HTTP status refusing it. */
static int mws__srv_admit(struct mws_server *srv, struct lws *wsi)
{
	mws__srv_info info;
	mws__srv_info_fill(&info, wsi);
	int reason = -1, status = 0;
	if (srv->draining || srv->free_cmd) {
		reason = MWS_REFUSE_SHUTDOWN;
		status = 503;
	} else if (srv->set.rate_per_sec > 0 &&
	           !mws__ipl_allow(&srv->limiter, info.ip, mws__now_ms())) {
		reason = MWS_REFUSE_RATE_LIMITED;
		status = 429;
	} else if ((size_t)srv->live >= srv->set.max_connections) {
		reason = MWS_REFUSE_MAX_CONNECTIONS;
		status = 503;
	} else if (srv->set.origins && info.origin[0]) {
		reason = MWS_REFUSE_ORIGIN;
		status = 403;
		for (size_t i = 0; i < srv->set.origin_count; i++)
			if (!strcasecmp(srv->set.origins[i], info.origin))
				reason = -1, status = 0;
	}
	if (reason < 0 && srv->cbs.on_auth) {
		int rc;
		MWS__SRV_CALLBACK(srv, rc = srv->cbs.on_auth(srv, &info.pub, srv->user_data));
		if (rc) {
			reason = MWS_REFUSE_AUTH;
			status = rc >= 400 && rc <= 599 ? rc : 403;
		}
	}
	if (reason < 0)
		return 0;
	atomic_fetch_add(&srv->refused[reason], 1);
	mws__log(srv->ctx, MWS_LOG_INFO, "server %d: refused %s (HTTP %d)",
	         atomic_load(&srv->port), info.ip, status);
	return status;
}

static int mws__srv_http_reply(struct lws *wsi, mws__srv_pss *pss, int status,
                               unsigned char *body, size_t len, const char *type)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
	                                  *end = hdr + sizeof hdr - 1;
	if (lws_add_http_common_headers(wsi, (unsigned int)status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                 (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end)) {
		free(body);
		return -1;
	}
	free(pss->http_body);
	pss->http_body = body;
	pss->http_len = len;
	lws_callback_on_writable(wsi);
	return 0;
}

static unsigned char *mws__srv_body(const char *text, size_t *len)
{
	*len = strlen(text);
	unsigned char *b = malloc(LWS_PRE + *len);
	if (b)
		memcpy(b + LWS_PRE, text, *len);
	return b;
}

static int mws__srv_http(struct mws_server *srv, struct lws *wsi, mws__srv_pss *pss,
                         const char *path)
{
	size_t len = 0;
	unsigned char *body = NULL;
	int status = 200;
	const char *type = "text/plain; charset=utf-8";
	if (srv && !strcmp(path, "/healthz")) {
		int down = srv->draining || srv->free_cmd;
		status = down ? 503 : 200;
		body = mws__srv_body(down ? "draining\n" : "ok\n", &len);
	} else if (srv && !strcmp(path, "/metrics")) {
		body = mws__srv_metrics(srv, &len);
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if (!body)
		return -1;
	return mws__srv_http_reply(wsi, pss, status, body, len, type);
}

static int mws__srv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
	mws_ctx *ctx = lws_context_user(lws_get_context(wsi));
	mws__srv_pss *pss = user;
	struct mws_server *srv;
	int status;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		mws__ctx_on_wake(ctx, wsi);
		return 0; /* non-zero would close the wake pipe */

	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		srv = mws__srv_of(wsi);
		/* A client that never finishes its upgrade is dropped. */
		if (srv)
			lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE,
			                (int)((srv->set.handshake_timeout_ms + 999) / 1000));
		return 0;

	case LWS_CALLBACK_HTTP:
		return mws__srv_http(mws__srv_of(wsi), wsi, pss, in ? (const char *)in : "");

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss || !pss->http_body)
			return 0;
		{
			unsigned char *b = pss->http_body;
			size_t n = pss->http_len;
			pss->http_body = NULL;
			int w = lws_write(wsi, b + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
			free(b);
			if (w < (int)n)
				return -1;
		}
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss) {
			free(pss->http_body);
			pss->http_body = NULL;
		}
		return 0;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		srv = mws__srv_of(wsi);
		if (!srv)
			return -1;
		if (pss)
			memset(pss, 0, sizeof *pss); /* CLOSED comes even if refused */
		status = mws__srv_admit(srv, wsi);
		if (!status)
			return 0;
		lws_return_http_status(wsi, (unsigned int)status, NULL);
		return -1;

	case LWS_CALLBACK_ESTABLISHED:
		srv = mws__srv_of(wsi);
		if (!srv || !pss)
			return -1;
		pss->conn = mws__srv_conn_open(srv, wsi);
		return pss->conn ? 0 : -1;

	case LWS_CALLBACK_RECEIVE:
		srv = mws__srv_of(wsi);
		if (!srv || !pss || !pss->conn)
			return 0;
		return mws__srv_receive(srv, pss->conn, in, len);

	case LWS_CALLBACK_RECEIVE_PONG:
		srv = mws__srv_of(wsi);
		if (srv && pss && pss->conn)
			mws__srv_pong(srv, pss->conn, in, len);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		srv = mws__srv_of(wsi);
		if (!srv || !pss || !pss->conn)
			return -1;
		return mws__srv_writeable(srv, pss->conn);

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (mws__srv_of(wsi) && pss && pss->conn) {
			mws__srv_conn *c = pss->conn;
			const unsigned char *b = in;
			if (len >= 2) {
				c->peer_code = b[0] << 8 | b[1];
				size_t n = len - 2;
				if (n >= sizeof c->peer_reason)
					n = sizeof c->peer_reason - 1;
				memcpy(c->peer_reason, b + 2, n);
				c->peer_reason[n] = '\0';
			} else {
				c->peer_code = 1005; /* no status received */
			}
		}
		return 0;

	case LWS_CALLBACK_CLOSED:
		srv = mws__srv_of(wsi);
		if (pss && pss->conn) {
			mws__srv_conn *c = pss->conn;
			pss->conn = NULL;
			if (srv)
				mws__srv_conn_closed(srv, c);
		}
		return 0;

	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* One protocol for HTTP and WebSocket: a handshake that names no (or an
 * unknown) subprotocol lands here too. */
static const struct lws_protocols mws__server_protocols[] = {
	{"mws-server", mws__srv_callback, sizeof(mws__srv_pss), 4096, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}};

static int mws__is_ipv4_literal(const char *s)
{
	struct in_addr a;
	return s && inet_pton(AF_INET, s, &a) == 1;
}

/* libwebsockets keeps the iface pointer beyond the server's life (the
 * vhost is freed later): interned for the life of the process, one copy
 * per distinct value. */
static const char *mws__intern(const char *s)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct mws__interned {
		struct mws__interned *next;
		char s[];
	} *head;
	if (!s)
		return NULL;
	pthread_mutex_lock(&lock);
	struct mws__interned *e = head;
	while (e && strcmp(e->s, s))
		e = e->next;
	if (!e && (e = malloc(sizeof *e + strlen(s) + 1))) {
		strcpy(e->s, s);
		e->next = head;
		head = e;
	}
	pthread_mutex_unlock(&lock);
	return e ? e->s : NULL;
}

int mws__server_listen(struct mws_server *srv)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = srv->set.port;
	info.iface = mws__intern(srv->set.iface);
	if (srv->set.iface && !info.iface)
		return MWS_ENOMEM;
	info.protocols = mws__server_protocols;
	/* libwebsockets keeps this pointer, and frees a vhost after the
	 * server is gone: a string literal outlives both. */
	info.vhost_name = "mws-server";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	/* With IPv6 on, an IPv4 iface would still bind every interface. */
	if (mws__is_ipv4_literal(srv->set.iface))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (srv->set.cert_file) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = srv->set.cert_file;
		info.ssl_private_key_filepath = srv->set.key_file;
		srv->tls = 1;
	}
	unsigned hs = (unsigned)((srv->set.handshake_timeout_ms + 999) / 1000);
	info.timeout_secs = hs;
	info.timeout_secs_ah_idle = hs;
	info.keepalive_timeout = (int)hs;
	info.retry_and_idle_policy = &mws__srv_no_idle_policy;
	info.user = srv;
	srv->vh = lws_create_vhost(srv->ctx->lws, &info);
	if (!srv->vh)
		return MWS_ELISTEN;
	srv->slot = lws_protocol_vh_priv_zalloc(srv->vh, &mws__server_protocols[0],
	                                        sizeof *srv->slot);
	if (!srv->slot) {
		lws_vhost_destroy(srv->vh);
		srv->vh = NULL;
		return MWS_ENOMEM;
	}
	*srv->slot = srv;
	atomic_store(&srv->port, lws_get_vhost_listen_port(srv->vh));
	return 0;
}

void mws__server_unlisten(struct mws_server *srv)
{
	if (!srv->vh)
		return;
	/* Callbacks still due for this vhost find no server from here on. */
	*srv->slot = NULL;
	srv->slot = NULL;
	lws_vhost_destroy(srv->vh);
	srv->vh = NULL;
}
