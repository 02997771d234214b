/* The server's libwebsockets protocol: one handler for the WebSocket
 * connections and for plain HTTP (/healthz, /metrics) on the same port,
 * the admission checks at the handshake, the listening socket (ours, not
 * libwebsockets') and the vhost itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http_head.h"
#include "io/server_io.h"

/* libwebsockets' own idle ping would interfere with ours: off (a hang-up
 * time of 0; see mws__no_idle_policy in client_conn.c for why not long). */
static const lws_retry_bo_t mws__srv_no_idle_policy = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

/* Both WebSocket entries of the vhost hold a slot naming the server, found
 * by the protocol's address: no name is compared per message. */
static struct mws_server *mws__srv_of(struct lws *wsi)
{
	struct mws_server **slot =
		lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	return slot ? *slot : NULL;
}

static int mws__srv_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
	(void)user; /* no per-session data: see mws__srv_wsi_conn */
	mws_ctx *ctx = lws_context_user(lws_get_context(wsi));
	struct mws_server *srv;
	mws__srv_conn *c;
	mws__srv_hs *hs;
	int status;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		mws__ctx_on_wake(ctx, wsi);
		return 0; /* non-zero would close the wake pipe */

	case LWS_CALLBACK_GET_THREAD_ID:
		/* Asked for every socket of the vhost: only our WebSocket
		 * protocols' sockets carry a conn (mws__srv_wsi_conn). */
		if (mws__ctx_pollfd_changed(ctx, wsi) && lws_get_protocol(wsi) &&
		    lws_get_protocol(wsi)->callback == mws__srv_callback &&
		    (c = mws__srv_wsi_conn(wsi)))
			c->pollout_idle = 0;
		return MWS__IO_THREAD_ID;

	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		srv = mws__srv_of(wsi);
		/* A client that never finishes its upgrade is dropped. */
		if (srv)
			lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE,
			                (int)((srv->set.handshake_timeout_ms + 999) / 1000));
		return 0;

	case LWS_CALLBACK_HTTP:
		return mws__srv_http(mws__srv_of(wsi), wsi, in ? (const char *)in : "");

	case LWS_CALLBACK_HTTP_WRITEABLE:
		hs = mws__srv_wsi_hs(wsi);
		if (!hs || !hs->http_body)
			return 0;
		{
			unsigned char *b = hs->http_body;
			size_t n = hs->http_len;
			hs->http_body = NULL;
			int w = lws_write(wsi, b + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
			free(b);
			if (w < (int)n)
				return -1;
		}
		return lws_http_transaction_completed(wsi) ? -1 : 0;

	case LWS_CALLBACK_CLOSED_HTTP:
		if ((hs = mws__srv_wsi_hs(wsi))) {
			free(hs->http_body);
			hs->http_body = NULL;
		}
		return 0;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		srv = mws__srv_of(wsi);
		if (!srv)
			return -1;
		status = mws__srv_admit(srv, wsi);
		if (!status)
			return 0;
		mws__srv_refuse(wsi, status);
		return -1;

	case LWS_CALLBACK_ESTABLISHED:
		srv = mws__srv_of(wsi);
		mws__srv_hs_end(srv, wsi);
		if (!srv)
			return -1;
		c = mws__srv_conn_open(srv, wsi);
		mws__srv_wsi_set_conn(wsi, c);
		return c ? 0 : -1;

	case LWS_CALLBACK_RECEIVE:
		srv = mws__srv_of(wsi);
		if (!srv || !(c = mws__srv_wsi_conn(wsi)))
			return 0;
		c->rx_seen = 1; /* a pong may be owed: see mws__srv_kick */
		return mws__srv_receive(srv, c, in, len);

	case LWS_CALLBACK_RECEIVE_PONG:
		srv = mws__srv_of(wsi);
		if (srv && (c = mws__srv_wsi_conn(wsi)))
			mws__srv_pong(srv, c, in, len);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		srv = mws__srv_of(wsi);
		if (!srv || !(c = mws__srv_wsi_conn(wsi)))
			return -1;
		c->rx_seen = 0; /* libwebsockets wrote any pong it owed before this */
		/* and turned POLLOUT off: asked again only through a change we
		 * are told of (mws__srv_kick) */
		c->pollout_idle = (unsigned char)ctx->pollfd_watch;
		return mws__srv_writeable(srv, c);

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (mws__srv_of(wsi) && (c = mws__srv_wsi_conn(wsi))) {
			const unsigned char *b = in;
			if (len >= 2) {
				c->peer_code = b[0] << 8 | b[1];
				mws__srv_reason_set(&c->peer_reason, b + 2, len - 2);
			} else {
				c->peer_code = 1005; /* no status received */
			}
		}
		return 0;

	case LWS_CALLBACK_CLOSED:
		srv = mws__srv_of(wsi);
		if ((c = mws__srv_wsi_conn(wsi))) {
			mws__srv_wsi_set_conn(wsi, NULL);
			if (!c->peer_code) { /* libwebsockets refused a frame: 1002, 1007 */
				char own[124];
				c->own_code = mws__ws_own_close(wsi, own, sizeof own);
				mws__srv_reason_set(&c->own_reason, own, strlen(own));
			}
			if (srv)
				mws__srv_conn_closed(srv, c);
		}
		return 0;

	case LWS_CALLBACK_WSI_DESTROY:
		/* every socket of the vhost; the listener's opaque data is ours */
		if (lws_get_protocol(wsi) && (!strcmp(lws_get_protocol(wsi)->name, "mws-server") ||
		                              !strcmp(lws_get_protocol(wsi)->name, MWS__SUBPROTOCOL)))
			mws__srv_hs_end(mws__srv_of(wsi), wsi);
		return 0;

	case LWS_CALLBACK_ADD_HEADERS:
		/* the 101 of an mws.v1 upgrade carries the marker (envelope.h) */
		if (mws__srv_is_v1(mws__srv_of(wsi), wsi)) {
			struct lws_process_html_args *a = in;
			unsigned char *p = (unsigned char *)a->p;
			if (lws_add_http_header_by_name(wsi, (const unsigned char *)MWS__MARKER_HEADER,
			                                (const unsigned char *)MWS__MARKER_VALUE,
			                                (int)strlen(MWS__MARKER_VALUE), &p,
			                                (unsigned char *)a->p + a->max_len))
				return -1;
			a->max_len -= (int)(p - (unsigned char *)a->p);
			a->p = (char *)p;
		}
		return lws_callback_http_dummy(wsi, reason, user, in, len);

	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- the listening socket ----
 *
 * The server owns its listening socket; libwebsockets only polls it (as a
 * raw file on a protocol of the server's vhost) and gets each accepted
 * socket, exactly as its own listener would hand it over. With its own
 * listener, libwebsockets 4.1.6 (lib/core-net/vhost.c) lets a vhost share
 * the listen socket of another vhost on the same port, puts a vhost that
 * cannot bind on a retry list instead of failing, and closes a destroyed
 * vhost's listen socket only from its 30-second periodic check, so a new
 * server on that port piggybacks on a socket that hangs up every client. */

/* Accepts handled per wake-up, so that one busy server cannot starve the
 * rest of the loop; the poll reports the listener again if more wait. */
#define MWS__SRV_ACCEPTS_PER_WAKE 32
/* Out of descriptors: stop polling the listener this long, not spin. */
#define MWS__SRV_ACCEPT_PAUSE_MS 100

static void mws__srv_accept_resume(mws__timer *sul)
{
	struct mws_server *srv = MWS__CONTAINER_OF(sul, struct mws_server, accept_sul);
	if (srv->lsn_wsi)
		lws_rx_flow_control(srv->lsn_wsi, 1);
}

static void mws__srv_accept(struct mws_server *srv, struct lws *lsn)
{
	for (int i = 0; i < MWS__SRV_ACCEPTS_PER_WAKE; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof ss;
		memset(&ss, 0, sizeof ss);
		int fd = accept4(srv->lsn_fd, (struct sockaddr *)&ss, &sslen,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == EINTR || e == ECONNABORTED)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK)
				return;
			mws__log(srv->ctx, MWS_LOG_WARN, "server %d: accept: %s",
			         atomic_load(&srv->port), strerror(e));
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				/* the connection stays in the backlog until then */
				lws_rx_flow_control(lsn, 0);
				mws__timer_in(srv->ctx, &srv->accept_sul, MWS__SRV_ACCEPT_PAUSE_MS,
				              mws__srv_accept_resume);
			}
			return;
		}
		/* Refused before a byte is read: this address already holds its
		 * share of handshakes in progress. */
		void *hs = NULL;
		if (!mws__srv_hs_begin(srv, &ss, &hs)) {
			close(fd);
			continue;
		}
		/* What libwebsockets' own listener sets (lws_plat_set_socket_options) */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* SOCKET | HTTP | ALLOW_SSL (TLS when the vhost has it), protocols[0],
		 * then SERVER_NEW_CLIENT_INSTANTIATED: the path of libwebsockets'
		 * own listener. On failure libwebsockets has closed fd. */
		if (!srv->tls) { /* its head is read first: server_head.c */
			if (mws__srv_head_begin(srv, fd, hs)) {
				mws__srv_hs_cancel(srv, hs);
				close(fd);
			}
			continue;
		}
		struct lws *w = lws_adopt_socket_vhost(srv->vh, fd);
		if (w) {
			lws_set_opaque_user_data(w, hs);
		} else {
			mws__srv_hs_cancel(srv, hs);
			mws__log(srv->ctx, MWS_LOG_WARN, "server %d: could not take a connection",
			         atomic_load(&srv->port));
		}
	}
}

