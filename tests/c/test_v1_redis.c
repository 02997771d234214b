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
#define WINDOW 100

static mws_client_config fast_client(void)
{
	mws_client_config cc = redis_client_config();
	cc.handshake_timeout_ms = 1000;
	cc.connect_timeout_ms = 1000;
	cc.restart_spread_ms = 100;
	return cc;
}

typedef struct metric_wait {
	int port;
	const char *name;
	long long min;
} metric_wait;

static bool metric_reached(void *arg)
{
	metric_wait *w = arg;
	return metric(w->port, w->name) >= w->min;
}

/* A metric at least `min` within timeout_ms. */
static bool wait_metric(int port, const char *name, long long min, int timeout_ms)
{
	metric_wait w = {port, name, min};
	return mws_test_wait_until(metric_reached, &w, timeout_ms);
}

Test(v1_redis, unreachable_or_bad_url_fails_at_new)
{
	if (!redis_store_built())
		cr_skip_test("SKIPPED: this build has no Redis store (libhiredis-dev missing, or "
		             "-DMWS_WITH_REDIS=OFF)");
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_server *s = NULL;
	char url[64];
	redis_url_for_port(url, sizeof url, redis_free_port()); /* nobody */
	mws_server_config sc = redis_node_config(url);
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
	if (getenv("V1_DEBUG"))
		fprintf(stderr, "hop %d: client got %lu, server got %lu\n", quarter,
		        (unsigned long)atomic_load(&a->c_got), (unsigned long)atomic_load(&a->s_got));
	v1_move(a, mws_server_port(quarter % 2 ? g_hop.b : a->srv));
}

Test(v1_redis, session_moves_between_nodes_losing_nothing, .timeout = 120)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	v1_app a;
	v1_init(&a);
	mws_server_config sc = redis_node_config(r.url);
	v1_server_start(&a, &sc);
	mws_server *b = v1_node(&a, &sc);
	g_hop = (hop){&a, b};
	mws_client_config cc = fast_client();
	v1_client_via_proxy(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));

	/* Both streams go on while the client hops A -> B -> A -> B at each
	 * quarter of what it received. The server half always sends through
	 * node A: while the session is on B that goes through Redis. At most
	 * WINDOW messages of each stream are unconfirmed at a time, and
	 * neither stream goes more than WINDOW past the next quarter before
	 * its hop, so the quarters come while both streams still flow. A hop
	 * waits until the client resumed after the one before: cutting a
	 * client that is still reconnecting would move nothing. */
	uint64_t cs = 0, ss = 0, end = mws_test_now_ms() + 90000;
	int quarter = 1;
	unsigned char num[8];
	while ((atomic_load(&a.s_got) < N_MSGS || atomic_load(&a.c_got) < N_MSGS) &&
	       mws_test_now_ms() < end) {
		uint64_t upto = quarter <= 3 ? (uint64_t)N_MSGS * quarter / 4 + WINDOW : N_MSGS;
		while (cs < upto && cs - atomic_load(&a.s_got) < WINDOW) {
			v1_num(num, cs + 1);
			int rc = mws_client_send(a.cli, num, 8, MWS_MSG_BINARY);
			if (rc == MWS_EQUEUEFULL)
				break;
			cr_assert_eq(rc, 0, "client send: %s", mws_err_name(rc));
			cs++;
		}
		while (ss < upto && ss - atomic_load(&a.c_got) < WINDOW) {
			v1_num(num, ss + 1);
			int rc = mws_server_send(a.srv, atomic_load(&a.srv_id), num, 8, MWS_MSG_BINARY);
			if (rc == MWS_EQUEUEFULL)
				break;
			cr_assert_eq(rc, 0, "server send: %s", mws_err_name(rc));
			ss++;
		}
		if (quarter <= 3 && atomic_load(&a.c_got) >= (uint64_t)N_MSGS * quarter / 4 &&
		    atomic_load(&a.c_resumed) >= quarter - 1)
			hop_node(&a, quarter++);
		usleep(1000);
	}
	cr_expect_eq(quarter, 4, "three hops");
	cr_expect(v1_int_ge(&a.c_resumed, 3, 10000), "resumed after each hop");

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

static mws_client *inbox_client(mws_ctx *ctx, int port, redis_inbox *in)
{
	mws_client_config cc = fast_client();
	return redis_inbox_client(ctx, port, in, &cc);
}

