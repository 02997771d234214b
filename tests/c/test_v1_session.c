/*
 * mws.v1 between our client and our server over loopback, through the
 * fault proxy: sessions that resume after resets and blackholes lose,
 * duplicate and reorder nothing in either direction; a restarted server
 * sends goaway and the client reports its session lost with counts; a
 * session past its TTL ends with MWS_DISCONNECT_EXPIRED; receipts reach
 * the number send_seq returned.
 */
#include "client_wait.h"
#include "v1_harness.h"

#define N_MSGS 5000

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

static void proxy_to(v1_app *a)
{
	cr_assert_eq(mws_fault_proxy_start(&a->px, "127.0.0.1", 0, "127.0.0.1",
	                                   mws_server_port(a->srv)), 0);
}

static void reset_once(v1_app *a, int quarter)
{
	(void)quarter;
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_RESET, 0), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_PASS, 0), 0);
}

Test(v1_session, resets_lose_duplicate_and_reorder_nothing_both_ways, .timeout = 120)
{
	v1_app a;
	v1_init(&a);
	v1_server_start(&a, NULL);
	proxy_to(&a);
	mws_client_config cc = fast_client();
	v1_client_start(&a, mws_fault_proxy_port(a.px), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));

	v1_pump(&a, N_MSGS, reset_once, 90000);

	cr_expect_eq(atomic_load(&a.s_got), N_MSGS, "server got %lu",
	             (unsigned long)atomic_load(&a.s_got));
	cr_expect_eq(atomic_load(&a.c_got), N_MSGS, "client got %lu",
	             (unsigned long)atomic_load(&a.c_got));
	cr_expect_eq(atomic_load(&a.s_bad), 0);
	cr_expect_eq(atomic_load(&a.c_bad), 0);
	/* one session all along: one on_connect, resumed after each reset */
	cr_expect_eq(atomic_load(&a.connects), 1);
	cr_expect_eq(atomic_load(&a.disconnects), 0);
	cr_expect_eq(atomic_load(&a.lost), 0);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(a.cli, &st);
	cr_expect_eq(st.managed, 1);
	cr_expect_geq(st.sessions_resumed, 3);
	cr_expect_eq(st.sessions_lost, 0);
	cr_expect_eq(st.protocol_errors, 0);
	cr_expect_gt(st.batches_out, 0);
	mws_fault_proxy_stats ps;
	mws_fault_proxy_get_stats(a.px, &ps);
	cr_expect_geq(ps.resets, 3);
	mws_server_stats ss = {.size = sizeof ss};
	mws_server_stats_get(a.srv, &ss);
	cr_expect_geq(ss.sessions_resumed, 3);
	cr_expect_eq(ss.sessions_created, 1);
	v1_fini(&a);
}

static bool heartbeat_timed_out(const mws_client_stats *st)
{
	return st->heartbeat_timeouts > 0;
}

static bool round_trip_known(const mws_client_stats *st)
{
	return st->rtt_p50_us > 0;
}

static bool ten_written(const mws_client_stats *st)
{
	return st->msgs_out >= 10;
}

static bool goaway_seen(const mws_client_stats *st)
{
	return st->goaways > 0;
}

static void blackhole_until_timeout(v1_app *a, int quarter)
{
	if (quarter != 2)
		return;
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_BLACKHOLE, 0), 0);
	mws_client_stats st;
	wait_client_stats(a->cli, heartbeat_timed_out, &st, 10000);
	cr_assert_gt(st.heartbeat_timeouts, 0, "no heartbeat timeout in a blackhole");
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_PASS, 0), 0);
}

Test(v1_session, blackhole_heartbeat_timeout_then_resume, .timeout = 120)
{
	v1_app a;
	v1_init(&a);
	v1_server_start(&a, NULL);
	proxy_to(&a);
	mws_client_config cc = fast_client();
	cc.heartbeat_interval_ms = 200;
	cc.heartbeat_timeout_ms = 400;
	v1_client_start(&a, mws_fault_proxy_port(a.px), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));
	/* envelope pings are the heartbeat: their pongs give round trips */
	mws_client_stats st;
	wait_client_stats(a.cli, round_trip_known, &st, 5000);
	cr_expect_gt(st.rtt_p50_us, 0);
	cr_expect_gt(st.heartbeats_sent, 0);

	v1_pump(&a, N_MSGS, blackhole_until_timeout, 90000);

	cr_expect_eq(atomic_load(&a.s_got), N_MSGS);
	cr_expect_eq(atomic_load(&a.c_got), N_MSGS);
	cr_expect_eq(atomic_load(&a.s_bad), 0);
	cr_expect_eq(atomic_load(&a.c_bad), 0);
	cr_expect_eq(atomic_load(&a.connects), 1);
	cr_expect_eq(atomic_load(&a.disconnects), 0);
	cr_expect_geq(atomic_load(&a.c_resumed), 1);
	cr_expect_eq(atomic_load(&a.lost), 0);
	mws_client_stats_get(a.cli, &st);
	cr_expect_geq(st.heartbeat_timeouts, 1);
	v1_fini(&a);
}

