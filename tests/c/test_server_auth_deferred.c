/* on_auth answers later: MWS_AUTH_PENDING, then mws_server_auth_answer()
 * from another thread. The handshake waits without holding the I/O thread,
 * refuses with the answer's status, and times out with 503. */
#include "server_common.h"
#include "test_timing.h"

#include <time.h>

/* What on_auth saw, and the handles it left pending. */
typedef struct later {
	atomic_int calls;
	atomic_uint_least64_t ids[8];
	char token[8][64];
	char path[8][256];
	char ip[8][64];
	pthread_mutex_t lock;
	atomic_int connects, messages;
	atomic_uint_least64_t conn_id;
	int answer_inside;       /* answer from inside on_auth, with this status + 1 */
} later;

static int later_auth(mws_server *srv, const mws_conn_info *info, void *ud)
{
	later *l = ud;
	int i = atomic_load(&l->calls);
	if (i < 8) {
		pthread_mutex_lock(&l->lock);
		mws_conn_info_header(info, "X-Token", l->token[i], sizeof l->token[i]);
		snprintf(l->path[i], sizeof l->path[i], "%s", info->path);
		snprintf(l->ip[i], sizeof l->ip[i], "%s", info->peer_ip);
		pthread_mutex_unlock(&l->lock);
		atomic_store(&l->ids[i], info->auth_id);
	}
	char all[1024];
	int an = mws_conn_info_headers(info, all, sizeof all);
	if (info->auth_id)
		cr_assert(an > 0 && strstr(all, "Upgrade: websocket\r\n"), "%d %s", an, all);
	else
		cr_assert_eq(an, MWS_ESTATE);
	if (l->answer_inside)
		cr_assert_eq(mws_server_auth_answer(srv, info->auth_id, l->answer_inside - 1), 0);
	atomic_fetch_add(&l->calls, 1);
	return MWS_AUTH_PENDING;
}

static void later_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)srv;
	(void)info;
	later *l = ud;
	atomic_store(&l->conn_id, id);
	atomic_fetch_add(&l->connects, 1);
}

static void later_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                          int type, void *ud)
{
	later *l = ud;
	atomic_fetch_add(&l->messages, 1);
	mws_server_send(srv, id, data, len, type);
}

static mws_server *later_server(mws_ctx *ctx, later *l, int handshake_timeout_ms)
{
	memset(l, 0, sizeof *l);
	pthread_mutex_init(&l->lock, NULL);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	cfg.handshake_timeout_ms = handshake_timeout_ms;
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, later_auth, later_connect, later_message, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, l, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	return srv;
}

/* A raw upgrade request; returns the socket. */
static int upgrade(int port, const char *path, const char *token)
{
	int fd = mws_test_tcp_connect(port);
	cr_assert_geq(fd, 0);
	char req[512];
	int n = snprintf(req, sizeof req,
	                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 13\r\nX-Token: %s\r\n\r\n",
	                 path, token);
	cr_assert_eq(write_all(fd, req, (size_t)n), 0);
	return fd;
}

/* The status line of the answer, within timeout_ms; "" if none. */
static void status_line(int fd, char *line, size_t cap, int timeout_ms)
{
	line[0] = '\0';
	if (mws_test_wait_readable(fd, timeout_ms) <= 0)
		return;
	char buf[1024];
	ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *eol = strstr(buf, "\r\n");
	if (eol)
		*eol = '\0';
	snprintf(line, cap, "%.*s", (int)(cap - 1), buf);
}

static bool calls_at_least(void *arg)
{
	return atomic_load(&((later *)arg)->calls) >= 2;
}

typedef struct answerer {
	mws_server *srv;
	uint64_t id;
	int status;
	int delay_ms;
	int rc;
} answerer;

static void *answer_later(void *arg)
{
	answerer *a = arg;
	nanosleep(&(struct timespec){0, (long)a->delay_ms * 1000000L}, NULL);
	a->rc = mws_server_auth_answer(a->srv, a->id, a->status);
	return NULL;
}

