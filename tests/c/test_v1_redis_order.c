/*
 * Messages one node sends to one session arrive in the order they were
 * sent while the session hops between nodes (docs/SESSIONS-REDIS.md,
 * "Limits"). The application always sends through node A; while the
 * session is on node B those sends go through Redis (its inbox), and a
 * relay in front of Redis holds each of them back HOLD_MS, so the session
 * always comes back to A while one of them is on its way: it lands in the
 * inbox after A took the session over, and the next send, made directly
 * on A, must not go ahead of it.
 */
#include "redis_harness.h"
#include "redis_relay.h"
#include "server_common.h"
#include "v1_harness.h"

#define N_MSGS 600
#define WINDOW 20 /* unconfirmed at a time */
#define HOP_EVERY 30
#define HOLD_MS 20
#define SEND_MARK "'LLEN', i)" /* in the script of a send to another node only */

/* Sends 1..N_MSGS from node `via` to the session, at most WINDOW
 * unconfirmed; every HOP_EVERY messages received (once the client resumed
 * after the hop before) the session moves: via -> other -> via -> ...
 * Returns the number of hops. */
static int send_while_hopping(v1_app *a, mws_server *via, mws_server *other)
{
	uint64_t sent = 0, end = mws_test_now_ms() + 90000;
	int hops = 0;
	unsigned char num[8];
	while (atomic_load(&a->c_got) + atomic_load(&a->c_bad) < N_MSGS &&
	       mws_test_now_ms() < end) {
		uint64_t seen = atomic_load(&a->c_got) + atomic_load(&a->c_bad);
		if (sent < N_MSGS && sent - seen < WINDOW) {
			v1_num(num, sent + 1);
			int rc = mws_server_send(via, atomic_load(&a->srv_id), num, 8, MWS_MSG_BINARY);
			cr_assert(rc == 0 || rc == MWS_EQUEUEFULL, "send: %s", mws_err_name(rc));
			sent += rc == 0;
		} else {
			usleep(1000);
		}
		if (atomic_load(&a->c_got) >= (uint64_t)(hops + 1) * HOP_EVERY &&
		    atomic_load(&a->c_resumed) >= hops) {
			hops++;
			v1_move(a, mws_server_port(hops % 2 ? other : via));
		}
	}
	return hops;
}

Test(v1_redis_order, sends_from_one_node_keep_their_order_across_hops, .timeout = 120)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	redis_relay rl;
	cr_assert_eq(redis_relay_start(&rl, r.port, SEND_MARK, HOLD_MS, 1), 0);
	char url[64];
	redis_url_for_port(url, sizeof url, rl.port);
	v1_app a;
	v1_init(&a);
	mws_server_config sc = redis_node_config(url);
	v1_server_start(&a, &sc);
	mws_server *b = v1_node(&a, &sc);
	mws_client_config cc = redis_client_config();
	v1_client_via_proxy(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));

	int hops = send_while_hopping(&a, a.srv, b);
	cr_expect_geq(hops, 10, "the session hopped %d times", hops);
	cr_expect_gt(atomic_load(&rl.held), 0, "sends to node B were held back");
	cr_expect_eq(atomic_load(&a.c_bad), 0, "%lu out of order (first at %lu)",
	             (unsigned long)atomic_load(&a.c_bad), (unsigned long)atomic_load(&a.c_got) + 1);
	cr_expect_eq(atomic_load(&a.c_got), N_MSGS);
	cr_expect_eq(atomic_load(&a.lost), 0);

	mws_server_free(b);
	v1_fini(&a);
	redis_relay_stop(&rl);
	redis_stop(&r);
}

/* ---- the session leaving the node the application sends through ----
 *
 * Sends accepted on node A while it held the session wait in A's request
 * list; when the session has left, A forwards them to the session's inbox.
 * A later send, made once A no longer held the session, goes to Redis at
 * once and must not get there first. Node A has its own I/O thread and
 * stalls it in its callbacks: when the session is suspended there (sends
 * pile up), and when it is told the session moved (the id is gone, the
 * sends before are not forwarded yet). */

static atomic_int g_slow; /* ms node A's I/O thread stalls in the callbacks below */

static void a_session(mws_server *s, mws_conn_id id, int ev, void *u)
{
	v1_s_session(s, id, ev, u);
	if (ev == MWS_SESSION_SUSPENDED)
		usleep((useconds_t)atomic_load(&g_slow) * 1000); /* sends pile up here */
}

static void a_disconnect(mws_server *s, mws_conn_id id, int code, const char *r, int why, void *u)
{
	v1_s_disconnect(s, id, code, r, why, u);
	if (why == MWS_DISCONNECT_MOVED)
		usleep((useconds_t)atomic_load(&g_slow) * 1000); /* the id is gone here */
}

Test(v1_redis_order, sends_queued_on_the_node_left_stay_ahead, .timeout = 120)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	v1_app a;
	v1_init(&a);
	mws_ctx *actx; /* node A alone on its I/O thread: its stalls stall only it */
	cr_assert_eq(mws_ctx_new(&actx, NULL), 0);
	mws_server_config sc = redis_node_config(r.url);
	mws_server *na = NULL;
	cr_assert_eq(mws_server_new(&na, actx, &sc), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = v1_s_connect;
	cb.on_message = v1_s_message;
	cb.on_disconnect = a_disconnect;
	cb.on_session = a_session;
	cr_assert_eq(mws_server_set_callbacks(na, &cb, &a, NULL), 0);
	cr_assert_eq(mws_server_start(na), 0);
	mws_server *b = v1_node(&a, &sc);
	mws_client_config cc = redis_client_config();
	v1_client_via_proxy(&a, mws_server_port(na), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));
	atomic_store(&g_slow, 60);

	int hops = send_while_hopping(&a, na, b);
	cr_expect_geq(hops, 10, "the session hopped %d times", hops);
	cr_expect_eq(atomic_load(&a.c_bad), 0, "%lu out of order (first at %lu)",
	             (unsigned long)atomic_load(&a.c_bad), (unsigned long)atomic_load(&a.c_got) + 1);
	cr_expect_eq(atomic_load(&a.c_got), N_MSGS);
	atomic_store(&g_slow, 0);

	mws_client_free(a.cli);
	a.cli = NULL;
	mws_server_free(na);
	mws_server_free(b);
	v1_fini(&a);
	mws_ctx_free(actx);
	redis_stop(&r);
}