Test(v1_session, receipts_reach_the_number_send_seq_returned)
{
	v1_app a;
	v1_init(&a);
	v1_server_start(&a, NULL);
	mws_client_config cc = fast_client();
	v1_client_start(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connected, 1, 5000));
	uint64_t last = 0;
	unsigned char b[8];
	for (uint64_t i = 1; i <= 100; i++) {
		v1_num(b, i);
		uint64_t n = 0;
		cr_assert_eq(mws_client_send_seq(a.cli, b, 8, MWS_MSG_BINARY, &n), 0);
		cr_assert_eq(n, i, "numbers count sends from 1");
		last = n;
	}
	cr_assert(v1_ge(&a.acked, last, 5000), "on_acked said %lu",
	          (unsigned long)atomic_load(&a.acked));
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(a.cli, &st);
	cr_expect_eq(st.send_number, last);
	cr_expect_eq(st.acked_number, last);
	cr_expect_eq(st.unacked, 0);
	cr_expect_eq(st.queue_messages, 0); /* acks freed the outbox */
	cr_expect_eq(atomic_load(&a.s_got), 100);
	v1_fini(&a);
}

Test(v1_session, suspended_past_ttl_expires_and_the_client_learns_it_lost)
{
	v1_app a;
	v1_init(&a);
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.session_ttl_ms = 300;
	sc.check_interval_ms = 50;
	v1_server_start(&a, &sc);
	mws_client_config cc = fast_client();
	v1_client_start(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));
	/* a close that is not 1000 suspends the session */
	cr_assert_eq(mws_client_disconnect(a.cli, 4100, "away for a while"), 0);
	cr_assert(v1_int_ge(&a.suspended, 1, 5000));
	uint64_t t0 = mws_test_now_ms();
	cr_assert(v1_int_ge(&a.disconnects, 1, 5000));
	cr_expect_geq(mws_test_now_ms() - t0, 250, "expired before its TTL");
	cr_expect_eq(atomic_load(&a.last_why), MWS_DISCONNECT_EXPIRED);
	mws_server_stats ss = {.size = sizeof ss};
	mws_server_stats_get(a.srv, &ss);
	cr_expect_eq(ss.sessions_expired, 1);
	cr_expect_eq(ss.sessions_suspended, 0);

	cr_assert_eq(mws_client_connect(a.cli), 0);
	cr_assert(v1_int_ge(&a.lost, 1, 5000));
	cr_expect_eq(atomic_load(&a.connects), 2, "a new session, a new on_connect");
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(a.cli, &st);
	cr_expect_eq(st.sessions_lost, 1);
	v1_fini(&a);
}

/* A server restarted gracefully on the same port, sessions in memory: the
 * client sees the goaway, reports its session lost with what was written
 * and unacknowledged, and (resend mode) the new server gets those. */
