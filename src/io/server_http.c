/* Plain HTTP on the server's port: GET /healthz and GET /metrics
 * (Prometheus text), anything else 404. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/server_io.h"

/* ---- /metrics ---- */

unsigned char *mws__srv_metrics(struct mws_server *srv, size_t *len)
{
	static const char *const reasons[MWS_REFUSE_COUNT] = {
		"rate_limited", "max_connections", "origin", "auth", "shutdown"};
	mws__mt mt;
	mws__mt_init(&mt);
	mws__mt_family(&mt, "mws_server_connections", "gauge", "WebSocket connections open now.");
	mws__mt_u64(&mt, "mws_server_connections", NULL, atomic_load(&srv->connections));
	mws__mt_family(&mt, "mws_server_connections_accepted_total", "counter",
	               "WebSocket connections accepted.");
	mws__mt_u64(&mt, "mws_server_connections_accepted_total", NULL, atomic_load(&srv->accepted));
	mws__mt_family(&mt, "mws_server_connections_refused_total", "counter",
	               "Handshakes refused, by reason.");
	for (int i = 0; i < MWS_REFUSE_COUNT; i++) {
		char label[48];
		snprintf(label, sizeof label, "reason=\"%s\"", reasons[i]);
		mws__mt_u64(&mt, "mws_server_connections_refused_total", label,
		            atomic_load(&srv->refused[i]));
	}
	struct {
		const char *name, *help;
		atomic_uint_least64_t *v;
	} counters[] = {
		{"mws_server_connections_reaped_total", "Connections closed with 4000 for silence.", &srv->reaped},
		{"mws_server_messages_too_big_total", "Connections closed with 1009.", &srv->too_big},
		{"mws_server_disconnects_total", "Connections ended, for any reason.", &srv->disconnects},
		{"mws_server_messages_in_total", "Application messages received.", &srv->msgs_in},
		{"mws_server_bytes_in_total", "Application bytes received.", &srv->bytes_in},
		{"mws_server_messages_out_total", "Messages written.", &srv->msgs_out},
		{"mws_server_bytes_out_total", "Bytes written.", &srv->bytes_out},
		{"mws_server_heartbeats_total", "JSON heartbeats answered.", &srv->heartbeats_in},
		{"mws_server_pings_total", "RFC 6455 pings sent.", &srv->pings_sent},
		{"mws_server_pongs_total", "RFC 6455 pongs received.", &srv->pongs_in},
		{"mws_server_send_dropped_total", "Messages not sent: the connection ended or its queue was full.", &srv->send_dropped},
		{"mws_server_send_queue_full_total", "Sends refused with MWS_EQUEUEFULL (queue over its bound).", &srv->send_queue_full},
		{"mws_server_invalid_messages_total", "JSON protocol: text messages that were not JSON (closed with 1003).", &srv->invalid_messages},
		{"mws_server_handshakes_over_address_limit_total", "Connections closed at once: too many handshakes in progress from their address.", &srv->over_address_limit},
		{"mws_server_headers_too_large_total", "Requests whose headers were over the limit (HTTP 431).", &srv->headers_too_large},
		{"mws_server_half_closed_total", "Connections dropped: the peer half-closed with output pending.", &srv->half_closed},
	};
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
		mws__mt_family(&mt, counters[i].name, "counter", counters[i].help);
		mws__mt_u64(&mt, counters[i].name, NULL, atomic_load(counters[i].v));
	}
	mws__mt_family(&mt, "mws_server_shutting_down", "gauge", "1 while draining.");
	mws__mt_u64(&mt, "mws_server_shutting_down", NULL, (uint64_t)srv->draining);
	mws__srv_v1_metrics(srv, &mt);
	pthread_mutex_lock(&srv->stats_lock);
	mws__mt_histogram(&mt, "mws_server_heartbeat_rtt_seconds",
	                  "Ping to pong round trip.", &srv->prom_rtt);
	mws__mt_histogram(&mt, "mws_server_connection_duration_seconds",
	                  "How long ended connections stayed open.", &srv->prom_duration);
	pthread_mutex_unlock(&srv->stats_lock);
	size_t n;
	char *text = mws__mt_take(&mt, &n);
	if (!text)
		return NULL;
	unsigned char *body = malloc(LWS_PRE + n);
	if (body)
		memcpy(body + LWS_PRE, text, n);
	free(text);
	*len = n;
	return body;
}

static int mws__srv_http_reply(struct lws *wsi, int status,
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
	mws__srv_hs *hs = mws__srv_hs_for_http(wsi);
	if (!hs) {
		free(body);
		return -1;
	}
	free(hs->http_body);
	hs->http_body = body;
	hs->http_len = len;
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

int mws__srv_http(struct mws_server *srv, struct lws *wsi, const char *path)
{
	size_t len = 0;
	unsigned char *body = NULL;
	int status = 200;
	const char *type = "text/plain; charset=utf-8";
	if (srv && !strcmp(path, "/healthz")) {
		int down = srv->draining || srv->free_cmd;
		int store = srv->shared_configured && srv->store_down;
		status = down || store ? 503 : 200;
		body = mws__srv_body(down ? "draining\n" : store ? "session store down\n" : "ok\n",
		                     &len);
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
	return mws__srv_http_reply(wsi, status, body, len, type);
}