static int mws__srv_listen_callback(struct lws *wsi, enum lws_callback_reasons reason,
                                    void *user, void *in, size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	struct mws_server *srv = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (srv && srv->lsn_wsi == wsi)
			mws__srv_accept(srv, wsi);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		/* also when the context is destroyed under a live server */
		if (srv && srv->lsn_wsi == wsi) {
			srv->lsn_wsi = NULL;
			srv->lsn_fd = -1; /* libwebsockets closes it */
		}
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return -1; /* never a WebSocket subprotocol */
	default:
		return 0; /* EVENT_WAIT_CANCELLED included: mws-server drains */
	}
}

/* The listener's name has a space: no Sec-WebSocket-Protocol token can
 * name it, so an upgrade never binds to it. */
#define MWS__SRV_LISTEN_PROTOCOL "mws listener"

/* mws-server first: HTTP and every WebSocket handshake that names no
 * subprotocol land on protocols[0]; libwebsockets 4.1.6 refuses one that
 * names only subprotocols it does not list (server-ws.c, "No supported
 * protocol"), so mws.v1 stays listed when the server serves plain only
 * (mws__srv_is_v1 then says no). The WebSocket entries'
 * rx_buffer_size (0 here) is set from the config at listen: libwebsockets
 * allocates that much for every connection (lib/roles/ws/ops-ws.c) and
 * copies the table into the vhost. tx_packet_size: without it
 * libwebsockets 4.1.6 hands at most rx_buffer_size + LWS_PRE + 4 bytes to
 * one send() (lws_issue_raw in lib/core-net/output.c), so a 512-byte
 * receive buffer cut every write to 532 bytes. */