static void restart_with_unacked(int lost_mode)
{
	v1_app a;
	v1_init(&a);
	v1_server_start(&a, NULL);
	int port = mws_server_port(a.srv);
	proxy_to(&a);
	mws_client_config cc = fast_client();
	cc.session_lost_mode = lost_mode;
	v1_client_start(&a, mws_fault_proxy_port(a.px), &cc);
	cr_assert(v1_int_ge(&a.connected, 1, 5000));
	/* in flight for a second: written, not yet acknowledged */
	cr_assert_eq(mws_fault_proxy_set_mode(a.px, MWS_FAULT_DELAY, 1000), 0);
	unsigned char b[8];
	uint64_t last = 0;
	for (uint64_t i = 1; i <= 10; i++) {
		v1_num(b, i);
		cr_assert_eq(mws_client_send_seq(a.cli, b, 8, MWS_MSG_BINARY, &last), 0);
	}
	mws_client_stats st;
	wait_client_stats(a.cli, ten_written, &st, 5000);
	cr_assert_eq(st.msgs_out, 10);
	cr_assert_eq(mws_server_shutdown(a.srv, 1012, 100, 5000), 0);
	mws_server_stats ss = {.size = sizeof ss};
	mws_server_stats_get(a.srv, &ss);
	cr_expect_eq(ss.goaways_sent, 1);
	cr_expect_eq(atomic_load(&a.s_got), 0, "arrived after the shutdown began");
	mws_server_free(a.srv);
	a.srv = NULL;
	atomic_store(&a.s_got, 0);

	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.port = port;
	v1_server_start(&a, &sc);
	cr_assert_eq(mws_fault_proxy_set_mode(a.px, MWS_FAULT_PASS, 0), 0);
	cr_assert(v1_int_ge(&a.lost, 1, 10000));
	pthread_mutex_lock(&a.mu);
	mws_session_info li = a.lost_info;
	pthread_mutex_unlock(&a.mu);
	cr_expect_eq(li.unacked, 10);
	mws_client_stats_get(a.cli, &st);
	/* through the delaying proxy too (the server now waits for the close) */
	cr_expect_eq(st.goaways, 1);
	cr_expect_eq(st.sessions_lost, 1);
	if (lost_mode == MWS_SESSION_LOST_RESEND) {
		cr_expect_eq(li.resent, 10);
		cr_expect_eq(li.discarded, 0);
		cr_expect_eq(st.lost_resent, 10);
		cr_assert(v1_ge(&a.s_got, 10, 5000), "the new server got %lu",
		          (unsigned long)atomic_load(&a.s_got));
		cr_expect(v1_ge(&a.acked, last, 5000));
	} else {
		cr_expect_eq(li.resent, 0);
		cr_expect_eq(li.discarded, 10);
		cr_expect_eq(li.discarded_first, 1);
		cr_expect_eq(li.discarded_last, 10);
		cr_expect_eq(st.lost_discarded, 10);
		cr_expect_eq(st.acked_number, last, "discarded ones are settled");
		cr_expect_eq(st.queue_messages, 0);
	}
	cr_expect_eq(atomic_load(&a.s_bad), 0);
	v1_fini(&a);
}

Test(v1_session, graceful_restart_goaway_then_session_lost_resends, .timeout = 60)
{
	restart_with_unacked(MWS_SESSION_LOST_RESEND);
}

Test(v1_session, graceful_restart_session_lost_discard_mode_counts, .timeout = 60)
{
	restart_with_unacked(MWS_SESSION_LOST_DISCARD);
}

/* Sends and broadcasts to a suspended session wait in it (bounded) and
 * arrive, in order, when the client resumes. */
Test(v1_session, sends_to_a_suspended_session_arrive_on_resume_within_the_bound)
{
	v1_app a;
	v1_init(&a);
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.session_max_messages = 3;
	v1_server_start(&a, &sc);
	mws_client_config cc = fast_client();
	v1_client_start(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connects, 1, 5000));
	cr_assert_eq(mws_client_disconnect(a.cli, 4100, "away"), 0);
	cr_assert(v1_int_ge(&a.suspended, 1, 5000));
	mws_conn_id id = atomic_load(&a.srv_id);
	unsigned char b[8];
	for (uint64_t i = 1; i <= 3; i++) {
		v1_num(b, i);
		cr_assert_eq(mws_server_send(a.srv, id, b, 8, MWS_MSG_BINARY), 0);
	}
	v1_num(b, 4);
	cr_expect_eq(mws_server_send(a.srv, id, b, 8, MWS_MSG_BINARY), MWS_EQUEUEFULL);

	cr_assert_eq(mws_client_connect(a.cli), 0);
	cr_assert(v1_int_ge(&a.resumed, 1, 5000));
	cr_assert(v1_ge(&a.c_got, 3, 5000), "client got %lu", (unsigned long)atomic_load(&a.c_got));

	/* the client's next message carries its ack: the server frees the 3 */
	v1_num(b, 1);
	cr_assert_eq(mws_client_send(a.cli, b, 8, MWS_MSG_BINARY), 0);
	cr_assert(v1_ge(&a.s_got, 1, 5000));
	/* a broadcast reaches it while suspended too */
	cr_assert_eq(mws_client_disconnect(a.cli, 4100, "away again"), 0);
	cr_assert(v1_int_ge(&a.suspended, 2, 5000));
	v1_num(b, 4);
	cr_assert_eq(mws_server_broadcast(a.srv, b, 8, MWS_MSG_BINARY), 0);
	cr_assert_eq(mws_client_connect(a.cli), 0);
	cr_assert(v1_ge(&a.c_got, 4, 5000), "client got %lu", (unsigned long)atomic_load(&a.c_got));
	cr_expect_eq(atomic_load(&a.c_bad), 0);
	cr_expect_eq(atomic_load(&a.connects), 1);
	cr_expect_eq(atomic_load(&a.disconnects), 0);
	cr_expect_eq(atomic_load(&a.lost), 0);
	v1_fini(&a);
}

