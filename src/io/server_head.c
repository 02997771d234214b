/* The request head of a plain (not TLS) connection, read by us before
 * libwebsockets sees the socket.
 *
 * libwebsockets 4.1.6 drops a connection whose request head does not fit
 * its header table, without an answer and before any callback: issue_char()
 * fails once ah->pos reaches max_http_header_data ("Ran out of header data
 * space", lws_pos_in_bounds in lib/roles/http/parsers.c), and so does a
 * head with more lines than the table has fragments ("More hdr frags than
 * we can deal with"); lws_handshake_server() (lib/roles/http/server/
 * server.c) then goes to bail_nuke_ah and closes, and the close path has
 * shut the socket for writing before any callback of ours runs. So the
 * server reads the head itself: one that is too large gets HTTP 431, one
 * that is complete goes to libwebsockets with its bytes
 * (lws_adopt_socket_vhost_readbuf), and until then a slow client costs a
 * buffer, not a header table. libwebsockets only polls a duplicate of the
 * descriptor meanwhile (a raw file on the "mws head" protocol). Under TLS
 * the bytes are encrypted: those connections keep libwebsockets' own
 * behaviour.
 *
 * A whole head that asks for a WebSocket upgrade is admitted here (the
 * checks of server_admit.c, on_auth included), so that on_auth can answer
 * later (MWS_AUTH_PENDING): the socket waits, polled, until the answer,
 * the client leaving or the handshake timeout. libwebsockets then gets it
 * marked as admitted, or never sees it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http_head.h"
#include "io/server_io.h"

/* Raw bytes of a request head (request line and headers) we accept; the
 * context's header table (ctx.c) is sized to hold any such head. */
#define MWS__SRV_HEAD_MAX MWS__HEAD_MAX_BYTES
/* Header lines; libwebsockets has about 90 fragments for a head and its
 * URL arguments. */
#define MWS__SRV_HEAD_MAX_LINES 64
/* After a 431, input is read and dropped this long before the socket is
 * closed, so that the answer is not lost to a reset. */
#define MWS__SRV_LINGER_SECS 2

struct mws__srv_head {
	struct mws__srv_head *next, **pprev; /* the server's heads being read */
	struct mws_server *srv;  /* NULL once the server is gone */
	int fd;                  /* the connection; -1 once handed over */
	struct lws *poll_wsi;    /* a raw file polling dup(fd) */
	void *hs;                /* what mws__srv_hs_begin() took */
	int lingering;
	int pending;             /* on_auth answers later: auth_id in srv->auth_map */
	int admitted;            /* libwebsockets lets it pass FILTER */
	uint64_t auth_id;
	size_t len;
	mws__timer handover_sul;
	char buf[MWS__SRV_HEAD_MAX];
};

static void mws__srv_head_unlink(struct mws__srv_head *h)
{
	if (!h->pprev)
		return;
	*h->pprev = h->next;
	if (h->next)
		h->next->pprev = h->pprev;
	h->next = NULL;
	h->pprev = NULL;
}

static void mws__srv_head_give_back(struct mws__srv_head *h)
{
	if (h->srv)
		mws__srv_hs_cancel(h->srv, h->hs);
	else
		free(h->hs);
	h->hs = NULL;
}

/* After the poll wsi is gone: hand the socket to libwebsockets, outside of
 * any socket's callback. */
static void mws__srv_head_handover(mws__timer *sul)
{
	struct mws__srv_head *h = MWS__CONTAINER_OF(sul, struct mws__srv_head, handover_sul);
	struct mws_server *srv = h->srv;
	mws__srv_head_unlink(h);
	mws__srv_head_give_back(h);
	if (srv && srv->vh) {
		/* On failure libwebsockets has closed fd. */
		/* libwebsockets services the bytes inside the call when it has a
		 * header table free (lib/core-net/adopt.c): FILTER may run there,
		 * before the marker below is set. */
		srv->admitting_fd = h->admitted ? h->fd : -1;
		struct lws *w = lws_adopt_socket_vhost_readbuf(srv->vh, h->fd, h->buf, h->len);
		/* Still set: FILTER did not run inside the call, so the pass
		 * goes with the socket. Attached after a FILTER that ran, it
		 * stayed until the socket's end (56 bytes per idle connection:
		 * ESTABLISHED, which frees it, had run too). */
		int pass_owed = h->admitted && srv->admitting_fd >= 0;
		srv->admitting_fd = -1;
		if (!w)
			mws__log(srv->ctx, MWS_LOG_DEBUG, "server %d: a connection ended at its head",
			         atomic_load(&srv->port));
		else if (pass_owed)
			lws_set_opaque_user_data(w, mws__srv_hs_admitted()); /* NULL: checked again */
	} else {
		close(h->fd);
	}
	free(h);
}

/* 1 when buf holds a whole head, 0 when more may come, -1 when it is over
 * the bounds. */
