/* The managed client against a server that is not ours (Python
 * `websockets`), directly and through the fault-injecting proxy. */
#include <criterion/criterion.h>
#include <signal.h>

#include "client_py_proxy.h"
#include "client_wait.h"

Test(client, echoes_text_and_binary_against_python_websockets, .timeout = 30)
{
	mws_test_peer peer;
	rec r;
	mws_client *c = connect_to_py(&peer, &r, fast_config());

	send_text(c, "hello");
	const unsigned char bin[] = {0, 1, 2, 255, 0, 7};
	cr_assert_eq(mws_client_send(c, bin, sizeof bin, MWS_MSG_BINARY), 0);
	cr_assert(rec_wait_msgs(&r, 2, 5000));
	cr_expect_str_eq(r.msgs[0], "hello");
	cr_expect_eq(r.msg_types[0], MWS_MSG_TEXT);
	cr_expect_eq(r.msg_types[1], MWS_MSG_BINARY);
	cr_expect_eq(r.msg_lens[1], sizeof bin);
	cr_expect_eq(memcmp(r.msgs[1], bin, sizeof bin), 0);

	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	cr_expect_eq(st.msgs_out, 2);
	cr_expect_eq(st.msgs_in, 2);
	cr_expect_eq(st.connects, 1);
	finish(c, &peer, &r);
}

Test(client, queued_messages_arrive_once_in_order_after_server_restart, .timeout = 60)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	int port = peer.port;
	char url[64], portarg[16];
	url_for_port(url, sizeof url, port);
	snprintf(portarg, sizeof portarg, "%d", port);
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));

	mws_test_peer_stop(&peer);
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	enum { N = 200 };
	for (int i = 0; i < N; i++) {
		char m[32];
		snprintf(m, sizeof m, "m%03d", i);
		send_text(c, m);
	}
	peer = start_py("--port", portarg, NULL);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000), "no reconnect");
	cr_assert(rec_wait_msgs(&r, N, 10000), "only %d of %d echoed", r.nmsgs, N);
	for (int i = 0; i < N; i++) {
		char m[32];
		snprintf(m, sizeof m, "m%03d", i);
		cr_expect_str_eq(r.msgs[i], m, "message %d out of order or lost", i);
	}
	/* Nothing more comes: no message was sent twice. */
	send_text(c, "end");
	cr_assert(rec_wait_msgs(&r, N + 1, 5000));
	cr_expect_str_eq(r.msgs[N], "end");
	finish(c, &peer, &r);
}

static bool round_trip_known(const mws_client_stats *st)
{
	return st->rtt_p50_us > 0;
}

/* Blackholes the network under a connected client and measures how long the
 * zombie survives: it must not outlive interval + timeout. */
static void zombie_detected(int mode, const char *peer_flag)
{
	mws_test_peer peer = start_py(peer_flag, NULL, NULL);
	mws_fault_proxy *proxy;
	cr_assert_eq(mws_fault_proxy_start(&proxy, "127.0.0.1", 0, "127.0.0.1", peer.port), 0);
	char url[64];
	url_for_port(url, sizeof url, mws_fault_proxy_port(proxy));
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	cfg.heartbeat_mode = mode;
	cfg.heartbeat_interval_ms = 500;
	cfg.heartbeat_timeout_ms = 500;
	cfg.base_delay_ms = 2000; /* keeps it RECONNECTING while we look */
	cfg.max_delay_ms = 2000;
	cfg.jitter = MWS_JITTER_NONE;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	/* A heartbeat round trip proves the heartbeat really is answered. */
	mws_client_stats st;
	cr_assert(wait_client_stats(c, round_trip_known, &st, 3000),
	          "no heartbeat answered before the fault");

	uint64_t t0 = mws_test_now_ms();
	cr_assert_eq(mws_fault_proxy_set_mode(proxy, MWS_FAULT_BLACKHOLE, 0), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000), "zombie not detected");
	rec_state *s = rec_last_to(&r, MWS_STATE_RECONNECTING);
	uint64_t took = s->at_ms - t0;
	/* interval + timeout, plus slack for timers on a loaded machine */
	uint64_t bound = (uint64_t)(cfg.heartbeat_interval_ms + cfg.heartbeat_timeout_ms) +
	                 MWS_TEST_SLACK_MS(250);
	cr_expect_leq(took, bound, "zombie lived %llu ms", (unsigned long long)took);
	cr_expect_eq(s->code, 4000);
	cr_expect_str_eq(s->reason, "heartbeat timeout");

	mws_client_free(c);
	mws_fault_proxy_stop(proxy);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

Test(client, zombie_detected_within_interval_plus_timeout_ping, .timeout = 30)
{
	zombie_detected(MWS_HEARTBEAT_PING, NULL);
}

