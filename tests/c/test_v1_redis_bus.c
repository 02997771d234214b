/*
 * A node of a Redis cluster (docs/SESSIONS-REDIS.md) listens to the other
 * nodes before it takes connections: once mws_server_start() returned, a
 * send from another node to one of its sessions, and a broadcast from
 * another node, reach its clients. A relay in front of Redis holds each
 * node's SUBSCRIBE back for a while, so a node that took connections
 * before its subscription was in place would lose both, every time.
 */
#include "redis_harness.h"
#include "redis_relay.h"
#include "server_common.h"

#define HOLD_MS 250 /* below the subscription's 500 ms reply bound */

typedef struct inbox {
	pthread_mutex_t mu;
	char log[256]; /* every text, each followed by '|' */
} inbox;

static void inbox_message(mws_client *c, const void *d, size_t n, int t, void *u)
{
	(void)c, (void)t;
	inbox *in = u;
	pthread_mutex_lock(&in->mu);
	size_t l = strlen(in->log);
	snprintf(in->log + l, sizeof in->log - l, "%.*s|", (int)n, (const char *)d);
	pthread_mutex_unlock(&in->mu);
}

/* Got each of `want` once and nothing else, in any order: sends from
 * different nodes have no order between them. */
typedef struct expect_log {
	inbox *in;
	const char *want[2];
} expect_log;

static bool log_has_all(void *arg)
{
	expect_log *e = arg;
	size_t len = 0;
	bool ok = true;
	pthread_mutex_lock(&e->in->mu);
	for (int i = 0; i < 2 && e->want[i]; i++) {
		ok = ok && strstr(e->in->log, e->want[i]);
		len += strlen(e->want[i]);
	}
	ok = ok && strlen(e->in->log) == len;
	pthread_mutex_unlock(&e->in->mu);
	return ok;
}

static atomic_uint_least64_t g_ids[2];
static atomic_int g_connects;

static void note_connect(mws_server *s, mws_conn_id id, const mws_conn_info *i, void *u)
{
	(void)s, (void)i;
	atomic_store(&g_ids[(intptr_t)u], id);
	atomic_fetch_add(&g_connects, 1);
}

static bool two_connected(void *arg)
{
	(void)arg;
	return atomic_load(&g_connects) >= 2;
}

static mws_server *node(mws_ctx *ctx, const char *url, intptr_t which)
{
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.iface = "127.0.0.1";
	sc.session_store_url = url;
	mws_server *s = NULL;
	cr_assert_eq(mws_server_new(&s, ctx, &sc), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = note_connect;
	cr_assert_eq(mws_server_set_callbacks(s, &cb, (void *)which, NULL), 0);
	cr_assert_eq(mws_server_start(s), 0);
	/* Listening to the other nodes from the moment it takes connections. */
	cr_expect_eq(metric(mws_server_port(s), "mws_server_store_bus_up"), 1,
	             "node %d: subscribed when mws_server_start() returned", (int)which);
	return s;
}

static mws_client *client(mws_ctx *ctx, int port, inbox *in)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	mws_client_config cc;
	mws_client_config_init(&cc);
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cc), 0);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_message = inbox_message;
	cr_assert_eq(mws_client_set_callbacks(c, &cb, in, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

Test(v1_redis_bus, nodes_listen_before_they_take_connections, .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	redis_relay rl;
	cr_assert_eq(redis_relay_start(&rl, r.port, "SUBSCRIBE", HOLD_MS, 0), 0);
	char url[64];
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", rl.port);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	atomic_store(&g_connects, 0);
	mws_server *na = node(ctx, url, 0), *nb = node(ctx, url, 1);
	inbox ia = {PTHREAD_MUTEX_INITIALIZER}, ib = {PTHREAD_MUTEX_INITIALIZER};
	mws_client *ca = client(ctx, mws_server_port(na), &ia);
	mws_client *cb = client(ctx, mws_server_port(nb), &ib);
	cr_assert(mws_test_wait_until(two_connected, NULL, 5000));

	/* At once: no waiting for the subscriptions the relay holds. */
	cr_assert_eq(mws_server_send(nb, atomic_load(&g_ids[0]), "from b", 6, MWS_MSG_TEXT), 0);
	cr_assert_eq(mws_server_broadcast(na, "all", 3, MWS_MSG_TEXT), 0);
	expect_log ea = {&ia, {"from b|", "all|"}}, eb = {&ib, {"all|", NULL}};
	cr_expect(mws_test_wait_until(log_has_all, &ea, 5000), "client A got \"%s\"", ia.log);
	cr_expect(mws_test_wait_until(log_has_all, &eb, 5000), "client B got \"%s\"", ib.log);
	cr_expect_eq(atomic_load(&rl.held), 2, "both subscriptions were held back");

	mws_client_free(ca);
	mws_client_free(cb);
	mws_server_free(na);
	mws_server_free(nb);
	mws_ctx_free(ctx);
	redis_relay_stop(&rl);
	redis_stop(&r);
}
