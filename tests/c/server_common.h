/* Helpers shared by the server tests: a recording server, raw sockets
 * (to bind a source address or misbehave on purpose), and waits. */
#ifndef MWS_TEST_SERVER_COMMON_H
#define MWS_TEST_SERVER_COMMON_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "managedws.h"
#include "peer.h"

#define REC_MAX_EVENTS 4096

typedef struct rec_event {
	mws_conn_id id;
	int code, why;
	char reason[128];
	uint64_t at_ms;
} rec_event;

/* What a test server saw. Written on the I/O thread, read by the test
 * under the lock. */
typedef struct rec {
	pthread_mutex_t lock;
	atomic_int connects, disconnects, messages, auths;
	mws_conn_id last_id;
	char last_path[256], last_ip[64], last_header[128], last_origin[256];
	rec_event disc[REC_MAX_EVENTS];
	int ndisc;
	int echo;            /* echo every message back */
	int auth_status;     /* what on_auth returns */
	mws_server *srv;
} rec;

static inline int rec_on_auth(mws_server *srv, const mws_conn_info *info, void *ud)
{
	(void)srv;
	rec *r = ud;
	atomic_fetch_add(&r->auths, 1);
	char tok[128];
	int n = mws_conn_info_header(info, "X-Token", tok, sizeof tok);
	pthread_mutex_lock(&r->lock);
	if (n > 0)
		snprintf(r->last_header, sizeof r->last_header, "%s", tok);
	pthread_mutex_unlock(&r->lock);
	if (r->auth_status && !(n > 0 && !strcmp(tok, "good")))
		return r->auth_status;
	return 0;
}

static inline void rec_on_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info,
                                  void *ud)
{
	(void)srv;
	rec *r = ud;
	pthread_mutex_lock(&r->lock);
	r->last_id = id;
	snprintf(r->last_path, sizeof r->last_path, "%s", info->path);
	snprintf(r->last_ip, sizeof r->last_ip, "%s", info->peer_ip);
	snprintf(r->last_origin, sizeof r->last_origin, "%s", info->origin);
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_add(&r->connects, 1);
}

static inline void rec_on_message(mws_server *srv, mws_conn_id id, const void *data,
                                  size_t len, int type, void *ud)
{
	rec *r = ud;
	atomic_fetch_add(&r->messages, 1);
	if (r->echo)
		mws_server_send(srv, id, data, len, type);
}

static inline void rec_on_disconnect(mws_server *srv, mws_conn_id id, int code,
                                     const char *reason, int why, void *ud)
{
	(void)srv;
	rec *r = ud;
	pthread_mutex_lock(&r->lock);
	if (r->ndisc < REC_MAX_EVENTS) {
		rec_event *e = &r->disc[r->ndisc++];
		e->id = id;
		e->code = code;
		e->why = why;
		snprintf(e->reason, sizeof e->reason, "%s", reason);
		e->at_ms = mws_test_now_ms();
	}
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_add(&r->disconnects, 1);
}

/* Copies of what the I/O thread wrote, taken under the lock. */
static inline rec_event rec_disc(rec *r, int i)
{
	pthread_mutex_lock(&r->lock);
	rec_event e = r->disc[i];
	pthread_mutex_unlock(&r->lock);
	return e;
}

static inline mws_conn_id rec_last_id(rec *r)
{
	pthread_mutex_lock(&r->lock);
	mws_conn_id id = r->last_id;
	pthread_mutex_unlock(&r->lock);
	return id;
}

static inline int rec_ndisc(rec *r)
{
	pthread_mutex_lock(&r->lock);
	int n = r->ndisc;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static inline void rec_init(rec *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
}

/* A started server on 127.0.0.1:0 recording into r. */
static inline mws_server *rec_server(mws_ctx *ctx, mws_server_config *cfg, rec *r)
{
	mws_server_config dflt;
	if (!cfg) {
		mws_server_config_init(&dflt);
		cfg = &dflt;
	}
	if (!cfg->iface)
		cfg->iface = "127.0.0.1";
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, rec_on_auth, rec_on_connect, rec_on_message,
	                            rec_on_disconnect};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, r, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	cr_assert_gt(mws_server_port(srv), 0);
	r->srv = srv;
	return srv;
}

/* A new context and a cleared recorder, for rec_server(). */
static inline mws_ctx *rec_ctx(rec *r)
{
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	rec_init(r);
	return ctx;
}

