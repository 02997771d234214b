/* A WebSocket client on a raw socket, for tests that must misbehave on
 * purpose (unmasked frames, never reading, half-closing) or see exactly
 * what the server put on the wire. Blocking I/O with bounded waits. */
#ifndef MWS_TEST_RAW_WS_H
#define MWS_TEST_RAW_WS_H

#include <stdint.h>
#include <sys/time.h>

#include "server_common.h"

/* Connects from `src` (NULL: any), sends the upgrade and reads the answer
 * up to its blank line. Returns the fd after a 101, else -1 (the status,
 * if any, in *status). */
static inline int raw_ws_open(const char *src, int port, int *status)
{
	int fd = tcp_connect_from(src, port);
	if (status)
		*status = 0;
	if (fd < 0)
		return -1;
	char req[512];
	int n = ws_upgrade_request(req, sizeof req, "/raw", port, NULL);
	if (write_all(fd, req, (size_t)n)) {
		close(fd);
		return -1;
	}
	/* Byte by byte so that no frame after the headers is swallowed. */
	char buf[2048];
	size_t got = 0;
	uint64_t end = mws_test_now_ms() + 5000;
	while (got < sizeof buf - 1) {
		uint64_t now = mws_test_now_ms();
		if (now >= end || mws_test_wait_readable(fd, (int)(end - now)) <= 0)
			break;
		if (read(fd, buf + got, 1) != 1)
			break;
		got++;
		buf[got] = '\0';
		if (got >= 4 && !memcmp(buf + got - 4, "\r\n\r\n", 4))
			break;
	}
	buf[got] = '\0';
	int st = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &st) != 1)
		st = 0;
	if (status)
		*status = st;
	if (st != 101) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A recording server on a new context (cfg NULL: defaults; echo: every
 * message back) and a raw client upgraded to it, returned once the server
 * saw it connect. raw_session_end() closes and frees all of it. */
typedef struct raw_session {
	mws_ctx *ctx;
	mws_server *srv;
	int fd;
} raw_session;

static inline raw_session raw_session_start(rec *r, int echo, mws_server_config *cfg)
{
	raw_session s;
	s.ctx = rec_ctx(r);
	r->echo = echo;
	s.srv = rec_server(s.ctx, cfg, r);
	int status = 0;
	s.fd = raw_ws_open(NULL, mws_server_port(s.srv), &status);
	cr_assert_geq(s.fd, 0, "upgrade failed (status %d)", status);
	cr_assert(wait_at_least(&r->connects, 1, 5000), "never connected");
	return s;
}

static inline void raw_session_end(raw_session *s)
{
	close(s->fd);
	mws_server_free(s->srv);
	mws_ctx_free(s->ctx);
}

/* Frames `len` bytes into `out` (room for len + 14): FIN, `opcode`, masked
 * with a fixed key unless `masked` is 0. Returns the frame's length. */
