/*
 * A node sharing its mws.v1 sessions through Redis is shut down gracefully
 * (mws_server_shutdown, what mws serve does on SIGTERM): the client it
 * tells to go away resumes its session on another node, nothing lost.
 * Found by scripts/cluster.sh: the shutdown removed the sessions of its
 * open connections from Redis, and every client of the stopped node was
 * told MWS_SESSION_LOST on the next node.
 */
#include "redis_harness.h"
#include "server_common.h"
#include "v1_harness.h"

/* Sends numbers from..to from the client, retrying while the queue is full. */
static void client_sends(v1_app *a, uint64_t from, uint64_t to)
{
	unsigned char b[8];
	uint64_t end = mws_test_now_ms() + 10000;
	for (uint64_t n = from; n <= to && mws_test_now_ms() < end;) {
		v1_num(b, n);
		int rc = mws_client_send(a->cli, b, 8, MWS_MSG_BINARY);
		if (rc == MWS_EQUEUEFULL) {
			usleep(1000);
			continue;
		}
		cr_assert_eq(rc, 0, "client send: %s", mws_err_name(rc));
		n++;
	}
}

Test(v1_redis_graceful, session_resumes_on_another_node_after_a_graceful_shutdown,
     .timeout = 60)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	v1_app a;
	v1_init(&a);
	mws_server_config sc = redis_node_config(r.url);
	v1_server_start(&a, &sc);          /* node A */
	mws_server *b = v1_node(&a, &sc); /* node B, the same application */
	/* The load balancer: A now, B for the next connection. */
	mws_client_config cc = redis_client_config();
	cc.restart_spread_ms = 100;
	v1_client_via_proxy(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.started, 1, 5000));
	client_sends(&a, 1, 50);
	cr_assert(v1_ge(&a.s_got, 50, 5000), "node A got %lu", (unsigned long)atomic_load(&a.s_got));

	cr_assert_eq(mws_fault_proxy_set_upstream(a.px, "127.0.0.1", mws_server_port(b)), 0);
	cr_assert_eq(mws_server_shutdown(a.srv, 1012, 100, 5000), 0);
	cr_assert(v1_int_ge(&a.connected, 2, 10000), "the client came back");
	cr_expect_eq(atomic_load(&a.lost), 0, "the session was lost on node B");
	cr_expect_eq(atomic_load(&a.c_resumed), 1);
	client_sends(&a, 51, 100);
	cr_expect(v1_ge(&a.s_got, 100, 5000), "got %lu", (unsigned long)atomic_load(&a.s_got));
	cr_expect_eq(atomic_load(&a.s_bad), 0, "%lu out of order or duplicated",
	             (unsigned long)atomic_load(&a.s_bad));

	mws_client_free(a.cli);
	a.cli = NULL;
	mws_server_free(b);
	v1_fini(&a);
	redis_stop(&r);
}