static const struct lws_protocols mws__server_protocols[] = {
	{"mws-server", mws__srv_callback, 0, 0, 0, NULL, MWS__SRV_WRITE_MAX},
	{MWS__SUBPROTOCOL, mws__srv_callback, 0, 0, 0, NULL, MWS__SRV_WRITE_MAX},
	{MWS__SRV_LISTEN_PROTOCOL, mws__srv_listen_callback, 0, 0, 0, NULL, 0},
	{MWS__SRV_HEAD_PROTOCOL, mws__srv_head_callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}};
/* protocol_mode plain: no mws.v1 entry, so no upgrade selects it. */
/* Where to bind. NULL: every interface, IPv6 and IPv4 ([::] with
 * IPV6_V6ONLY off). An IPv4 or IPv6 literal: that address only. Anything
 * else names an interface: its first IPv4 address, else its first IPv6
 * one. 0, or -1 if there is no such address or interface. */
static int mws__srv_bind_addr(const char *iface, int port, struct sockaddr_storage *ss,
                              socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (!iface) {
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		*len = sizeof *a6;
	} else {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof hints);
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE; /* never a DNS query */
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(iface, NULL, &hints, &res) == 0 && res &&
		    res->ai_addrlen <= sizeof *ss) {
			memcpy(ss, res->ai_addr, res->ai_addrlen);
			*len = res->ai_addrlen;
			freeaddrinfo(res);
		} else {
			if (res)
				freeaddrinfo(res);
			struct ifaddrs *ifs = NULL;
			if (getifaddrs(&ifs))
				return -1;
			const struct sockaddr *v4 = NULL, *v6 = NULL;
			for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
				if (!i->ifa_addr || !i->ifa_name || strcmp(i->ifa_name, iface))
					continue;
				if (i->ifa_addr->sa_family == AF_INET && !v4)
					v4 = i->ifa_addr;
				if (i->ifa_addr->sa_family == AF_INET6 && !v6)
					v6 = i->ifa_addr; /* link-local: scope id filled in */
			}
			if (v4 || v6) {
				*len = v4 ? sizeof *a4 : sizeof *a6;
				memcpy(ss, v4 ? v4 : v6, *len);
			}
			freeifaddrs(ifs);
			if (!v4 && !v6)
				return -1;
		}
	}
	if (ss->ss_family == AF_INET)
		a4->sin_port = htons((uint16_t)port);
	else
		a6->sin6_port = htons((uint16_t)port);
	return 0;
}