static inline size_t raw_ws_frame(unsigned char *out, int opcode, const void *data, size_t len,
                                  int masked)
{
	static const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
	size_t h = 0;
	out[h++] = (unsigned char)(0x80 | opcode);
	unsigned char m = masked ? 0x80 : 0;
	if (len < 126) {
		out[h++] = (unsigned char)(m | len);
	} else if (len <= 0xffff) {
		out[h++] = m | 126;
		out[h++] = (unsigned char)(len >> 8);
		out[h++] = (unsigned char)len;
	} else {
		out[h++] = m | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	if (masked) {
		memcpy(out + h, key, 4);
		h += 4;
	}
	const unsigned char *d = data;
	for (size_t i = 0; i < len; i++)
		out[h + i] = masked ? d[i] ^ key[i & 3] : d[i];
	return h + len;
}

static inline int raw_ws_send(int fd, int opcode, const void *data, size_t len, int masked)
{
	unsigned char *f = malloc(len + 14);
	if (!f)
		return -1;
	size_t n = raw_ws_frame(f, opcode, data, len, masked);
	int rc = write_all(fd, f, n);
	free(f);
	return rc;
}

/* Reads exactly n bytes within the deadline; 0, or -1. */
static inline int raw_read_n(int fd, void *buf, size_t n, uint64_t end_ms)
{
	unsigned char *p = buf;
	while (n) {
		uint64_t now = mws_test_now_ms();
		if (now >= end_ms || mws_test_wait_readable(fd, (int)(end_ms - now)) <= 0)
			return -1;
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One frame from the server (unmasked). Returns its opcode (its FIN bit in
 * *fin when not NULL) and its payload in buf (up to cap; the rest is read
 * and dropped) with the full length in *len; -1 on timeout or EOF. */
static inline int raw_ws_read_frame(int fd, void *buf, size_t cap, size_t *len, int *fin,
                                    int timeout_ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	unsigned char h[2], ext[8];
	if (raw_read_n(fd, h, 2, end))
		return -1;
	uint64_t n = h[1] & 0x7f;
	if (n == 126 || n == 127) {
		size_t k = n == 126 ? 2 : 8;
		if (raw_read_n(fd, ext, k, end))
			return -1;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | ext[i];
	}
	if (h[1] & 0x80) { /* a server never masks; read the key anyway */
		if (raw_read_n(fd, ext, 4, end))
			return -1;
	}
	uint64_t keep = n < cap ? n : cap;
	if (keep && raw_read_n(fd, buf, (size_t)keep, end))
		return -1;
	for (uint64_t left = n - keep; left;) {
		unsigned char sink[4096];
		size_t k = left < sizeof sink ? (size_t)left : sizeof sink;
		if (raw_read_n(fd, sink, k, end))
			return -1;
		left -= k;
	}
	if (len)
		*len = (size_t)n;
	if (fin)
		*fin = !!(h[0] & 0x80);
	return h[0] & 0x0f;
}

/* Reads frames until a close frame; its code (1005 if it has none), or -1
 * on timeout or EOF first. The reason goes to `reason` (NUL-terminated). */
static inline int raw_ws_read_close(int fd, char *reason, size_t cap, int timeout_ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	unsigned char b[256];
	for (;;) {
		uint64_t now = mws_test_now_ms();
		if (now >= end)
			return -1;
		size_t n = 0;
		int op = raw_ws_read_frame(fd, b, sizeof b - 1, &n, NULL, (int)(end - now));
		if (op < 0)
			return -1;
		if (op != 8)
			continue;
		if (n > sizeof b - 1)
			n = sizeof b - 1;
		if (reason && cap) {
			size_t r = n > 2 ? n - 2 : 0;
			if (r >= cap)
				r = cap - 1;
			memcpy(reason, b + 2, r);
			reason[r] = '\0';
		}
		return n >= 2 ? (b[0] << 8 | b[1]) : 1005;
	}
}

/* An echo server gets `frames` (a ping before or inside a message) in one
 * write, after `warm` echoed messages (from then on the socket is quiet and
 * each echo is written at once): the pong must come back first, then the
 * echo `want`. */
static inline void raw_expect_pong_then_echo(const unsigned char *frames, size_t n,
                                             const char *want, int warm)
{
	rec r;
	raw_session t = raw_session_start(&r, 1, NULL);
	char buf[64];
	size_t len = 0;
	for (int i = 0; i < warm; i++) {
		cr_assert_eq(raw_ws_send(t.fd, 0x1, "warm", 4, 1), 0);
		cr_assert_eq(raw_ws_read_frame(t.fd, buf, sizeof buf, &len, NULL, 5000), 0x1);
	}
	cr_assert_eq(write_all(t.fd, frames, n), 0);
	cr_assert_eq(raw_ws_read_frame(t.fd, buf, sizeof buf, &len, NULL, 5000), 0xA,
	             "the pong comes first");
	cr_assert_eq(raw_ws_read_frame(t.fd, buf, sizeof buf - 1, &len, NULL, 5000), 0x1);
	buf[len] = '\0';
	cr_expect_str_eq(buf, want);
	raw_session_end(&t);
}

#endif