/* Envelopes larger than the socket takes go out in fragments on both ends
 * (issue 9's property) and arrive whole. */
static atomic_int big_ok, big_bad;

static void big_check(const void *d, size_t n)
{
	const unsigned char *p = d;
	int ok = n == 300000;
	for (size_t i = 0; ok && i < n; i += 997)
		ok = p[i] == (unsigned char)(i * 7);
	atomic_fetch_add(ok ? &big_ok : &big_bad, 1);
}

/* All 16 arrived whole, or one did not. */
static bool big_done(void *arg)
{
	(void)arg;
	return atomic_load(&big_ok) >= 16 || atomic_load(&big_bad);
}

static void big_s_message(mws_server *s, mws_conn_id id, const void *d, size_t n, int t, void *u)
{
	(void)u;
	big_check(d, n);
	if (mws_server_send(s, id, d, n, t)) /* echo */
		atomic_fetch_add(&big_bad, 1);
}

static void big_c_message(mws_client *c, const void *d, size_t n, int t, void *u)
{
	(void)c, (void)t, (void)u;
	big_check(d, n);
}

Test(v1_session, large_messages_both_ways_in_fragments, .timeout = 60)
{
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_server *srv = NULL;
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.session_max_bytes = 8u << 20; /* every echo may wait at once */
	cr_assert_eq(mws_server_new(&srv, ctx, &sc), 0);
	mws_server_callbacks scb = {sizeof scb};
	scb.on_message = big_s_message;
	cr_assert_eq(mws_server_set_callbacks(srv, &scb, NULL, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, NULL), 0);
	mws_client_callbacks ccb = {sizeof ccb};
	ccb.on_message = big_c_message;
	cr_assert_eq(mws_client_set_callbacks(c, &ccb, NULL, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	static unsigned char big[300000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 7);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(mws_client_send(c, big, sizeof big, MWS_MSG_BINARY), 0);
	mws_test_wait_until(big_done, NULL, 30000);
	cr_expect_eq(atomic_load(&big_ok), 16, "8 there and 8 back");
	cr_expect_eq(atomic_load(&big_bad), 0);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.managed, 1);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

static bool left_connected(void *c)
{
	return mws_client_state(c) != MWS_STATE_CONNECTED;
}

Test(v1_session, goaway_is_seen_before_the_close_and_drives_the_policy)
{
	v1_app a;
	v1_init(&a);
	v1_server_start(&a, NULL);
	mws_client_config cc = fast_client();
	v1_client_start(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connected, 1, 5000));
	/* 1012 (which lws 4.1.6 turns into 1002 on the client) with a spread */
	cr_assert_eq(mws_server_shutdown(a.srv, 1012, 100, 5000), 0);
	mws_client_stats st;
	wait_client_stats(a.cli, goaway_seen, &st, 5000);
	cr_expect_eq(st.goaways, 1);
	mws_server_stats ss = {.size = sizeof ss};
	mws_server_stats_get(a.srv, &ss);
	cr_expect_eq(ss.goaways_sent, 1);
	/* the goaway's 1012 is a restart: reconnecting, not FAILED */
	mws_test_wait_until(left_connected, a.cli, 5000);
	int state = mws_client_state(a.cli);
	cr_expect(state == MWS_STATE_RECONNECTING || state == MWS_STATE_CONNECTING,
	          "state %s", mws_state_name(state));
	cr_expect_eq(atomic_load(&a.disconnects), 1);
	cr_expect_eq(atomic_load(&a.last_why), MWS_DISCONNECT_SHUTDOWN);
	v1_fini(&a);
}