static inline mws_server_stats server_stats(mws_server *srv)
{
	mws_server_stats st = {.size = sizeof st};
	cr_assert_eq(mws_server_stats_get(srv, &st), 0);
	return st;
}

typedef struct int_at_least {
	atomic_int *v;
	int n;
} int_at_least;

static inline bool int_at_least_cond(void *arg)
{
	int_at_least *w = arg;
	return atomic_load(w->v) >= w->n;
}

/* Waits until *v >= n, up to timeout_ms. */
static inline bool wait_at_least(atomic_int *v, int n, int timeout_ms)
{
	int_at_least w = {v, n};
	return mws_test_wait_until(int_at_least_cond, &w, timeout_ms);
}

/* A TCP connection to 127.0.0.1:port from `src` (e.g. "127.0.0.2"). */
static inline int tcp_connect_from(const char *src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (src) {
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof a)) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static inline int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until "\r\n\r\n", EOF or timeout; returns the HTTP status seen
 * (0 if none). */
static inline int read_http_status(int fd, int timeout_ms)
{
	char buf[4096];
	size_t got = 0;
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	while (got < sizeof buf - 1) {
		uint64_t now = mws_test_now_ms();
		if (now >= end || mws_test_wait_readable(fd, (int)(end - now)) <= 0)
			break;
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	buf[got] = '\0';
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

/* Writes a WebSocket upgrade request for `path` on 127.0.0.1:port, with
 * `extra_headers` (NULL: none; each line ending in CRLF) before the blank
 * line. Returns snprintf's count. */
static inline int ws_upgrade_request(char *req, size_t cap, const char *path, int port,
                                     const char *extra_headers)
{
	return snprintf(req, cap,
	                "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                "Sec-WebSocket-Version: 13\r\n%s\r\n",
	                path, port, extra_headers ? extra_headers : "");
}

/* A WebSocket upgrade request from `src`; returns the HTTP status. */
static inline int ws_handshake_status(const char *src, int port, const char *extra_headers)
{
	int fd = tcp_connect_from(src, port);
	if (fd < 0)
		return fd;
	char req[1024];
	int n = ws_upgrade_request(req, sizeof req, "/ws", port, extra_headers);
	int status = write_all(fd, req, (size_t)n) ? -EIO : read_http_status(fd, 5000);
	close(fd);
	return status;
}

/* GET path over plain HTTP; returns the status and copies the body. */
static inline int http_get(int port, const char *path, char *body, size_t cap)
{
	int fd = tcp_connect_from(NULL, port);
	if (fd < 0)
		return fd;
	char req[256];
	int n = snprintf(req, sizeof req,
	                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	if (write_all(fd, req, (size_t)n)) {
		close(fd);
		return -EIO;
	}
	size_t got = 0;
	char *buf = malloc(1 << 20);
	uint64_t end = mws_test_now_ms() + 5000;
	while (got < (1 << 20) - 1) {
		uint64_t now = mws_test_now_ms();
		if (now >= end || mws_test_wait_readable(fd, (int)(end - now)) <= 0)
			break;
		ssize_t r = read(fd, buf + got, (1 << 20) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		const char *h = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
		if (h && cl && cl < h && got - (size_t)(h + 4 - buf) >= strtoul(cl + 15, NULL, 10))
			break;
	}
	buf[got] = '\0';
	close(fd);
	int status = 0;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	const char *b = strstr(buf, "\r\n\r\n");
	if (body && cap) {
		snprintf(body, cap, "%s", b ? b + 4 : "");
	}
	free(buf);
	return status;
}

/* A metric's value from /metrics, or -1. */
static inline long long metric(int port, const char *name)
{
	static char body[1 << 16];
	if (http_get(port, "/metrics", body, sizeof body) != 200)
		return -1;
	char key[128];
	snprintf(key, sizeof key, "\n%s ", name);
	const char *p = strstr(body, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* A self-signed certificate for 127.0.0.1 in a fresh temporary directory. */
typedef struct test_cert {
	char dir[32], cert[64], key[64];
} test_cert;

static inline void test_cert_make(test_cert *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/mws-tls-XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(t->cert, sizeof t->cert, "%s/cert.pem", t->dir);
	snprintf(t->key, sizeof t->key, "%s/key.pem", t->dir);
	char cmd[512];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-keyout %s -out %s -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1", t->key, t->cert);
	cr_assert_eq(system(cmd), 0, "openssl could not make a certificate");
}

static inline void test_cert_remove(test_cert *t)
{
	unlink(t->cert);
	unlink(t->key);
	rmdir(t->dir);
}

#endif
