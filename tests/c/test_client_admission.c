/* Connection attempts in flight per context (mws_ctx_config.max_connecting):
 * clients whose attempts fall due together open at most that many sockets;
 * the others wait, start as slots free, and time out within their connect
 * timeout. The peer is a bare listener that accepts and never answers, so
 * every socket it accepts is an attempt still in flight. */
#include "server_common.h"

enum { N = 20, LIMIT = 4 };

typedef struct lsn {
	int fd, port;
	int conns[N];
	int n;
} lsn;

static void lsn_open(lsn *l)
{
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_geq(l->fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	socklen_t len = sizeof a;
	cr_assert_eq(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(l->fd, 64), 0);
	cr_assert_eq(getsockname(l->fd, (struct sockaddr *)&a, &len), 0);
	l->port = ntohs(a.sin_port);
	l->n = 0;
}

/* Accepts what waits; the count of sockets accepted so far. */
static bool lsn_take(void *arg)
{
	lsn *l = arg;
	int fd;
	while (l->n < N && (fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		l->conns[l->n++] = fd;
	return false;
}

/* Accepts for ms milliseconds (a window to watch, bounded). */
static int lsn_watch(lsn *l, int ms)
{
	mws_test_wait_until(lsn_take, l, ms);
	return l->n;
}

static mws_ctx *ctx_with_limit(int limit)
{
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.max_connecting = limit;
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, &cc), 0);
	return ctx;
}

static atomic_int queued_timeouts;

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c, (void)ud;
	if (ch->to == MWS_STATE_RECONNECTING && strstr(ch->reason, "queued"))
		atomic_fetch_add(&queued_timeouts, 1);
}

static void connect_all(mws_ctx *ctx, mws_client **cs, int port, int connect_timeout_ms)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.connect_timeout_ms = connect_timeout_ms;
	cfg.handshake_timeout_ms = 30000;
	cfg.base_delay_ms = 30000; /* a failed attempt stays out of the picture */
	cfg.max_delay_ms = 30000;
	for (int i = 0; i < N; i++) {
		cr_assert_eq(mws_client_new(&cs[i], ctx, url, &cfg), 0);
		mws_client_callbacks cbs = {sizeof cbs, on_state, NULL, NULL};
		cr_assert_eq(mws_client_set_callbacks(cs[i], &cbs, NULL, NULL), 0);
		cr_assert_eq(mws_client_connect(cs[i]), 0);
	}
}

static void finish(mws_ctx *ctx, mws_client **cs, lsn *l)
{
	for (int i = 0; i < N; i++)
		mws_client_free(cs[i]);
	mws_ctx_free(ctx);
	for (int i = 0; i < l->n; i++)
		close(l->conns[i]);
	close(l->fd);
}

Test(client_admission, no_more_attempts_in_flight_than_the_bound_and_the_rest_follow,
     .timeout = 60)
{
	lsn l;
	lsn_open(&l);
	mws_ctx *ctx = ctx_with_limit(LIMIT);
	mws_client *cs[N];
	connect_all(ctx, cs, l.port, 30000);
	cr_expect_eq(lsn_watch(&l, 1000), LIMIT, "sockets opened at once");
	/* two attempts end (the peer hangs up): two waiting ones go */
	close(l.conns[0]);
	close(l.conns[1]);
	l.conns[0] = l.conns[1] = -1;
	cr_expect_eq(lsn_watch(&l, 1000), LIMIT + 2);
	finish(ctx, cs, &l);
}

Test(client_admission, without_a_bound_every_attempt_opens_its_socket, .timeout = 60)
{
	lsn l;
	lsn_open(&l);
	mws_ctx *ctx = ctx_with_limit(-1);
	mws_client *cs[N];
	connect_all(ctx, cs, l.port, 30000);
	cr_expect_eq(lsn_watch(&l, 1000), N);
	finish(ctx, cs, &l);
}

Test(client_admission, a_wait_for_a_slot_ends_at_the_connect_timeout, .timeout = 60)
{
	lsn l;
	lsn_open(&l);
	mws_ctx *ctx = ctx_with_limit(LIMIT);
	mws_client *cs[N];
	atomic_store(&queued_timeouts, 0);
	connect_all(ctx, cs, l.port, 300);
	/* the 4 in flight are past their connect (handshake sent, 30 s); the
	 * 16 waiting time out at 300 ms, telling why */
	cr_expect(wait_at_least(&queued_timeouts, N - LIMIT, 5000), "%d timed out in line",
	          atomic_load(&queued_timeouts));
	cr_expect_eq(lsn_watch(&l, 300), LIMIT);
	finish(ctx, cs, &l);
}

Test(client_admission, a_bound_below_minus_one_is_refused)
{
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.max_connecting = -2;
	mws_ctx *ctx = NULL;
	cr_expect_eq(mws_ctx_new(&ctx, &cc), MWS_EINVAL);
}
