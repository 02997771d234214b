/* mws_server_pause_rx() on an mws.v1 session: the pause stays with the
 * session, so a resume on a new connection starts paused, and everything
 * arrives once, in order, after the application resumes it. */
#include "v1_harness.h"

#include <time.h>

static bool paused_is(mws_server *srv, uint32_t n)
{
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	return st.paused_connections == n;
}

static bool paused_one(void *arg) { return paused_is(arg, 1); }

static void send_numbered(v1_app *a, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i <= to; i++) {
		unsigned char b[8];
		v1_num(b, i);
		cr_assert_eq(mws_client_send(a->cli, b, sizeof b, MWS_MSG_BINARY), 0);
	}
}

Test(v1_pause, a_paused_session_resumes_paused_and_delivers_in_order_after_resume, .timeout = 60)
{
	v1_app a;
	v1_init(&a);
	v1_server_start(&a, NULL);
	cr_assert_eq(mws_fault_proxy_start(&a.px, "127.0.0.1", 0, "127.0.0.1",
	                                   mws_server_port(a.srv)), 0);
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.base_delay_ms = 50;
	cc.max_delay_ms = 200;
	cc.connect_timeout_ms = 1000;
	v1_client_start(&a, mws_fault_proxy_port(a.px), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));
	mws_conn_id id = (mws_conn_id)atomic_load(&a.srv_id);

	cr_assert_eq(mws_server_pause_rx(a.srv, id, 1), 0);
	cr_assert(mws_test_wait_until(paused_one, a.srv, 5000));
	send_numbered(&a, 1, 5);
	cr_assert_not(v1_ge(&a.s_got, 1, 500), "read while paused");

	/* The connection breaks; the session resumes on a new one, paused. */
	cr_assert_eq(mws_fault_proxy_set_mode(a.px, MWS_FAULT_RESET, 0), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(a.px, MWS_FAULT_PASS, 0), 0);
	cr_assert(v1_int_ge(&a.resumed, 1, 10000), "the session did not resume");
	cr_assert(mws_test_wait_until(paused_one, a.srv, 5000), "the resumed session is not paused");
	send_numbered(&a, 6, 10);
	cr_assert_not(v1_ge(&a.s_got, 1, 500), "read while paused after the resume");

	cr_assert_eq(mws_server_pause_rx(a.srv, id, 0), 0);
	cr_assert(v1_ge(&a.s_got, 10, 10000), "got %lu of 10",
	          (unsigned long)atomic_load(&a.s_got));
	cr_assert_eq(atomic_load(&a.s_bad), 0, "lost, duplicated or reordered");
	cr_assert_eq(atomic_load(&a.connects), 1);
	cr_assert(paused_is(a.srv, 0));
	v1_fini(&a);
}
