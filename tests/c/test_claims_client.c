/* README claims about the client, each tested as stated: back-pressure from
 * a slow (not absent) connection, msgs_discarded after close(),
 * refused_events, messages after a heartbeat prove the connection alive, and
 * HTTP 5xx at the handshake means reconnect. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <unistd.h>

#include "client_harness.h"
#include "py_peer.h"
#include "test_timing.h"

static mws_client_config fast_config(void)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.base_delay_ms = 50;
	cfg.max_delay_ms = 200;
	cfg.connect_timeout_ms = 2000;
	cfg.handshake_timeout_ms = 2000;
	cfg.random_seed = 42;
	return cfg;
}

static mws_client_stats stats_of(mws_client *c)
{
	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	return st;
}

static void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* ---- a slow reader: our server, whose message callback takes its time ---- */

typedef struct slow_reader {
	atomic_int received;   /* messages seen, in order */
	atomic_int out_of_order;
	atomic_int connects;
	int sleep_us;
} slow_reader;

static void slow_on_connect(mws_server *s, mws_conn_id id, const mws_conn_info *i,
                            void *ud)
{
	(void)s, (void)id, (void)i;
	atomic_fetch_add(&((slow_reader *)ud)->connects, 1);
}

/* Deliberately slow (it blocks its own server's I/O thread, which serves
 * nothing else): the socket buffers fill and the client must push back. */
static void slow_on_message(mws_server *s, mws_conn_id id, const void *data, size_t len,
                            int type, void *ud)
{
	(void)s, (void)id, (void)type;
	slow_reader *sr = ud;
	int seq = -1;
	if (len >= sizeof seq)
		memcpy(&seq, data, sizeof seq);
	if (seq != atomic_load(&sr->received))
		atomic_fetch_add(&sr->out_of_order, 1);
	atomic_fetch_add(&sr->received, 1);
	usleep((useconds_t)sr->sleep_us);
}

static mws_server *slow_server(mws_ctx *ctx, slow_reader *sr)
{
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	cfg.max_message_bytes = 1 << 20;
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, slow_on_connect, slow_on_message, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, sr, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	return srv;
}

typedef struct count_at_least {
	atomic_int *v;
	int n;
} count_at_least;

static bool count_reached(void *arg)
{
	count_at_least *w = arg;
	return atomic_load(w->v) >= w->n;
}

Test(claims_client, slow_connection_pushes_back_with_equeuefull_and_loses_nothing,
     .timeout = 120)
{
	enum { MSG = 16 * 1024, QMAX = 32, TOTAL = 1500 };
	/* Two contexts: the slow server blocks its own I/O thread, which must
	 * not be the client's (tests/lsan.supp says what lws leaks for it). */
	mws_ctx *sctx, *cctx;
	cr_assert_eq(mws_ctx_new(&sctx, NULL), 0);
	cr_assert_eq(mws_ctx_new(&cctx, NULL), 0);
	slow_reader sr = {.sleep_us = 500};
	mws_server *srv = slow_server(sctx, &sr);
	char url[64];
	url_for_port(url, sizeof url, mws_server_port(srv));

	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	cfg.queue_max_messages = QMAX;
	mws_client *c = rec_client(&r, cctx, url, &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));

	static char buf[MSG];
	int accepted = 0, refused = 0, refused_while_connected = 0;
	uint64_t until = mws_test_now_ms() + 60000;
	while (accepted < TOTAL && mws_test_now_ms() < until) {
		memcpy(buf, &accepted, sizeof accepted);
		/* Only this thread adds to the queue and the I/O thread only takes
		 * from it, so what waits at a refusal is at most what waited just
		 * before the call: a refusal below the bound shows here. */
		uint32_t waiting_before = stats_of(c).queue_messages;
		int rc = mws_client_send(c, buf, sizeof buf, MWS_MSG_BINARY);
		if (rc == 0) {
			accepted++;
			continue;
		}
		cr_assert_eq(rc, MWS_EQUEUEFULL, "%s", mws_err_name(rc));
		refused++;
		if (mws_client_state(c) == MWS_STATE_CONNECTED)
			refused_while_connected++;
		/* the bound is the bound: full means QMAX waiting */
		cr_expect_geq(waiting_before, QMAX, "refused with at most %u waiting",
		              waiting_before);
		sleep_ms(2); /* try again once the queue falls, as the header says */
	}
	cr_assert_eq(accepted, TOTAL, "only %d accepted in 60 s", accepted);
	cr_expect_gt(refused_while_connected, 0, "a slow reader never pushed back");
	cr_expect_eq(stats_of(c).queue_full, (uint64_t)refused);
	cr_expect_eq(rec_count_to(&r, MWS_STATE_RECONNECTING), 0, "the connection was lost");

	count_at_least w = {&sr.received, TOTAL};
	cr_assert(mws_test_wait_until(count_reached, &w, 60000), "received %d of %d",
	          atomic_load(&sr.received), TOTAL);
	cr_expect_eq(atomic_load(&sr.received), TOTAL, "duplicates");
	cr_expect_eq(atomic_load(&sr.out_of_order), 0);
	cr_expect_eq(atomic_load(&sr.connects), 1);

	mws_client_free(c);
	rec_destroy(&r);
	mws_server_free(srv);
	mws_ctx_free(cctx);
	mws_ctx_free(sctx);
}