Test(client, zombie_detected_within_interval_plus_timeout_json, .timeout = 30)
{
	zombie_detected(MWS_HEARTBEAT_JSON, "--json-heartbeat");
}

Test(client, close_1008_fails_without_retry, .timeout = 30)
{
	mws_client_config cfg = fast_config();
	mws_test_peer peer;
	rec r;
	mws_client *c = connect_to_py(&peer, &r, cfg);
	send_text(c, "__close 1008 policy violation");
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 5000));
	rec_state *s = rec_last_to(&r, MWS_STATE_FAILED);
	cr_expect_eq(s->code, 1008);

	/* Bounded look for a further attempt: none may come. The backoff base
	 * is 50 ms, so a wrong retry would show well within a second. */
	int before = r.nstates;
	cr_expect_not(rec_wait_nstates(&r, before + 1, 1000), "a transition followed FAILED");
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.attempts_total, 1);
	cr_expect_eq(mws_client_send(c, "x", 1, MWS_MSG_TEXT), MWS_EFAILED);
	finish(c, &peer, &r);
}

Test(client, close_1012_reconnects_within_spread_without_counting, .timeout = 30)
{
	mws_client_config cfg = fast_config();
	cfg.restart_spread_ms = 400;
	mws_test_peer peer;
	rec r;
	mws_client *c = connect_to_py(&peer, &r, cfg);
	/* Our server's form: libwebsockets 4.1 shows 1012 to a client as 1002,
	 * the reason carries the truth. */
	send_text(c, "__close 1012 code=1012");
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	rec_state *s = rec_last_to(&r, MWS_STATE_RECONNECTING);
	cr_expect_eq(s->code, 1012);
	cr_expect_leq(s->delay_ms, 400);
	cr_expect_eq(s->attempt, 0, "a restart must not count as a failed attempt");
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.attempt, 0);
	cr_expect_eq(st.reconnects, 1);
	finish(c, &peer, &r);
}

Test(client, retry_after_hint_sets_the_delay, .timeout = 30)
{
	mws_client_config cfg = fast_config();
	mws_test_peer peer;
	rec r;
	mws_client *c = connect_to_py(&peer, &r, cfg);
	send_text(c, "__close 1013 retry-after=700");
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	rec_state *s = rec_last_to(&r, MWS_STATE_RECONNECTING);
	cr_expect_eq(s->delay_ms, 700);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	rec_state *back = rec_last_to(&r, MWS_STATE_CONNECTING);
	cr_expect_geq(back->at_ms - s->at_ms, 690, "retried before the server's hint");
	finish(c, &peer, &r);
}

Test(client, queue_full_refuses_and_keeps_what_is_queued, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg = fast_config();
	cfg.queue_max_messages = 10;
	cfg.queue_max_bytes = 1000;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	/* Not connected yet: everything waits in the queue. */
	for (int i = 0; i < 10; i++) {
		char m[16];
		snprintf(m, sizeof m, "q%d", i);
		send_text(c, m);
	}
	cr_expect_eq(mws_client_send(c, "over", 4, MWS_MSG_TEXT), MWS_EQUEUEFULL);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.queue_messages, 10);
	cr_expect_eq(st.queue_full, 1);

	mws_client_connect(c);
	cr_assert(rec_wait_msgs(&r, 10, 5000));
	for (int i = 0; i < 10; i++) {
		char m[16];
		snprintf(m, sizeof m, "q%d", i);
		cr_expect_str_eq(r.msgs[i], m);
	}
	mws_client_free(c);

	/* The byte bound holds as well. */
	mws_client *d = NULL;
	cr_assert_eq(mws_client_new(&d, NULL, url, &cfg), 0);
	char big[600] = {0};
	cr_expect_eq(mws_client_send(d, big, sizeof big, MWS_MSG_BINARY), 0);
	cr_expect_eq(mws_client_send(d, big, sizeof big, MWS_MSG_BINARY), MWS_EQUEUEFULL);
	mws_client_free(d);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

Test(client, bad_arguments_are_refused)
{
	mws_client *c = NULL;
	cr_expect_eq(mws_client_new(&c, NULL, "http://127.0.0.1/", NULL), MWS_EINVAL);
	cr_expect_eq(mws_client_new(&c, NULL, "ws://", NULL), MWS_EINVAL);
	cr_expect_eq(mws_client_new(NULL, NULL, "ws://127.0.0.1/", NULL), MWS_EINVAL);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.jitter = 99;
	cr_expect_eq(mws_client_new(&c, NULL, "ws://127.0.0.1/", &cfg), MWS_EINVAL);
	mws_client_config_init(&cfg);
	mws_close_rule bad = {999, MWS_CLOSE_ACTION_FAIL};
	cfg.close_rules = &bad;
	cfg.close_rule_count = 1;
	cr_expect_eq(mws_client_new(&c, NULL, "ws://127.0.0.1/", &cfg), MWS_EINVAL);
	cr_assert_eq(mws_client_new(&c, NULL, "ws://127.0.0.1:9/", NULL), 0);
	cr_expect_eq(mws_client_send(c, NULL, 3, MWS_MSG_TEXT), MWS_EINVAL);
	cr_expect_eq(mws_client_send(c, "x", 1, 7), MWS_EINVAL);
	cr_expect_eq(mws_client_close(c, 1005, NULL), MWS_EINVAL);
	mws_client_callbacks cbs = {sizeof cbs, NULL, NULL, NULL};
	cr_expect_eq(mws_client_connect(c), 0);
	cr_expect_eq(mws_client_set_callbacks(c, &cbs, NULL, NULL), MWS_ESTATE);
	mws_client_free(c);
}

