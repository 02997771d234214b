/* Heartbeat cadence on real sockets with heartbeat_timeout = 2 x interval:
 * a heartbeat still goes out every interval (an answer used to leave the
 * next one waiting for the timeout), and a zombie behind a blackholing proxy
 * is found within interval + timeout. */
#include <criterion/criterion.h>

#include "client_harness.h"
#include "client_wait.h"
#include "fault_proxy.h"
#include "py_peer.h"

#define INTERVAL_MS 100
#define TIMEOUT_MS 200
#define BEATS 20
/* Timer slack on a loaded two-core machine (and sanitizer builds). */
#define SLACK_MS 600

static bool beats_sent(const mws_client_stats *st)
{
	return st->heartbeats_sent >= BEATS;
}

static uint64_t heartbeats_sent(mws_client *c)
{
	mws_client_stats s = {.size = sizeof s};
	mws_client_stats_get(c, &s);
	return s.heartbeats_sent;
}

Test(client_heartbeat_cadence, timeout_twice_the_interval_keeps_the_interval, .timeout = 60)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	mws_fault_proxy *proxy;
	cr_assert_eq(mws_fault_proxy_start(&proxy, "127.0.0.1", 0, "127.0.0.1", peer.port), 0);
	char url[64];
	url_for_port(url, sizeof url, mws_fault_proxy_port(proxy));
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_PING;
	cfg.heartbeat_interval_ms = INTERVAL_MS;
	cfg.heartbeat_timeout_ms = TIMEOUT_MS;
	cfg.base_delay_ms = 5000; /* stays RECONNECTING while we look */
	cfg.jitter = MWS_JITTER_NONE;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	uint64_t t0 = rec_last_to(&r, MWS_STATE_CONNECTED)->at_ms;

	/* BEATS answered heartbeats take BEATS intervals (2000 ms), where a
	 * cadence set by the timeout takes BEATS timeouts (4000 ms). */
	mws_client_stats st;
	wait_client_stats(c, beats_sent, &st, 20000);
	uint64_t took = mws_test_now_ms() - t0;
	cr_assert_geq(heartbeats_sent(c), BEATS);
	cr_expect_eq(mws_client_state(c), MWS_STATE_CONNECTED, "answered heartbeats timed out");
	cr_expect_leq(took, BEATS * INTERVAL_MS + SLACK_MS,
	              "%d heartbeats took %llu ms: interval %d, timeout %d", BEATS,
	              (unsigned long long)took, INTERVAL_MS, TIMEOUT_MS);

	uint64_t t1 = mws_test_now_ms();
	cr_assert_eq(mws_fault_proxy_set_mode(proxy, MWS_FAULT_BLACKHOLE, 0), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 10000), "zombie not detected");
	rec_state *s = rec_last_to(&r, MWS_STATE_RECONNECTING);
	cr_expect_eq(s->code, 4000);
	cr_expect_leq(s->at_ms - t1, INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
	              "zombie lived %llu ms", (unsigned long long)(s->at_ms - t1));

	mws_client_free(c);
	mws_fault_proxy_stop(proxy);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}