typedef struct text_wait {
	redis_inbox *in;
	int n;
	const char *text;
} text_wait;

static bool text_arrived(void *arg)
{
	text_wait *w = arg;
	pthread_mutex_lock(&w->in->mu);
	bool ok = atomic_load(&w->in->got) >= w->n && !strcmp(w->in->last, w->text);
	pthread_mutex_unlock(&w->in->mu);
	return ok;
}

/* The n-th message (or a later one) arrived and the last is `text`. */
static bool wait_text(redis_inbox *in, int n, const char *text)
{
	text_wait w = {in, n, text};
	return mws_test_wait_until(text_arrived, &w, 5000);
}

Test(v1_redis, send_and_broadcast_reach_other_nodes, .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	atomic_store(&redis_node_connects, 0);
	mws_server *na = redis_plain_node(ctx, r.url, 0);
	mws_server *nb = redis_plain_node(ctx, r.url, 1);
	redis_inbox ia = {PTHREAD_MUTEX_INITIALIZER}, ib = {PTHREAD_MUTEX_INITIALIZER};
	mws_client *ca = inbox_client(ctx, mws_server_port(na), &ia);
	mws_client *cb = inbox_client(ctx, mws_server_port(nb), &ib);
	cr_assert(v1_int_ge(&redis_node_connects, 2, 5000));
	cr_assert_eq(atomic_load(&redis_node_connects), 2);
	mws_conn_id id_a = atomic_load(&redis_node_ids[0]);
	mws_conn_id id_b = atomic_load(&redis_node_ids[1]);
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

typedef struct status_wait {
	int port, want;
} status_wait;

static bool status_is(void *arg)
{
	static char body[4096];
	status_wait *w = arg;
	return http_get(w->port, "/healthz", body, sizeof body) == w->want;
}

/* /healthz answers `want` within timeout_ms. */
static bool wait_status(int port, int want, int timeout_ms)
{
	status_wait w = {port, want};
	return mws_test_wait_until(status_is, &w, timeout_ms);
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
	atomic_store(&redis_node_connects, 0);
	mws_server *na = redis_plain_node(ctx, r.url, 0);
	int port = mws_server_port(na);
	redis_inbox ia = {PTHREAD_MUTEX_INITIALIZER};
	mws_fault_proxy *px = NULL; /* cuts ca's connection while Redis is away */
	cr_assert_eq(mws_fault_proxy_start(&px, "127.0.0.1", 0, "127.0.0.1", port), 0);
	mws_client *ca = inbox_client(ctx, mws_fault_proxy_port(px), &ia);
	cr_assert(v1_int_ge(&redis_node_connects, 1, 5000));
	cr_assert_eq(atomic_load(&redis_node_connects), 1);
	mws_conn_id id = atomic_load(&redis_node_ids[0]);
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
	cr_expect(wait_metric(port, "mws_server_store_refused_total", 1, 5000));
	cr_expect_eq(atomic_load(&g_cli_connected[1]), 0);
	/* A resume is refused the same way (never "session lost"). */
	long long refused = metric(port, "mws_server_store_refused_total");
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_RESET, 0), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_PASS, 0), 0);
	cr_expect(wait_metric(port, "mws_server_store_refused_total", refused + 2, 5000),
	          "the resumes were refused while Redis was away");
	cr_expect_geq(metric(port, "mws_server_store_errors_total"), 1);

	/* Back, empty (nothing was persisted): the session held here is
	 * written anew, what waited goes out, new sessions are made. */
	redis_restart(&r);
	cr_expect(wait_status(port, 200, 5000), "/healthz is ok again");
	cr_expect(wait_text(&ia, 3, "all"), "held messages go out");
	cr_expect(v1_int_ge(&g_cli_connected[1], 1, 10000), "the refused client got a session");
	cr_expect_eq(mws_server_send(na, id, "after", 5, MWS_MSG_TEXT), 0);
	cr_expect(wait_text(&ia, 4, "after"));
	pthread_mutex_lock(&ia.mu);
	cr_expect_str_eq(ia.log, "before|while down|all|after|", "once each, in order");
	pthread_mutex_unlock(&ia.mu);
	cr_expect_eq(atomic_load(&redis_node_connects), 2,
	             "ca's session went on (one on_connect), cb's began");

	mws_client_free(ca);
	mws_client_free(cb);
	mws_server_free(na);
	mws_fault_proxy_stop(px);
	mws_ctx_free(ctx);
	redis_stop(&r);
}

