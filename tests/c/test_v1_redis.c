/*
 * mws.v1 sessions in Redis (docs/SESSIONS-REDIS.md) with a real
 * redis-server per test: a session made on node A resumes on node B with
 * nothing lost, duplicated or reordered either way; a send from one node
 * reaches a session held by another; a broadcast reaches every node's
 * clients; Redis unreachable at start is MWS_ESTORE.
 */
#include "redis_harness.h"
#include "server_common.h"
#include "v1_harness.h"

#define N_MSGS 3000

static mws_client_config fast_client(void)
{
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.base_delay_ms = 20;
	cc.max_delay_ms = 200;
	cc.handshake_timeout_ms = 1000;
	cc.connect_timeout_ms = 1000;
	cc.restart_spread_ms = 100;
	return cc;
}

static mws_server_config node_config(const char *url)
{
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.iface = "127.0.0.1";
	sc.session_store_url = url;
	return sc;
}

/* Another node, with the same application callbacks as a->srv. */
static mws_server *second_node(v1_app *a, const char *url)
{
	mws_server_config sc = node_config(url);
	mws_server *b = NULL;
	cr_assert_eq(mws_server_new(&b, a->ctx, &sc), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = v1_s_connect;
	cb.on_message = v1_s_message;
	cb.on_disconnect = v1_s_disconnect;
	cb.on_session = v1_s_session;
	cr_assert_eq(mws_server_set_callbacks(b, &cb, a, NULL), 0);
	cr_assert_eq(mws_server_start(b), 0);
	return b;
}

/* A metric's value from /metrics, or -1. */
static long long metric(int port, const char *name)
{
	static char body[1 << 16];
	if (http_get(port, "/metrics", body, sizeof body) != 200)
		return -1;
	char key[128];
	snprintf(key, sizeof key, "\n%s ", name);
	const char *p = strstr(body, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

Test(v1_redis, unreachable_or_bad_url_fails_at_new)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_server *s = NULL;
	char url[64];
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", redis_free_port()); /* nobody */
	mws_server_config sc = node_config(url);
	cr_expect_eq(mws_server_new(&s, ctx, &sc), MWS_ESTORE);
	cr_expect_null(s);
	sc.session_store_url = "http://127.0.0.1:6379/";
	cr_expect_eq(mws_server_new(&s, ctx, &sc), MWS_EINVAL);
	sc.session_store_url = "redis://127.0.0.1:99999/0";
	cr_expect_eq(mws_server_new(&s, ctx, &sc), MWS_EINVAL);
	mws_ctx_free(ctx);
}

typedef struct hop {
	v1_app *a;
	mws_server *b;
} hop;
static hop g_hop;

/* At each quarter the client's connection is cut and it lands on the
 * other node: A -> B -> A -> B. */
static void hop_node(v1_app *a, int quarter)
{
	mws_server *to = quarter % 2 ? g_hop.b : a->srv;
	cr_assert_eq(mws_fault_proxy_set_upstream(a->px, "127.0.0.1", mws_server_port(to)), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_RESET, 0), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_PASS, 0), 0);
}

Test(v1_redis, session_moves_between_nodes_losing_nothing, .timeout = 120)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	v1_app a;
	v1_init(&a);
	mws_server_config sc = node_config(r.url);
	v1_server_start(&a, &sc);
	mws_server *b = second_node(&a, r.url);
	g_hop = (hop){&a, b};
	cr_assert_eq(mws_fault_proxy_start(&a.px, "127.0.0.1", 0, "127.0.0.1",
	                                   mws_server_port(a.srv)), 0);
	mws_client_config cc = fast_client();
	v1_client_start(&a, mws_fault_proxy_port(a.px), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));

	/* The server half always sends through node A: while the session is
	 * on B that goes through Redis. */
	v1_pump(&a, N_MSGS, hop_node, 90000);

	cr_expect_eq(atomic_load(&a.s_got), N_MSGS, "server got %lu",
	             (unsigned long)atomic_load(&a.s_got));
	cr_expect_eq(atomic_load(&a.c_got), N_MSGS, "client got %lu",
	             (unsigned long)atomic_load(&a.c_got));
	cr_expect_eq(atomic_load(&a.s_bad), 0, "server: %lu out of order or duplicated",
	             (unsigned long)atomic_load(&a.s_bad));
	cr_expect_eq(atomic_load(&a.c_bad), 0, "client: %lu out of order or duplicated",
	             (unsigned long)atomic_load(&a.c_bad));
	cr_expect_eq(atomic_load(&a.lost), 0, "the session was never lost");
	cr_expect_eq(atomic_load(&a.started), 1);
	cr_expect_geq(atomic_load(&a.c_resumed), 3);
	/* Each arrival on a node is an on_connect there; each departure an
	 * on_disconnect (MWS_DISCONNECT_MOVED) on the node it left. */
	cr_expect_geq(metric(mws_server_port(b), "mws_server_sessions_taken_over_total"), 2);
	cr_expect_geq(metric(mws_server_port(a.srv), "mws_server_sessions_moved_total"), 2);
	cr_expect_geq(metric(mws_server_port(a.srv), "mws_server_remote_sends_total"), 1);

	mws_server_free(b);
	v1_fini(&a);
	redis_stop(&r);
}

