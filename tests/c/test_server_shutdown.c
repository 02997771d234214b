/* Graceful shutdown with many clients of ours: every one is told 1012 with
 * a retry-after inside the window, and their reconnects spread over it;
 * also with more connections than the server closes at once (256 in
 * flight: libwebsockets 4.1.6 walks its timer list per close). */
#include "server_common.h"
#include "test_timing.h"

enum { MAX_N = 700, WINDOW = 2000, DEADLINE = 5000 };

typedef struct one {
	atomic_int connected;
	atomic_int told;       /* went RECONNECTING after the shutdown */
	atomic_int retried;    /* its next attempt started */
	int code, delay_ms;
	uint64_t told_at, retried_at;
} one;

static one clients[MAX_N];
static atomic_int n_connected, n_told, n_retried;

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	one *o = ud;
	if (ch->to == MWS_STATE_CONNECTED && !atomic_exchange(&o->connected, 1))
		atomic_fetch_add(&n_connected, 1);
	if (ch->to == MWS_STATE_RECONNECTING && atomic_load(&o->connected) &&
	    !atomic_load(&o->told)) {
		o->code = ch->close_code;
		o->delay_ms = ch->retry_delay_ms;
		o->told_at = mws_test_now_ms();
		atomic_store(&o->told, 1);
		atomic_fetch_add(&n_told, 1);
	}
	if (ch->from == MWS_STATE_RECONNECTING && ch->to == MWS_STATE_CONNECTING &&
	    atomic_load(&o->told) && !atomic_load(&o->retried)) {
		o->retried_at = mws_test_now_ms();
		atomic_store(&o->retried, 1);
		atomic_fetch_add(&n_retried, 1);
	}
}

static void check_told_and_spread(int n, int fd_limit)
{
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.fd_limit = fd_limit;
	mws_ctx *sctx, *cctx;
	cr_assert_eq(mws_ctx_new(&sctx, &cc), 0);
	cr_assert_eq(mws_ctx_new(&cctx, &cc), 0);
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.rate_per_sec = -1; /* 200 connects from one address on purpose */
	mws_server *srv = rec_server(sctx, &cfg, &r);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));

	mws_client_config ccfg;
	mws_client_config_init(&ccfg);
	ccfg.base_delay_ms = 5000; /* a refused retry waits: out of the picture */
	static mws_client *cs[MAX_N];
	for (int i = 0; i < n; i++) {
		cr_assert_eq(mws_client_new(&cs[i], cctx, url, &ccfg), 0);
		mws_client_callbacks cbs = {sizeof cbs, on_state, NULL, NULL};
		cr_assert_eq(mws_client_set_callbacks(cs[i], &cbs, &clients[i], NULL), 0);
		cr_assert_eq(mws_client_connect(cs[i]), 0);
	}
	cr_assert(wait_at_least(&n_connected, n, 20000), "%d connected", atomic_load(&n_connected));
	cr_assert(wait_at_least(&r.connects, n, 5000));

	uint64_t t0 = mws_test_now_ms();
	int rc = mws_server_shutdown(srv, 1012, WINDOW, DEADLINE);
	cr_expect_eq(rc, 0, "%s", mws_err_name(rc));
	cr_expect_eq(atomic_load(&r.disconnects), n);
	for (int i = 0; i < rec_ndisc(&r); i++) {
		rec_event e = rec_disc(&r, i);
		cr_expect_eq(e.why, MWS_DISCONNECT_SHUTDOWN);
		int code = -1;
		long after = -1;
		cr_expect_eq(sscanf(e.reason, "code=%d retry-after=%ld", &code, &after), 2,
		             "reason \"%s\"", e.reason);
		cr_expect_eq(code, 1012);
		cr_expect(after >= 0 && after <= WINDOW);
	}
	/* while draining: refused, and the health check says so */
	char body[64];
	cr_expect_eq(http_get(mws_server_port(srv), "/healthz", body, sizeof body), 503);

	cr_assert(wait_at_least(&n_told, n, 5000), "%d told", atomic_load(&n_told));
	cr_assert(wait_at_least(&n_retried, n, WINDOW + 5000), "%d retried",
	          atomic_load(&n_retried));
	double sum = 0, sq = 0, lo = 1e9, hi = -1;
	for (int i = 0; i < n; i++) {
		one *o = &clients[i];
		/* our client reads the real code from the reason (lws says 1002) */
		cr_expect_eq(o->code, 1012, "client %d: code %d", i, o->code);
		cr_expect(o->delay_ms >= 0 && o->delay_ms <= WINDOW, "delay %d", o->delay_ms);
		/* it waited what it was told, give or take scheduling */
		double waited = (double)(o->retried_at - o->told_at);
		cr_expect(waited - o->delay_ms < MWS_TEST_SLACK_MS(500) &&
		              o->delay_ms - waited < MWS_TEST_SLACK_MS(500),
		          "told %d, waited %.0f", o->delay_ms,
		          waited);
		double at = (double)(o->retried_at - t0);
		sum += at;
		sq += at * at;
		lo = at < lo ? at : lo;
		hi = at > hi ? at : hi;
	}
	double mean = sum / n, var = sq / n - mean * mean; /* no libm: compare squares */
	/* uniform over the window: sd = WINDOW / sqrt(12) = 0.29 WINDOW */
	cr_expect_gt(hi - lo, 0.5 * WINDOW, "range %.0f ms", hi - lo);
	cr_expect_gt(var, 0.04 * WINDOW * WINDOW, "variance %.0f ms^2", var);
	cr_expect_leq(hi, WINDOW + MWS_TEST_SLACK_MS(1500), "last retry at %.0f ms", hi);

	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.shutting_down, 1);
	cr_expect_geq(st.refused[MWS_REFUSE_SHUTDOWN], 1);
	for (int i = 0; i < n; i++)
		mws_client_free(cs[i]);
	mws_server_free(srv);
	mws_ctx_free(cctx);
	mws_ctx_free(sctx);
}

Test(server_shutdown, two_hundred_clients_get_1012_and_reconnect_spread_over_the_window,
     .timeout = 60)
{
	check_told_and_spread(200, 1024);
}

/* Closes in three rounds or more; fd_limit 0: the process limit, 700
 * sockets a side. */
Test(server_shutdown, seven_hundred_clients_closed_in_batches_all_get_1012_and_a_hint_in_the_window,
     .timeout = 60)
{
	check_told_and_spread(700, 0);
}

/* A shutdown with nobody connected completes inside the I/O thread's run of
 * the command; the caller's command must not be touched after that (TSan
 * and ASan watch this one). */
Test(server_shutdown, shutdown_with_nobody_connected_returns_at_once, .timeout = 30)
{
	for (int round = 0; round < 20; round++) {
		mws_server *srv;
		mws_server_config cfg;
		mws_server_config_init(&cfg);
		cfg.iface = "127.0.0.1";
		cr_assert_eq(mws_server_new(&srv, NULL, &cfg), 0);
		cr_assert_eq(mws_server_start(srv), 0);
		cr_expect_eq(mws_server_shutdown(srv, 1012, 1000, 2000), 0, "round %d", round);
		mws_server_free(srv);
	}
}