Test(claims_client, close_counts_what_was_waiting_in_msgs_discarded, .timeout = 30)
{
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	/* nothing listens on port 1: the messages can only wait */
	mws_client *c = rec_client(&r, NULL, "ws://127.0.0.1:1/", &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(mws_client_send(c, "waiting", 7, MWS_MSG_TEXT), 0);
	cr_expect_eq(stats_of(c).msgs_discarded, 0);
	cr_assert_eq(mws_client_close(c, 1000, NULL), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CLOSED, 5000));
	mws_client_stats st = stats_of(c);
	cr_expect_eq(st.msgs_discarded, 5);
	cr_expect_eq(st.queue_messages, 0);
	cr_expect_eq(st.queue_bytes, 0);
	cr_expect_eq(st.msgs_out, 0);
	cr_expect_eq(mws_client_send(c, "late", 4, MWS_MSG_TEXT), MWS_ECLOSED);
	mws_client_free(c);
	rec_destroy(&r);
}

static bool refused_once(void *arg)
{
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(arg, &st);
	return st.refused_events >= 1;
}

Test(claims_client, an_event_the_table_refuses_is_counted_and_changes_nothing,
     .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	cr_expect_eq(stats_of(c).refused_events, 0);
	/* refused at the door, before the table: an error code, not an event */
	cr_expect_eq(mws_client_reconnect_now(c), MWS_ESTATE);

	cr_assert_eq(mws_client_disconnect(c, 1000, NULL), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_DISCONNECTED, 5000));
	cr_assert_eq(mws_client_send(c, "queued", 6, MWS_MSG_TEXT), 0);
	pthread_mutex_lock(&r.lock);
	int nstates = r.nstates;
	pthread_mutex_unlock(&r.lock);
	/* DISCONNECT in DISCONNECTED: the table refuses it on the I/O thread */
	cr_assert_eq(mws_client_disconnect(c, 1000, NULL), 0);
	cr_assert(mws_test_wait_until(refused_once, c, 5000), "the refusal was not counted");
	mws_client_stats st = stats_of(c);
	cr_expect_eq(st.refused_events, 1);
	cr_expect_eq(st.state, MWS_STATE_DISCONNECTED);
	cr_expect_eq(st.queue_messages, 1, "the refused event touched the queue");
	cr_expect_eq(st.msgs_discarded, 0);
	pthread_mutex_lock(&r.lock);
	cr_expect_eq(r.nstates, nstates, "a refused event fired a state change");
	pthread_mutex_unlock(&r.lock);
	/* nothing changed: connecting again delivers what waited */
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 1, 5000), "the queued message was lost");
	pthread_mutex_lock(&r.lock);
	cr_expect(r.msg_lens[0] == 6 && !memcmp(r.msgs[0], "queued", 6));
	pthread_mutex_unlock(&r.lock);
	cr_expect_eq(stats_of(c).refused_events, 1);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