static int mws__srv_head_state(const char *buf, size_t len)
{
	int lines = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\r' || buf[i + 1] != '\n')
			continue;
		if (i + 3 < len && buf[i + 2] == '\r' && buf[i + 3] == '\n')
			return 1;
		if (++lines > MWS__SRV_HEAD_MAX_LINES)
			return -1;
	}
	return len >= MWS__SRV_HEAD_MAX ? -1 : 0;
}

/* Answers `status` on the raw socket, then drains input for a while so
 * that the answer is not lost to a reset. */
static void mws__srv_head_refuse(struct mws__srv_head *h, int status)
{
	char answer[256];
	const char *text = mws__srv_status_text(status);
	char body[64];
	int blen = snprintf(body, sizeof body, "%d %s\n", status, text);
	int n = snprintf(answer, sizeof answer,
	                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
	                 status, text, blen, body);
	/* A fresh socket's send buffer takes this whole. */
	if (n > 0 && send(h->fd, answer, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the peer is gone: the close below is all there is to do */
	}
	shutdown(h->fd, SHUT_WR);
	h->lingering = 1;
	mws__srv_head_give_back(h);
	lws_set_timeout(h->poll_wsi, PENDING_TIMEOUT_USER_OK, MWS__SRV_LINGER_SECS);
}

static void mws__srv_head_431(struct mws__srv_head *h)
{
	if (h->srv)
		atomic_fetch_add(&h->srv->headers_too_large, 1);
	mws__srv_head_refuse(h, 431);
}

/* Leaves the auth map (under the server's lock): no answer finds it now. */
static void mws__srv_head_unpend(struct mws__srv_head *h)
{
	if (!h->pending)
		return;
	h->pending = 0;
	if (!h->srv)
		return;
	pthread_mutex_lock(&h->srv->lock);
	mws__idm_remove(&h->srv->auth_map, h->auth_id);
	pthread_mutex_unlock(&h->srv->lock);
}

/* The admission of a whole head: 0 to hand it over now, 1 when it waits
 * for an answer or was refused (the poll wsi stays), -1 to close. */
static int mws__srv_head_admit(struct mws__srv_head *h)
{
	struct mws_server *srv = h->srv;
	char upgrade[64];
	if (mws__head_header(h->buf, h->len, "Upgrade", upgrade, sizeof upgrade) <= 0 ||
	    !mws__head_has_token(upgrade, "websocket"))
		return 0; /* plain HTTP (/healthz, /metrics): libwebsockets' own */
	mws__srv_info *info = calloc(1, sizeof *info);
	if (!info)
		return -1;
	info->pub.size = sizeof info->pub;
	info->head = h->buf;
	info->head_len = h->len;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (!getpeername(h->fd, (struct sockaddr *)&ss, &sl))
		mws__srv_addr_text(&ss, info->ip, sizeof info->ip);
	if (mws__head_target(h->buf, h->len, info->path, sizeof info->path) < 0)
		info->path[0] = '\0';
	if (mws__head_header(h->buf, h->len, "Origin", info->origin, sizeof info->origin) < 0)
		info->origin[0] = '\0';
	if (mws__head_header(h->buf, h->len, "Sec-WebSocket-Protocol", info->subprotocol,
	                     sizeof info->subprotocol) < 0)
		info->subprotocol[0] = '\0';
	info->pub.peer_ip = info->ip;
	info->pub.path = info->path;
	info->pub.origin = info->origin;
	info->pub.subprotocol = info->subprotocol;
	uint64_t id = ++srv->next_auth_id;
	info->pub.auth_id = id;
	/* In the map before on_auth runs: it may answer from inside. */
	pthread_mutex_lock(&srv->lock);
	int rc = srv->auth_map.slots || !mws__idm_init(&srv->auth_map, 16)
	                 ? mws__idm_put(&srv->auth_map, id, h)
	                 : MWS_ENOMEM;
	pthread_mutex_unlock(&srv->lock);
	if (rc) {
		free(info);
		return -1;
	}
	h->pending = 1;
	h->auth_id = id;
	int status = mws__srv_admit_info(srv, info);
	free(info);
	if (status == MWS_AUTH_PENDING)
		return 1;
	mws__srv_head_unpend(h);
	if (status) {
		mws__srv_head_refuse(h, status);
		return 1;
	}
	h->admitted = 1;
	return 0;
}

/* Hands the socket to libwebsockets once the poll wsi is gone. From
 * inside the poll wsi's own callback, the caller returns -1 after. */
static void mws__srv_head_go(struct mws__srv_head *h, int in_callback)
{
	struct lws *w = h->poll_wsi;
	h->poll_wsi = NULL;
	mws__timer_in(h->srv->ctx, &h->handover_sul, 0, mws__srv_head_handover);
	if (!in_callback && w) {
		/* h goes with the handover: the poll wsi must not find it */
		lws_set_opaque_user_data(w, NULL);
		lws_set_timeout(w, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
}

void mws__srv_head_answer(struct mws_server *srv, uint64_t auth_id, int status)
{
	pthread_mutex_lock(&srv->lock);
	struct mws__srv_head *h =
		srv->auth_map.slots ? mws__idm_remove(&srv->auth_map, auth_id) : NULL;
	pthread_mutex_unlock(&srv->lock);
	if (!h || !h->pending || !h->poll_wsi)
		return; /* answered already, or the client left */
	h->pending = 0;
	char ip[64] = "";
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (!getpeername(h->fd, (struct sockaddr *)&ss, &sl))
		mws__srv_addr_text(&ss, ip, sizeof ip);
	if (!status && (srv->draining || srv->free_cmd)) {
		mws__srv_refused(srv, ip, MWS_REFUSE_SHUTDOWN, 503);
		mws__srv_head_refuse(h, 503);
		return;
	}
	if (status) {
		status = status >= 400 && status <= 599 ? status : 403;
		mws__srv_refused(srv, ip, MWS_REFUSE_AUTH, status);
		mws__srv_head_refuse(h, status);
		return;
	}
	h->admitted = 1;
	mws__srv_head_go(h, 0);
}

/* 0 to keep polling, -1 to close the poll wsi. */
static int mws__srv_head_readable(struct mws__srv_head *h)
{
	if (h->lingering) {
		char sink[4096];
		ssize_t n = recv(h->fd, sink, sizeof sink, MSG_DONTWAIT);
		return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)) ? 0 : -1;
	}
	if (h->len == sizeof h->buf)
		return -1; /* waiting for an answer, and more than a head came */
	ssize_t n = recv(h->fd, h->buf + h->len, sizeof h->buf - h->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	h->len += (size_t)n;
	if (h->pending)
		return 0; /* kept: libwebsockets reads it after the head */
	switch (mws__srv_head_state(h->buf, h->len)) {
	case 0:
		return 0;
	case 1:
		if (!h->srv)
			return -1;
		switch (mws__srv_head_admit(h)) {
		case 1:
			return 0;
		case 0:
			/* The poll wsi closes when we return; the socket goes on. */
			mws__srv_head_go(h, 1);
			return -1;
		default:
			return -1;
		}
	default:
		mws__srv_head_431(h);
		return 0;
	}
}

int mws__srv_head_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	struct mws__srv_head *h = lws_get_opaque_user_data(wsi);
	if (!h)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return h->poll_wsi == wsi ? mws__srv_head_readable(h) : -1;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		lws_set_opaque_user_data(wsi, NULL);
		if (h->poll_wsi != wsi)
			return 0; /* handed over: the timer owns it now */
		if (h->pending && h->srv) {
			/* no answer within the handshake timeout (or the client left) */
			mws__srv_head_unpend(h);
			mws__srv_refused(h->srv, "a client", MWS_REFUSE_AUTH, 503);
			static const char late[] = "HTTP/1.1 503 Service Unavailable\r\n"
			                           "Content-Length: 0\r\nConnection: close\r\n\r\n";
			if (send(h->fd, late, sizeof late - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* gone already */
			}
		}
		mws__srv_head_unlink(h);
		mws__srv_head_give_back(h);
		close(h->fd);
		free(h);
		return 0;
	default:
		return 0;
	}
}

int mws__srv_head_begin(struct mws_server *srv, int fd, void *hs)
{
	struct mws__srv_head *h = calloc(1, sizeof *h);
	int dupfd = h ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (dupfd < 0) {
		free(h);
		return -1;
	}
	h->srv = srv;
	h->fd = fd;
	h->hs = hs;
	lws_adopt_desc_t ad;
	memset(&ad, 0, sizeof ad);
	ad.vh = srv->vh;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = dupfd;
	ad.vh_prot_name = MWS__SRV_HEAD_PROTOCOL;
	ad.opaque = h;
	h->poll_wsi = lws_adopt_descriptor_vhost_via_info(&ad);
	if (!h->poll_wsi) {
		close(dupfd);
		free(h);
		return -1;
	}
	lws_set_timeout(h->poll_wsi, PENDING_TIMEOUT_USER_OK,
	                (int)((srv->set.handshake_timeout_ms + 999) / 1000));
	h->next = srv->heads;
	if (h->next)
		h->next->pprev = &h->next;
	h->pprev = &srv->heads;
	srv->heads = h;
	return 0;
}

void mws__srv_heads_forget(struct mws_server *srv)
{
	while (srv->heads) {
		struct mws__srv_head *h = srv->heads;
		mws__srv_head_unpend(h);
		mws__srv_head_unlink(h);
		mws__srv_head_give_back(h);
		h->srv = NULL;
		if (!h->poll_wsi) { /* waiting for its handover */
			mws__timer_cancel(&h->handover_sul);
			close(h->fd);
			free(h);
		}
		/* else: the vhost's end closes its poll wsi, which frees it */
	}
}