Test(server_auth_deferred, a_pending_handshake_waits_for_the_answer_from_another_thread,
     .timeout = 60)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	later l;
	mws_server *srv = later_server(ctx, &l, 10000);
	int port = mws_server_port(srv);
	int a = upgrade(port, "/feed?x=1", "alice");
	int b = upgrade(port, "/feed?x=2", "mallory");
	cr_assert(mws_test_wait_until(calls_at_least, &l, 5000));
	/* Both wait; neither has an answer. */
	char line[256];
	status_line(a, line, sizeof line, 300);
	cr_assert_str_eq(line, "", "answered before the application did: %s", line);

	/* A client connecting meanwhile is served: the I/O thread is free. */
	int c = upgrade(port, "/other", "carol");
	cr_assert(wait_at_least(&l.calls, 3, 5000), "the I/O thread was held by a pending auth");

	pthread_mutex_lock(&l.lock);
	int ai = !strcmp(l.token[0], "alice") ? 0 : 1;
	cr_assert_str_eq(l.token[ai], "alice");
	cr_assert_str_eq(l.path[ai], "/feed?x=1");
	cr_assert_str_eq(l.ip[ai], "127.0.0.1");
	pthread_mutex_unlock(&l.lock);
	uint64_t ida = atomic_load(&l.ids[ai]), idb = atomic_load(&l.ids[1 - ai]);
	cr_assert_neq(ida, 0);
	cr_assert_neq(ida, idb);

	answerer ans_a = {srv, ida, 0, 50, -99}, ans_b = {srv, idb, 401, 10, -99};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, answer_later, &ans_a);
	pthread_create(&tb, NULL, answer_later, &ans_b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	cr_assert_eq(ans_a.rc, 0);
	cr_assert_eq(ans_b.rc, 0);

	status_line(a, line, sizeof line, 5000);
	cr_assert_str_eq(line, "HTTP/1.1 101 Switching Protocols");
	status_line(b, line, sizeof line, 5000);
	cr_assert_str_eq(line, "HTTP/1.1 401 Unauthorized");
	cr_assert(wait_at_least(&l.connects, 1, 5000));
	/* A second answer for the same handshake: it no longer waits. */
	cr_assert_eq(mws_server_auth_answer(srv, ida, 0), MWS_ECLOSED);
	cr_assert_eq(mws_server_auth_answer(srv, 0, 0), MWS_EINVAL);
	cr_assert_eq(mws_server_auth_answer(srv, ida, MWS_AUTH_PENDING), MWS_EINVAL);
	mws_server_stats st = server_stats(srv);
	cr_assert_eq(st.refused[MWS_REFUSE_AUTH], 1);
	cr_assert_eq(st.accepted, 1);
	close(a);
	close(b);
	close(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server_auth_deferred, an_unanswered_handshake_gets_503_at_the_handshake_timeout,
     .timeout = 60)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	later l;
	mws_server *srv = later_server(ctx, &l, 1000);
	int fd = upgrade(mws_server_port(srv), "/", "slow");
	cr_assert(wait_at_least(&l.calls, 1, 5000));
	uint64_t id = atomic_load(&l.ids[0]);
	char line[256];
	status_line(fd, line, sizeof line, MWS_TEST_SLACK_MS(5000));
	cr_assert_str_eq(line, "HTTP/1.1 503 Service Unavailable");
	cr_assert_eq(mws_server_auth_answer(srv, id, 0), MWS_ECLOSED);
	mws_server_stats st = server_stats(srv);
	cr_assert_eq(st.refused[MWS_REFUSE_AUTH], 1);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

static bool client_connected(void *arg)
{
	return mws_client_state(arg) == MWS_STATE_CONNECTED;
}

/* Our own client, plain and mws.v1, through an answer given inside on_auth
 * (which still waits for the I/O thread's next turn). */
Test(server_auth_deferred, our_client_connects_through_a_deferred_accept_plain_and_v1,
     .timeout = 60)
{
	for (int mode = 0; mode < 2; mode++) {
		mws_ctx *ctx;
		cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
		later l;
		mws_server *srv = later_server(ctx, &l, 10000);
		l.answer_inside = 1; /* status 0 */
		char url[64];
		snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));
		mws_client_config cfg;
		mws_client_config_init(&cfg);
		cfg.protocol_mode = mode ? MWS_PROTOCOL_OFFER : MWS_PROTOCOL_PLAIN;
		mws_client *c = NULL;
		cr_assert_eq(mws_client_new(&c, ctx, url, &cfg), 0);
		cr_assert_eq(mws_client_connect(c), 0);
		cr_assert(mws_test_wait_until(client_connected, c, 5000), "mode %d", mode);
		cr_assert_eq(mws_client_send(c, "hi", 2, MWS_MSG_TEXT), 0);
		cr_assert(wait_at_least(&l.messages, 1, 5000), "mode %d", mode);
		mws_client_stats cst = {.size = sizeof cst};
		mws_client_stats_get(c, &cst);
		cr_assert_eq(cst.managed, mode);
		cr_assert_eq(atomic_load(&l.calls), 1, "on_auth ran again at FILTER");
		mws_client_free(c);
		mws_server_free(srv);
		mws_ctx_free(ctx);
	}
}

/* Under TLS the upgrade is answered in the same call: pending means 503. */
static bool auth_refused(void *srv)
{
	return server_stats(srv).refused[MWS_REFUSE_AUTH] > 0;
}

Test(server_auth_deferred, under_tls_pending_is_refused_with_503, .timeout = 60)
{
	test_cert tc;
	test_cert_make(&tc);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	later l;
	memset(&l, 0, sizeof l);
	pthread_mutex_init(&l.lock, NULL);
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	scfg.iface = "127.0.0.1";
	scfg.cert_file = tc.cert;
	scfg.key_file = tc.key;
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, &scfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, later_auth, later_connect, later_message, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, &l, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	char url[64];
	snprintf(url, sizeof url, "wss://127.0.0.1:%d/", mws_server_port(srv));
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.insecure = 1;
	cfg.no_reconnect = 1;
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cfg), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(wait_at_least(&l.calls, 1, 5000));
	cr_assert_eq(atomic_load(&l.ids[0]), 0, "no auth_id where the answer cannot wait");
	cr_assert(mws_test_wait_until(auth_refused, srv, 5000), "the handshake was not refused");
	cr_assert_eq(server_stats(srv).refused[MWS_REFUSE_AUTH], 1);
	cr_assert_eq(atomic_load(&l.connects), 0);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
	test_cert_remove(&tc);
}
