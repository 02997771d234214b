/* When the client stops trying or skips a wait: close while reconnecting,
 * max attempts, the circuit breaker, reconnect_now, and a handshake that
 * never gets an answer. */
#include "client_py_proxy.h"

Test(client, close_while_reconnecting_stops_every_attempt, .timeout = 30)
{
	char url[64];
	mws_fault_proxy *proxy = refusing_proxy(url, sizeof url);
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	cfg.base_delay_ms = 300;
	cfg.jitter = MWS_JITTER_NONE;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	cr_assert_eq(mws_client_close(c, 1000, "bye"), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CLOSED, 5000));
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	uint64_t attempts = st.attempts_total;
	int before = r.nstates;
	/* Two full backoff periods: a stray timer would have fired. */
	cr_expect_not(rec_wait_nstates(&r, before + 1, 700));
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.attempts_total, attempts);
	cr_expect_eq(mws_client_send(c, "x", 1, MWS_MSG_TEXT), MWS_ECLOSED);
	cr_expect_eq(mws_client_connect(c), MWS_ECLOSED);
	mws_client_free(c);
	mws_fault_proxy_stop(proxy);
	rec_destroy(&r);
}

/* A client whose every attempt is refused, run until it gives up. */
static mws_client *refused_until_failed(mws_fault_proxy **proxy, rec *r,
                                        mws_client_config cfg)
{
	char url[64];
	*proxy = refusing_proxy(url, sizeof url);
	rec_init(r);
	cfg.base_delay_ms = 10;
	mws_client *c = rec_client(r, NULL, url, &cfg);
	mws_client_connect(c);
	cr_assert(rec_wait_state(r, MWS_STATE_FAILED, 5000), "never gave up");
	return c;
}

Test(client, max_attempts_then_failed, .timeout = 30)
{
	mws_fault_proxy *proxy;
	rec r;
	mws_client_config cfg = fast_config();
	cfg.max_attempts = 3;
	mws_client *c = refused_until_failed(&proxy, &r, cfg);
	cr_expect_str_eq(rec_last_to(&r, MWS_STATE_FAILED)->reason, "max attempts reached");
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.attempts_total, 3, "three attempts, the first one included");
	/* connect() again starts over from FAILED. */
	cr_expect_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	mws_client_free(c);
	mws_fault_proxy_stop(proxy);
	rec_destroy(&r);
}

Test(client, circuit_breaker_opens_after_failures_in_window, .timeout = 30)
{
	mws_fault_proxy *proxy;
	rec r;
	mws_client_config cfg = fast_config();
	cfg.breaker_failures = 5;
	cfg.breaker_window_ms = 10000;
	mws_client *c = refused_until_failed(&proxy, &r, cfg);
	cr_expect_str_eq(rec_last_to(&r, MWS_STATE_FAILED)->reason, "circuit open");
	cr_expect_eq(rec_count_to(&r, MWS_STATE_RECONNECTING), 4);
	mws_client_free(c);
	mws_fault_proxy_stop(proxy);
	rec_destroy(&r);
}

Test(client, reconnect_now_skips_the_backoff_wait, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64], portarg[16];
	url_for_port(url, sizeof url, peer.port);
	snprintf(portarg, sizeof portarg, "%d", peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	cfg.base_delay_ms = 60000;
	cfg.max_delay_ms = 60000;
	cfg.jitter = MWS_JITTER_NONE;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_expect_eq(mws_client_reconnect_now(c), MWS_ESTATE);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	send_text(c, "__close 1011 internal");
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	cr_expect_eq(rec_last_to(&r, MWS_STATE_RECONNECTING)->delay_ms, 60000);
	cr_assert_eq(mws_client_reconnect_now(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000), "a minute's wait was not skipped");
	finish(c, &peer, &r);
}

Test(client, handshake_that_never_answers_times_out_and_retries, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	mws_fault_proxy *proxy;
	cr_assert_eq(mws_fault_proxy_start(&proxy, "127.0.0.1", 0, "127.0.0.1", peer.port), 0);
	/* New connections are accepted and then hear nothing: TCP is up, the
	 * HTTP upgrade never gets an answer. */
	cr_assert_eq(mws_fault_proxy_set_mode(proxy, MWS_FAULT_BLACKHOLE, 0), 0);
	char url[64];
	url_for_port(url, sizeof url, mws_fault_proxy_port(proxy));
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	cfg.handshake_timeout_ms = 400;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	uint64_t t0 = mws_test_now_ms();
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	rec_state *s = rec_last_to(&r, MWS_STATE_RECONNECTING);
	cr_expect_str_eq(s->reason, "handshake timeout");
	cr_expect_geq(s->at_ms - t0, 390, "gave up before its timeout");
	/* Once the network passes again, the next attempt gets through. */
	cr_assert_eq(mws_fault_proxy_set_mode(proxy, MWS_FAULT_PASS, 0), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	mws_client_free(c);
	mws_fault_proxy_stop(proxy);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}
