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
 * behaviour. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	size_t len;
	lws_sorted_usec_list_t handover_sul;
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
static void mws__srv_head_handover(lws_sorted_usec_list_t *sul)
{
	struct mws__srv_head *h = MWS__CONTAINER_OF(sul, struct mws__srv_head, handover_sul);
	struct mws_server *srv = h->srv;
	mws__srv_head_unlink(h);
	mws__srv_head_give_back(h);
	if (srv && srv->vh) {
		/* On failure libwebsockets has closed fd. */
		if (!lws_adopt_socket_vhost_readbuf(srv->vh, h->fd, h->buf, h->len))
			mws__log(srv->ctx, MWS_LOG_DEBUG, "server %d: a connection ended at its head",
			         atomic_load(&srv->port));
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

static void mws__srv_head_431(struct mws__srv_head *h)
{
	static const char answer[] =
		"HTTP/1.1 431 Request Header Fields Too Large\r\n"
		"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 36\r\n"
		"Connection: close\r\n\r\n431 Request Header Fields Too Large\n";
	if (h->srv)
		atomic_fetch_add(&h->srv->headers_too_large, 1);
	/* A fresh socket's send buffer takes this whole. */
	if (send(h->fd, answer, sizeof answer - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the peer is gone: the close below is all there is to do */
	}
	shutdown(h->fd, SHUT_WR);
	h->lingering = 1;
	mws__srv_head_give_back(h);
	lws_set_timeout(h->poll_wsi, PENDING_TIMEOUT_USER_OK, MWS__SRV_LINGER_SECS);
}

/* 0 to keep polling, -1 to close the poll wsi. */
static int mws__srv_head_readable(struct mws__srv_head *h)
{
	if (h->lingering) {
		char sink[4096];
		ssize_t n = recv(h->fd, sink, sizeof sink, MSG_DONTWAIT);
		return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)) ? 0 : -1;
	}
	ssize_t n = recv(h->fd, h->buf + h->len, sizeof h->buf - h->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	h->len += (size_t)n;
	switch (mws__srv_head_state(h->buf, h->len)) {
	case 0:
		return 0;
	case 1:
		if (!h->srv)
			return -1;
		/* The poll wsi closes when we return; the socket goes on. */
		mws__timer_in(h->srv->ctx, &h->handover_sul, 0, mws__srv_head_handover);
		h->poll_wsi = NULL;
		return -1;
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
