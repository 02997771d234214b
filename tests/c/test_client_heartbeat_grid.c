/* Client heartbeats on a shared grid (src/io/client_tx.c): many clients on
 * one context whose heartbeats fall due at scattered times send them in a
 * few passes per interval (a heartbeat due within the current tick goes
 * early), so their loop wakes per tick, not per client. The zombie bound
 * (interval + timeout) is test_client_heartbeat_cadence's. */
#include "server_common.h"

enum { N = 80, INTERVAL_MS = 1600, GAP_MS = 20, WATCH_MS = 3200 };

static uint64_t sent_by_all(mws_client **c)
{
	uint64_t sum = 0;
	for (int i = 0; i < N; i++) {
		mws_client_stats st = {.size = sizeof st};
		cr_assert_eq(mws_client_stats_get(c[i], &st), 0);
		sum += st.heartbeats_sent;
	}
	return sum;
}

/* 80 clients connected 20 ms apart (their heartbeats due at 80 scattered
 * times per 1.6 s interval, 100 ms ticks): over 3.2 s the total of
 * heartbeats sent changes at about one moment per tick (33), not once
 * per heartbeat (160). */
Test(client_heartbeat_grid, scattered_heartbeats_go_out_in_a_few_passes, .timeout = 60)
{
	rec r;
	mws_ctx *sctx = rec_ctx(&r);
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.rate_per_sec = -1; /* 80 connects from one address on purpose */
	mws_server *srv = rec_server(sctx, &sc, &r);
	mws_ctx *cctx = NULL;
	cr_assert_eq(mws_ctx_new(&cctx, NULL), 0);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));

	static mws_client *c[N];
	for (int i = 0; i < N; i++) {
		mws_client_config cc;
		mws_client_config_init(&cc);
		cc.protocol_mode = MWS_PROTOCOL_PLAIN;
		cc.heartbeat_interval_ms = INTERVAL_MS;
		cc.heartbeat_timeout_ms = 5000;
		cr_assert_eq(mws_client_new(&c[i], cctx, url, &cc), 0);
		cr_assert_eq(mws_client_connect(c[i]), 0);
		usleep(GAP_MS * 1000); /* spreads the connects, hence the heartbeats */
	}
	cr_assert(wait_at_least(&r.connects, N, 10000), "%d connected", atomic_load(&r.connects));

	uint64_t first = sent_by_all(c), last = first, moments = 0;
	uint64_t end = mws_test_now_ms() + WATCH_MS;
	while (mws_test_now_ms() < end) {
		usleep(2000);
		uint64_t now = sent_by_all(c);
		if (now != last)
			moments++;
		last = now;
	}
	uint64_t sent = last - first;
	/* 160 heartbeats due; a pass seen across two samples counts twice */
	cr_expect_geq(sent, 140, "only %llu heartbeats in %d ms", (unsigned long long)sent,
	              WATCH_MS);
	cr_expect_lt(moments, 80, "%llu heartbeats went out at %llu separate moments",
	             (unsigned long long)sent, (unsigned long long)moments);
	cr_expect_eq(atomic_load(&r.disconnects), 0);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c[0], &st);
	cr_log_info("%llu heartbeats at %llu moments; client 0 rtt p50 %u us p99 %u us",
	            (unsigned long long)sent, (unsigned long long)moments, st.rtt_p50_us,
	            st.rtt_p99_us);

	for (int i = 0; i < N; i++)
		mws_client_free(c[i]);
	mws_server_free(srv);
	mws_ctx_free(cctx);
	mws_ctx_free(sctx);
}