/* ---- sends and broadcasts across nodes ---- */

typedef struct inbox {
	pthread_mutex_t mu;
	char last[64];
	char log[512]; /* every text, each followed by '|' */
	atomic_int got;
} inbox;

static void inbox_message(mws_client *c, const void *d, size_t n, int t, void *u)
{
	(void)c, (void)t;
	inbox *in = u;
	pthread_mutex_lock(&in->mu);
	snprintf(in->last, sizeof in->last, "%.*s", (int)n, (const char *)d);
	size_t l = strlen(in->log);
	snprintf(in->log + l, sizeof in->log - l, "%.*s|", (int)n, (const char *)d);
	pthread_mutex_unlock(&in->mu);
	atomic_fetch_add(&in->got, 1);
}

static atomic_uint_least64_t g_ids[2];
static atomic_int g_connects;

static void note_connect(mws_server *s, mws_conn_id id, const mws_conn_info *i, void *u)
{
	(void)s, (void)i;
	atomic_store(&g_ids[(intptr_t)u], id);
	atomic_fetch_add(&g_connects, 1);
}

static mws_server *plain_node(mws_ctx *ctx, const char *url, intptr_t which)
{
	mws_server_config sc = node_config(url);
	mws_server *s = NULL;
	cr_assert_eq(mws_server_new(&s, ctx, &sc), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = note_connect;
	cr_assert_eq(mws_server_set_callbacks(s, &cb, (void *)which, NULL), 0);
	cr_assert_eq(mws_server_start(s), 0);
	return s;
}

static mws_client *inbox_client(mws_ctx *ctx, int port, inbox *in)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	mws_client *c = NULL;
	mws_client_config cc = fast_client();
	cr_assert_eq(mws_client_new(&c, ctx, url, &cc), 0);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_message = inbox_message;
	cr_assert_eq(mws_client_set_callbacks(c, &cb, in, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

static bool wait_text(inbox *in, int n, const char *text)
{
	uint64_t end = mws_test_now_ms() + 5000;
	while (mws_test_now_ms() < end) {
		pthread_mutex_lock(&in->mu);
		bool ok = atomic_load(&in->got) >= n && !strcmp(in->last, text);
		pthread_mutex_unlock(&in->mu);
		if (ok)
			return true;
		usleep(2000);
	}
	return false;
}

Test(v1_redis, send_and_broadcast_reach_other_nodes, .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	atomic_store(&g_connects, 0);
	mws_server *na = plain_node(ctx, r.url, 0), *nb = plain_node(ctx, r.url, 1);
	inbox ia = {PTHREAD_MUTEX_INITIALIZER}, ib = {PTHREAD_MUTEX_INITIALIZER};
	mws_client *ca = inbox_client(ctx, mws_server_port(na), &ia);
	mws_client *cb = inbox_client(ctx, mws_server_port(nb), &ib);
	uint64_t end = mws_test_now_ms() + 5000;
	while (atomic_load(&g_connects) < 2 && mws_test_now_ms() < end)
		usleep(2000);
	cr_assert_eq(atomic_load(&g_connects), 2);
	mws_conn_id id_a = atomic_load(&g_ids[0]), id_b = atomic_load(&g_ids[1]);
	cr_expect_neq(id_a, id_b, "ids are unique across nodes");

	/* B sends to the session A holds, and A to B's. */
	cr_assert_eq(mws_server_send(nb, id_a, "from b", 6, MWS_MSG_TEXT), 0);
	cr_expect(wait_text(&ia, 1, "from b"));
	cr_assert_eq(mws_server_send(na, id_b, "from a", 6, MWS_MSG_TEXT), 0);
	cr_expect(wait_text(&ib, 1, "from a"));
	/* An id no node holds. */
	cr_expect_eq(mws_server_send(na, id_a + 1000, "x", 1, MWS_MSG_TEXT), MWS_ECLOSED);

	/* A broadcast from either node reaches both clients, once each. */
	cr_assert_eq(mws_server_broadcast(na, "all 1", 5, MWS_MSG_TEXT), 0);
	cr_expect(wait_text(&ia, 2, "all 1"));
	cr_expect(wait_text(&ib, 2, "all 1"));
	cr_assert_eq(mws_server_broadcast(nb, "all 2", 5, MWS_MSG_TEXT), 0);
	cr_expect(wait_text(&ia, 3, "all 2"));
	cr_expect(wait_text(&ib, 3, "all 2"));
	usleep(200000);
	cr_expect_eq(atomic_load(&ia.got), 3);
	cr_expect_eq(atomic_load(&ib.got), 3);

	mws_client_free(ca);
	mws_client_free(cb);
	mws_server_free(na);
	mws_server_free(nb);
	mws_ctx_free(ctx);
	redis_stop(&r);
}

/* ---- Redis lost while running, then back ---- */

static bool wait_status(int port, int want, int timeout_ms)
{
	static char body[4096];
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	do {
		if (http_get(port, "/healthz", body, sizeof body) == want)
			return true;
		usleep(20000);
	} while (mws_test_now_ms() < end);
	return false;
}

static atomic_int g_cli_connected[2];

static void count_connected(mws_client *c, const mws_state_change *ch, void *u)
{
	(void)c;
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&g_cli_connected[(intptr_t)u], 1);
}

Test(v1_redis, redis_lost_then_back, .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	atomic_store(&g_connects, 0);
	mws_server *na = plain_node(ctx, r.url, 0);
	int port = mws_server_port(na);
	inbox ia = {PTHREAD_MUTEX_INITIALIZER};
	mws_client *ca = inbox_client(ctx, port, &ia);
	uint64_t end = mws_test_now_ms() + 5000;
	while (atomic_load(&g_connects) < 1 && mws_test_now_ms() < end)
		usleep(2000);
	cr_assert_eq(atomic_load(&g_connects), 1);
	mws_conn_id id = atomic_load(&g_ids[0]);
	cr_assert_eq(mws_server_send(na, id, "before", 6, MWS_MSG_TEXT), 0);
	cr_assert(wait_text(&ia, 1, "before"));
	cr_expect(wait_status(port, 200, 1000));
	cr_expect_eq(metric(port, "mws_server_store_up"), 1);

	redis_stop(&r);
	/* Noticed within a store ping (1 s). */
	cr_expect(wait_status(port, 503, 5000), "/healthz says the store is down");
	cr_expect_eq(metric(port, "mws_server_store_up"), 0);
	/* A send to a session held here is kept (not written: it could not be
	 * saved); one to a session elsewhere, and a broadcast to the other
	 * nodes, are refused with MWS_ESTORE. */
	cr_expect_eq(mws_server_send(na, id, "while down", 10, MWS_MSG_TEXT), 0);
	cr_expect_eq(mws_server_send(na, id + 7, "x", 1, MWS_MSG_TEXT), MWS_ESTORE);
	cr_expect_eq(mws_server_broadcast(na, "all", 3, MWS_MSG_TEXT), MWS_ESTORE,
	             "delivered here, not to other nodes");
	usleep(300000);
	cr_expect_eq(atomic_load(&ia.got), 1, "nothing is written while it cannot be saved");
	/* A new session is refused for now (1013), and counted. */
	mws_client *cb = NULL;
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	mws_client_config cc = fast_client();
	cr_assert_eq(mws_client_new(&cb, ctx, url, &cc), 0);
	mws_client_callbacks cbs = {sizeof cbs};
	cbs.on_state = count_connected;
	atomic_store(&g_cli_connected[1], 0);
	cr_assert_eq(mws_client_set_callbacks(cb, &cbs, (void *)(intptr_t)1, NULL), 0);
	cr_assert_eq(mws_client_connect(cb), 0);
	end = mws_test_now_ms() + 5000;
	while (metric(port, "mws_server_store_refused_total") < 1 && mws_test_now_ms() < end)
		usleep(20000);
	cr_expect_geq(metric(port, "mws_server_store_refused_total"), 1);
	cr_expect_eq(atomic_load(&g_cli_connected[1]), 0);
	cr_expect_geq(metric(port, "mws_server_store_errors_total"), 1);

	/* Back, empty (nothing was persisted): the session held here is
	 * written anew, what waited goes out, new sessions are made. */
	redis_restart(&r);
	cr_expect(wait_status(port, 200, 5000), "/healthz is ok again");
	cr_expect(wait_text(&ia, 3, "all"), "held messages go out");
	end = mws_test_now_ms() + 10000;
	while (atomic_load(&g_cli_connected[1]) < 1 && mws_test_now_ms() < end)
		usleep(5000);
	cr_expect_geq(atomic_load(&g_cli_connected[1]), 1, "the refused client got a session");
	cr_expect_eq(mws_server_send(na, id, "after", 5, MWS_MSG_TEXT), 0);
	cr_expect(wait_text(&ia, 4, "after"));
	pthread_mutex_lock(&ia.mu);
	cr_expect_str_eq(ia.log, "before|while down|all|after|", "once each, in order");
	pthread_mutex_unlock(&ia.mu);

	mws_client_free(ca);
	mws_client_free(cb);
	mws_server_free(na);
	mws_ctx_free(ctx);
	redis_stop(&r);
}
