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

/* Got each of `want` once and nothing else, in any order: sends from
 * different nodes have no order between them. */
typedef struct expect_log {
	redis_inbox *in;
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

static mws_server *node(mws_ctx *ctx, const char *url, intptr_t which)
{
	mws_server *s = redis_plain_node(ctx, url, which);
	/* Listening to the other nodes from the moment it takes connections. */
	cr_expect_eq(metric(mws_server_port(s), "mws_server_store_bus_up"), 1,
	             "node %d: subscribed when mws_server_start() returned", (int)which);
	return s;
}

Test(v1_redis_bus, nodes_listen_before_they_take_connections, .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	redis_relay rl;
	cr_assert_eq(redis_relay_start(&rl, r.port, "SUBSCRIBE", HOLD_MS, 0), 0);
	char url[64];
	redis_url_for_port(url, sizeof url, rl.port);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	atomic_store(&redis_node_connects, 0);
	mws_server *na = node(ctx, url, 0), *nb = node(ctx, url, 1);
	redis_inbox ia = {PTHREAD_MUTEX_INITIALIZER}, ib = {PTHREAD_MUTEX_INITIALIZER};
	mws_client *ca = redis_inbox_client(ctx, mws_server_port(na), &ia, NULL);
	mws_client *cb = redis_inbox_client(ctx, mws_server_port(nb), &ib, NULL);
	cr_assert(wait_at_least(&redis_node_connects, 2, 5000));

	/* At once: no waiting for the subscriptions the relay holds. */
	mws_conn_id id_a = atomic_load(&redis_node_ids[0]);
	cr_assert_eq(mws_server_send(nb, id_a, "from b", 6, MWS_MSG_TEXT), 0);
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
