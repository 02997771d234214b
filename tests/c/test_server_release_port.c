/* release_port_on_shutdown: the listening socket closes when a graceful
 * shutdown begins, so the successor listens on the port while the old
 * server still drains (a restart's clients that come back early meet the
 * new server, or a refusal, not the old one's 503). The default keeps the
 * old behaviour: the port answers 503 until the drain ends. One raw
 * WebSocket that never answers its close keeps the drain going. */
#include "server_common.h"
#include "test_timing.h"

typedef struct shut {
	mws_server *srv;
	atomic_int returned;
} shut;

static void *shut_run(void *arg)
{
	shut *s = arg;
	mws_server_shutdown(s->srv, 1012, 1000, 20000);
	atomic_store(&s->returned, 1);
	return NULL;
}

static bool draining(void *arg)
{
	return server_stats(arg).shutting_down == 1;
}

/* 1 if a listener could bind 127.0.0.1:port now (as a successor would). */
static int port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0;
	close(fd);
	return ok;
}

static bool port_free_cond(void *arg)
{
	return port_free(*(int *)arg);
}

/* A server on its own context, started with `release`, one raw WebSocket
 * held open that never answers, and a shutdown under way in a thread. */
static void start_draining(int release, mws_ctx **ctx, rec *r, shut *s, pthread_t *th, int *fd)
{
	*ctx = rec_ctx(r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.release_port_on_shutdown = release;
	s->srv = rec_server(*ctx, &cfg, r);
	atomic_store(&s->returned, 0);
	int port = mws_server_port(s->srv);
	*fd = tcp_connect_from(NULL, port);
	cr_assert_geq(*fd, 0);
	char req[1024];
	int n = ws_upgrade_request(req, sizeof req, "/", port, NULL);
	cr_assert_eq(write_all(*fd, req, (size_t)n), 0);
	cr_assert_eq(read_http_status(*fd, 5000), 101);
	cr_assert(wait_at_least(&r->connects, 1, 5000));
	cr_assert_eq(pthread_create(th, NULL, shut_run, s), 0);
	cr_assert(mws_test_wait_until(draining, s->srv, 5000), "the shutdown began");
}

static void finish(mws_ctx *ctx, shut *s, pthread_t th, int fd)
{
	close(fd); /* the drain ends */
	pthread_join(th, NULL);
	cr_expect_eq(atomic_load(&s->returned), 1);
	mws_server_free(s->srv);
	mws_ctx_free(ctx);
}

Test(server_release_port, a_successor_listens_while_the_old_server_drains, .timeout = 60)
{
	mws_ctx *ctx;
	rec r;
	shut s;
	pthread_t th;
	int fd;
	start_draining(1, &ctx, &r, &s, &th, &fd);
	int port = mws_server_port(s.srv);
	cr_assert(mws_test_wait_until(port_free_cond, &port, 5000), "port %d free", port);

	/* the successor, as a new process would: its own context, same port */
	rec r2;
	mws_ctx *ctx2 = rec_ctx(&r2);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	cfg.port = port;
	mws_server *next = NULL;
	cr_assert_eq(mws_server_new(&next, ctx2, &cfg), 0);
	cr_assert_eq(mws_server_start(next), 0, "the port is taken again at once");
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 101, "the successor answers");
	cr_expect_eq(atomic_load(&s.returned), 0, "while the old one still drains");
	cr_expect_eq(server_stats(s.srv).shutting_down, 1);
	finish(ctx, &s, th, fd);
	mws_server_free(next);
	mws_ctx_free(ctx2);
}

Test(server_release_port, by_default_the_port_answers_503_until_the_drain_ends, .timeout = 60)
{
	mws_ctx *ctx;
	rec r;
	shut s;
	pthread_t th;
	int fd;
	start_draining(0, &ctx, &r, &s, &th, &fd);
	int port = mws_server_port(s.srv);
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 503);
	cr_expect_not(port_free(port), "still listening");
	cr_expect_eq(atomic_load(&s.returned), 0);
	finish(ctx, &s, th, fd);
}