Test(claims_client, messages_after_an_unanswered_heartbeat_prove_the_connection_alive,
     .timeout = 60)
{
	enum { INTERVAL = 200, TIMEOUT = 200, ALIVE_MS = 2000 };
	/* this peer never answers pings but echoes every message */
	mws_test_peer peer = start_py("--no-pong", NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	cfg.heartbeat_interval_ms = INTERVAL;
	cfg.heartbeat_timeout_ms = TIMEOUT;
	cfg.base_delay_ms = 5000; /* a drop would stay visible as RECONNECTING */
	cfg.max_delay_ms = 5000;
	cfg.jitter = MWS_JITTER_NONE;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));

	/* data both ways every 50 ms, for many interval + timeout periods */
	int sent = 0;
	for (uint64_t until = mws_test_now_ms() + ALIVE_MS; mws_test_now_ms() < until; sent++) {
		cr_assert_eq(mws_client_send(c, "tick", 4, MWS_MSG_TEXT), 0);
		sleep_ms(50);
	}
	mws_client_stats st = stats_of(c);
	cr_expect_gt(st.heartbeats_sent, 2, "no heartbeat went out");
	cr_expect_eq(st.heartbeat_timeouts, 0);
	cr_expect_eq(st.state, MWS_STATE_CONNECTED);
	cr_expect_eq(rec_count_to(&r, MWS_STATE_RECONNECTING), 0, "dropped while data flowed");
	cr_expect_gt(st.msgs_in, 0);

	/* the control: the same link with no data is a zombie (4000) */
	uint64_t t0 = mws_test_now_ms();
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000), "silence was not detected");
	rec_state *s = rec_last_to(&r, MWS_STATE_RECONNECTING);
	cr_expect_eq(s->code, 4000);
	cr_expect_leq(s->at_ms - t0, (uint64_t)(INTERVAL + TIMEOUT) + MWS_TEST_SLACK_MS(250));
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

/* ---- HTTP 5xx at the handshake: our server refuses, then recovers ---- */

typedef struct flaky {
	atomic_int auths;
	int refuse_first;
	int status;
} flaky;

static int flaky_auth(mws_server *s, const mws_conn_info *i, void *ud)
{
	(void)s, (void)i;
	flaky *f = ud;
	return atomic_fetch_add(&f->auths, 1) < f->refuse_first ? f->status : 0;
}

static void http_5xx_then_recovery(int status)
{
	flaky f = {.refuse_first = 3, .status = status};
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	scfg.iface = "127.0.0.1";
	scfg.rate_per_sec = -1;
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, NULL, &scfg), 0); /* one context, as advised */
	mws_server_callbacks cbs = {sizeof cbs, flaky_auth, NULL, NULL, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, &f, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	char url[64];
	url_for_port(url, sizeof url, mws_server_port(srv));

	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000), "never connected after %d",
	          status);
	cr_expect_eq(rec_count_to(&r, MWS_STATE_FAILED), 0, "%d failed the client", status);
	cr_expect_eq(rec_count_to(&r, MWS_STATE_RECONNECTING), 3, "one retry per refusal");
	cr_expect_eq(atomic_load(&f.auths), 4);
	mws_client_stats st = stats_of(c);
	cr_expect_eq(st.attempts_total, 4);
	cr_expect_eq(st.connects, 1);
	mws_client_free(c);
	rec_destroy(&r);
	mws_server_free(srv);
}

Test(claims_client, http_503_at_the_handshake_reconnects_until_the_server_recovers,
     .timeout = 60)
{
	http_5xx_then_recovery(503);
}

Test(claims_client, http_500_at_the_handshake_reconnects_until_the_server_recovers,
     .timeout = 60)
{
	http_5xx_then_recovery(500);
}