/* A bound, listening, non-blocking socket in srv->lsn_fd and its port in
 * srv->port, or MWS_ELISTEN. */
static int mws__srv_listen_socket(struct mws_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const char *iface = srv->set.iface;
	if (mws__srv_bind_addr(iface, srv->set.port, &ss, &len)) {
		mws__log(srv->ctx, MWS_LOG_ERROR, "server: no address to bind for \"%s\"", iface);
		return MWS_ELISTEN;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && !iface && errno == EAFNOSUPPORT) { /* a host without IPv6 */
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		memset(&ss, 0, sizeof ss);
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		a4->sin_port = htons((uint16_t)srv->set.port);
		len = sizeof *a4;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		mws__log(srv->ctx, MWS_LOG_ERROR, "server: socket: %s", strerror(errno));
		return MWS_ELISTEN;
	}
	int one = 1, off = 0;
	/* Lets a restarted server bind while old connections sit in TIME_WAIT;
	 * on Linux it never lets two sockets listen on one port. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (!iface && ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, SOMAXCONN)) {
		mws__log(srv->ctx, MWS_LOG_ERROR, "server: cannot listen on %s port %d: %s",
		         iface ? iface : "every interface", srv->set.port, strerror(errno));
		close(fd);
		return MWS_ELISTEN;
	}
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len)) {
		close(fd);
		return MWS_ELISTEN;
	}
	srv->lsn_fd = fd;
	atomic_store(&srv->port, ntohs(ss.ss_family == AF_INET
	                                   ? ((struct sockaddr_in *)&ss)->sin_port
	                                   : ((struct sockaddr_in6 *)&ss)->sin6_port));
	return 0;
}

/* A name for the vhost's own unix listener (see mws__server_listen):
 * abstract (no file), unique in the network namespace, and kept for the
 * life of the process because libwebsockets reads vh->iface until the
 * vhost is freed, up to 30 s after the server. */
static const char *mws__srv_unix_name(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct mws__name {
		struct mws__name *next;
		char s[64];
	} *head;
	static uint64_t counter;
	uint64_t salt = 0;
	if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != sizeof salt)
		salt = mws__now_us();
	struct mws__name *e = malloc(sizeof *e);
	if (!e)
		return NULL;
	pthread_mutex_lock(&lock);
	snprintf(e->s, sizeof e->s, "@mws-%ld-%" PRIu64 "-%016" PRIx64, (long)getpid(),
	         ++counter, salt);
	e->next = head;
	head = e;
	pthread_mutex_unlock(&lock);
	return e->s;
}