/* ---- concurrent senders ---- */

typedef struct sender {
	mws_client *c;
	int thread;
	int refused;
} sender;

enum { SENDERS = 4, PER_SENDER = 1500 };

static void *send_many(void *arg)
{
	sender *s = arg;
	for (int i = 0; i < PER_SENDER; i++) {
		char m[32];
		int n = snprintf(m, sizeof m, "t%d-%d", s->thread, i);
		if (mws_client_send(s->c, m, (size_t)n, MWS_MSG_TEXT))
			s->refused++;
	}
	return NULL;
}

Test(client, concurrent_senders_are_serialised_and_keep_their_order, .timeout = 60)
{
	mws_client_config cfg = fast_config();
	cfg.queue_max_messages = SENDERS * PER_SENDER;
	mws_test_peer peer;
	rec r;
	mws_client *c = connect_to_py(&peer, &r, cfg);

	pthread_t threads[SENDERS];
	sender senders[SENDERS];
	for (int t = 0; t < SENDERS; t++) {
		senders[t] = (sender){c, t, 0};
		pthread_create(&threads[t], NULL, send_many, &senders[t]);
	}
	for (int t = 0; t < SENDERS; t++) {
		pthread_join(threads[t], NULL);
		cr_expect_eq(senders[t].refused, 0);
	}
	cr_assert(rec_wait_msgs(&r, SENDERS * PER_SENDER, 20000), "only %d echoed", r.nmsgs);
	int next[SENDERS] = {0};
	for (int i = 0; i < r.nmsgs; i++) {
		int t, k;
		cr_assert_eq(sscanf(r.msgs[i], "t%d-%d", &t, &k), 2, "garbled: %s", r.msgs[i]);
		cr_assert(t >= 0 && t < SENDERS);
		cr_assert_eq(k, next[t], "thread %d: got %d, expected %d", t, k, next[t]);
		next[t]++;
	}
	finish(c, &peer, &r);
}

/* ---- logging ---- */

typedef struct log_rec {
	pthread_mutex_t lock;
	int lines, saw_transition;
} log_rec;

static void on_log(int level, const char *msg, void *ud)
{
	log_rec *l = ud;
	pthread_mutex_lock(&l->lock);
	l->lines++;
	if (level == MWS_LOG_INFO && strstr(msg, "DISCONNECTED -> CONNECTING"))
		l->saw_transition = 1;
	pthread_mutex_unlock(&l->lock);
}

static bool log_saw(void *arg)
{
	log_rec *l = arg;
	pthread_mutex_lock(&l->lock);
	bool saw = l->saw_transition;
	pthread_mutex_unlock(&l->lock);
	return saw;
}

Test(client, log_callback_hears_transitions_at_its_level, .timeout = 30)
{
	log_rec l = {.lines = 0};
	pthread_mutex_init(&l.lock, NULL);
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.log_cb = on_log;
	cc.log_user_data = &l;
	cc.log_level = MWS_LOG_INFO;
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, &cc), 0);
	char url[64];
	mws_fault_proxy *proxy = refusing_proxy(url, sizeof url);
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, ctx, url, NULL), 0);
	mws_client_connect(c);
	cr_expect(mws_test_wait_until(log_saw, &l, 5000), "no INFO line for the transition");
	mws_client_free(c);
	mws_ctx_free(ctx);
	mws_fault_proxy_stop(proxy);

	/* At the default level (warnings) the same story says nothing. */
	log_rec quiet = {.lines = 0};
	pthread_mutex_init(&quiet.lock, NULL);
	cc.log_user_data = &quiet;
	cc.log_level = 0;
	cr_assert_eq(mws_ctx_new(&ctx, &cc), 0);
	proxy = refusing_proxy(url, sizeof url);
	rec r;
	rec_init(&r);
	c = rec_client(&r, ctx, url, NULL);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_RECONNECTING, 5000));
	mws_client_free(c);
	mws_ctx_free(ctx);
	mws_fault_proxy_stop(proxy);
	cr_expect_eq(quiet.lines, 0);
	rec_destroy(&r);
}