/* A Redis that accepts connections but answers nothing (SIGSTOP): the node
 * says it is down instead of hanging, its clients stay connected (pings go
 * on), and it recovers when Redis answers again. */
Test(v1_redis, hung_redis_is_down_not_stuck, .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	atomic_store(&redis_node_connects, 0);
	mws_server *na = redis_plain_node(ctx, r.url, 0);
	int port = mws_server_port(na);
	redis_inbox ia = {PTHREAD_MUTEX_INITIALIZER};
	mws_client *ca = inbox_client(ctx, port, &ia);
	cr_assert(v1_int_ge(&redis_node_connects, 1, 5000));
	cr_assert_eq(atomic_load(&redis_node_connects), 1);
	mws_conn_id id = atomic_load(&redis_node_ids[0]);

	cr_assert_eq(kill(r.pid, SIGSTOP), 0);
	cr_expect_eq(mws_server_send(na, id, "held", 4, MWS_MSG_TEXT), 0);
	cr_expect(wait_status(port, 503, 10000), "/healthz says the store is down");
	cr_expect_eq(mws_client_state(ca), MWS_STATE_CONNECTED);
	cr_assert_eq(kill(r.pid, SIGCONT), 0);
	cr_expect(wait_status(port, 200, 10000), "/healthz is ok again");
	cr_expect(wait_text(&ia, 1, "held"));
	cr_expect_eq(mws_client_state(ca), MWS_STATE_CONNECTED);

	mws_client_free(ca);
	mws_server_free(na);
	mws_ctx_free(ctx);
	redis_stop(&r);
}

/* A node shut down gracefully (goaway, then close): its session stays in
 * Redis and the client resumes it on the other node, losing nothing. */
Test(v1_redis, graceful_shutdown_hands_sessions_to_another_node, .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	v1_app a;
	v1_init(&a);
	mws_server_config sc = redis_node_config(r.url);
	v1_server_start(&a, &sc);
	mws_server *b = v1_node(&a, &sc);
	mws_client_config cc = fast_client();
	v1_client_via_proxy(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));
	unsigned char num[8];
	for (uint64_t i = 1; i <= 100; i++) {
		v1_num(num, i);
		cr_assert_eq(mws_client_send(a.cli, num, 8, MWS_MSG_BINARY), 0);
		cr_assert_eq(mws_server_send(a.srv, atomic_load(&a.srv_id), num, 8, MWS_MSG_BINARY), 0);
	}
	cr_assert(v1_ge(&a.s_got, 100, 5000));
	cr_assert(v1_ge(&a.c_got, 100, 5000));
	/* Node A goes; new connections reach B. */
	cr_assert_eq(mws_fault_proxy_set_upstream(a.px, "127.0.0.1", mws_server_port(b)), 0);
	mws_server_shutdown(a.srv, 1012, 0, 3000);
	for (uint64_t i = 101; i <= 200; i++) {
		v1_num(num, i);
		cr_assert_eq(mws_client_send(a.cli, num, 8, MWS_MSG_BINARY), 0);
	}
	cr_expect(v1_ge(&a.s_got, 200, 10000), "node B got the rest: %lu",
	          (unsigned long)atomic_load(&a.s_got));
	mws_conn_id id = atomic_load(&a.srv_id);
	for (uint64_t i = 101; i <= 200; i++) {
		v1_num(num, i);
		cr_assert_eq(mws_server_send(b, id, num, 8, MWS_MSG_BINARY), 0);
	}
	cr_expect(v1_ge(&a.c_got, 200, 10000), "the client got the rest: %lu",
	          (unsigned long)atomic_load(&a.c_got));
	cr_expect_eq(atomic_load(&a.s_bad), 0);
	cr_expect_eq(atomic_load(&a.c_bad), 0);
	cr_expect_eq(atomic_load(&a.lost), 0, "the session survived its node");
	cr_expect_geq(atomic_load(&a.c_resumed), 1);
	cr_expect_geq(metric(mws_server_port(b), "mws_server_sessions_taken_over_total"), 1);

	mws_server_free(b);
	v1_fini(&a);
	redis_stop(&r);
}
