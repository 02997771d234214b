/* Admission at the handshake: the checks (shutdown, rate, capacity,
 * origin, the application's hook), refusals written as HTTP/1.1, and the
 * bound on handshakes in progress per peer address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "io/server_io.h"

void mws__srv_refused(struct mws_server *srv, const char *ip, int reason, int status)
{
	atomic_fetch_add(&srv->refused[reason], 1);
	mws__log(srv->ctx, MWS_LOG_INFO, "server %d: refused %s (HTTP %d)",
	         atomic_load(&srv->port), ip, status);
}

int mws__srv_admit_info(struct mws_server *srv, mws__srv_info *info)
{
	int reason = -1, status = 0;
	if (srv->draining || srv->free_cmd) {
		reason = MWS_REFUSE_SHUTDOWN;
		status = 503;
	} else if (srv->set.rate_per_sec > 0 &&
	           !mws__ipl_allow(&srv->limiter, info->ip, mws__now_ms())) {
		reason = MWS_REFUSE_RATE_LIMITED;
		status = 429;
	} else if ((size_t)srv->live >= srv->set.max_connections) {
		reason = MWS_REFUSE_MAX_CONNECTIONS;
		status = 503;
	} else if (srv->set.origins && info->origin[0]) {
		reason = MWS_REFUSE_ORIGIN;
		status = 403;
		for (size_t i = 0; i < srv->set.origin_count; i++)
			if (!strcasecmp(srv->set.origins[i], info->origin))
				reason = -1, status = 0;
	}
	if (reason < 0 && srv->cbs.on_auth) {
		int rc;
		rc = srv->cbs.on_auth(srv, &info->pub, srv->user_data);
		if (rc == MWS_AUTH_PENDING && info->pub.auth_id)
			return MWS_AUTH_PENDING;
		if (rc == MWS_AUTH_PENDING) {
			/* libwebsockets answers this upgrade before we return */
			mws__log(srv->ctx, MWS_LOG_WARN,
			         "server %d: on_auth answered later, which needs a plain listener: 503",
			         atomic_load(&srv->port));
			reason = MWS_REFUSE_AUTH;
			status = 503;
		} else if (rc) {
			reason = MWS_REFUSE_AUTH;
			status = rc >= 400 && rc <= 599 ? rc : 403;
		}
	}
	if (reason < 0)
		return 0;
	mws__srv_refused(srv, info->ip, reason, status);
	return status;
}

/* 1 once for a socket the head reader admitted already. */
static int mws__srv_hs_take_admitted(struct lws *wsi);

int mws__srv_admit(struct mws_server *srv, struct lws *wsi)
{
	if (mws__srv_hs_take_admitted(wsi))
		return 0;
	if (srv->admitting_fd >= 0 && (int)lws_get_socket_fd(wsi) == srv->admitting_fd) {
		srv->admitting_fd = -1; /* taken inside the adopt call: no pass to attach */
		return 0;
	}
	mws__srv_info info;
	mws__srv_info_fill(&info, wsi);
	return mws__srv_admit_info(srv, &info);
}

const char *mws__srv_status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 500 ? "Client Error" : "Server Error";
	}
}

/* lws_return_http_status() answers an upgrade with "HTTP/1.0": in
 * libwebsockets 4.1.6 lws_http_action() (lib/roles/http/server/server.c)
 * runs the upgrade checks, and so FILTER_PROTOCOL_CONNECTION, before it
 * has read the request's version into wsi->http.request_version, which
 * is still 0 (HTTP/1.0) there; clients such as Python `websockets` refuse
 * such an answer. So the refusal is written here, whole, as HTTP/1.1,
 * and the connection closes after it. */
int mws__srv_refuse(struct lws *wsi, int status)
{
	unsigned char buf[LWS_PRE + 256];
	char *p = (char *)buf + LWS_PRE;
	const char *text = mws__srv_status_text(status);
	char body[64];
	int blen = snprintf(body, sizeof body, "%d %s\n", status, text);
	int n = snprintf(p, sizeof buf - LWS_PRE,
	                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
	                 status, text, blen, body);
	if (n <= 0 || (size_t)n >= sizeof buf - LWS_PRE)
		return -1;
	return lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP) == n ? 0 : -1;
}

/* ---- handshakes in progress per address ----
 *
 * Counted from accept() to the end of the upgrade (or the socket's end),
 * so that one address cannot hold every slot with slow handshakes. What
 * a socket holds travels with it as libwebsockets' opaque user data. */

void *mws__srv_hs_admitted(void)
{
	mws__srv_hs *hs = calloc(1, sizeof *hs);
	if (hs)
		hs->admitted = 1;
	return hs;
}

static int mws__srv_hs_take_admitted(struct lws *wsi)
{
	mws__srv_hs *hs = mws__srv_wsi_hs(wsi);
	if (!hs || !hs->admitted)
		return 0;
	hs->admitted = 0;
	return 1;
}

void mws__srv_addr_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	out[0] = '\0';
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)cap);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)cap);
	}
}

int mws__srv_hs_begin(struct mws_server *srv, const struct sockaddr_storage *ss, void **hs_out)
{
	*hs_out = NULL;
	if (!srv->set.max_handshakes_per_address)
		return 1;
	mws__srv_hs *hs = calloc(1, sizeof *hs);
	if (!hs)
		return 0;
	mws__srv_addr_text(ss, hs->addr, sizeof hs->addr);
	hs->counted = 1;
	if (mws__ac_take(&srv->hs_count, hs->addr,
	                 (unsigned)srv->set.max_handshakes_per_address) != 1) {
		free(hs);
		atomic_fetch_add(&srv->over_address_limit, 1);
		return 0;
	}
	*hs_out = hs;
	return 1;
}

void mws__srv_hs_cancel(struct mws_server *srv, void *hs)
{
	if (!hs)
		return;
	if (((mws__srv_hs *)hs)->counted)
		mws__ac_give(&srv->hs_count, ((mws__srv_hs *)hs)->addr);
	free(hs);
}

void mws__srv_hs_end(struct mws_server *srv, struct lws *wsi)
{
	mws__srv_hs *hs = mws__srv_wsi_hs(wsi);
	if (!hs)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	if (srv && hs->counted)
		mws__ac_give(&srv->hs_count, hs->addr);
	free(hs->http_body);
	free(hs);
}

mws__srv_hs *mws__srv_hs_for_http(struct lws *wsi)
{
	if (mws__srv_wsi_conn(wsi))
		return NULL; /* a WebSocket connection: no HTTP reply */
	mws__srv_hs *hs = mws__srv_wsi_hs(wsi);
	if (!hs && (hs = calloc(1, sizeof *hs)))
		lws_set_opaque_user_data(wsi, hs);
	return hs;
}