int mws__server_listen(struct mws_server *srv)
{
	int rc = mws__srv_listen_socket(srv);
	if (rc)
		return rc;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	/* The vhost must not listen on TCP (we do), and it must not have the
	 * listen_port of another server's vhost: after the request headers,
	 * libwebsockets 4.1.6 moves an HTTP connection to the first vhost with
	 * its vhost's listen_port (lws_select_vhost() in
	 * lib/roles/http/server/server.c; SNI does the same), so every
	 * CONTEXT_PORT_NO_LISTEN_SERVER vhost (-2) would hand its connections
	 * to the oldest one. That move is skipped when listen_port is 0, which
	 * only a unix-socket vhost has: libwebsockets listens on an abstract
	 * unix name of its own, which nothing uses (any local process could
	 * reach this server on loopback TCP as well). TLS is still set up
	 * (lib/tls/tls-server.c skips only CONTEXT_PORT_NO_LISTEN). */
	info.port = 0;
	info.iface = mws__srv_unix_name();
	if (!info.iface) {
		rc = MWS_ENOMEM;
		goto fail;
	}
	struct lws_protocols prots[sizeof mws__server_protocols / sizeof mws__server_protocols[0]];
	const struct lws_protocols *from = mws__server_protocols;
	for (size_t i = 0; i < sizeof prots / sizeof prots[0]; i++) {
		prots[i] = from[i];
		if (from[i].callback == mws__srv_callback)
			prots[i].rx_buffer_size = srv->set.rx_buffer_bytes;
		if (!from[i].name)
			break;
	}
	info.protocols = prots;
	/* libwebsockets keeps this pointer, and frees a vhost after the server
	 * is gone: a string literal outlives both. With a space, no SNI name
	 * or Host header selects it. */
	info.vhost_name = "mws server";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_UNIX_SOCK;
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
	if (!srv->vh) { /* a certificate or key that does not load */
		rc = MWS_ELISTEN;
		goto fail;
	}
	srv->slot = lws_protocol_vh_priv_zalloc(srv->vh, &info.protocols[0],
	                                        sizeof *srv->slot);
	if (!srv->slot) {
		rc = MWS_ENOMEM;
		goto fail;
	}
	srv->slot_v1 = lws_protocol_vh_priv_zalloc(srv->vh, &info.protocols[1],
	                                           sizeof *srv->slot_v1);
	if (!srv->slot_v1) {
		rc = MWS_ENOMEM;
		goto fail;
	}
	*srv->slot = *srv->slot_v1 = srv;
	lws_adopt_desc_t ad;
	memset(&ad, 0, sizeof ad);
	ad.vh = srv->vh;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = srv->lsn_fd;
	ad.vh_prot_name = MWS__SRV_LISTEN_PROTOCOL;
	ad.opaque = srv;
	srv->lsn_wsi = lws_adopt_descriptor_vhost_via_info(&ad);
	/* On failure libwebsockets 4.1.6 (lib/core-net/adopt.c) has not kept a
	 * file descriptor: it is still ours to close. */
	if (!srv->lsn_wsi) {
		rc = MWS_ENOMEM;
		goto fail;
	}
	return 0;
fail:
	mws__server_unlisten(srv);
	atomic_store(&srv->port, 0);
	return rc;
}

void mws__srv_close_listener(struct mws_server *srv)
{
	mws__timer_cancel(&srv->accept_sul);
	if (srv->lsn_wsi) {
		/* Synchronously: libwebsockets closes the descriptor it adopted
		 * (__lws_close_free_wsi_final), so the port is free from here on,
		 * and the vhost below has one bound wsi less. */
		struct lws *w = srv->lsn_wsi;
		srv->lsn_wsi = NULL;
		srv->lsn_fd = -1;
		lws_set_timeout(w, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
	} else if (srv->lsn_fd >= 0) {
		close(srv->lsn_fd);
		srv->lsn_fd = -1;
	}
}

void mws__server_unlisten(struct mws_server *srv)
{
	mws__srv_close_listener(srv);
	if (!srv->vh)
		return;
	/* Callbacks still due for this vhost find no server from here on. */
	if (srv->slot)
		*srv->slot = NULL;
	if (srv->slot_v1)
		*srv->slot_v1 = NULL;
	srv->slot = srv->slot_v1 = NULL;
	/* libwebsockets frees it once its unix listener is closed, by its
	 * periodic check (30 s); our port is already free. */
	lws_vhost_destroy(srv->vh);
	srv->vh = NULL;
}
