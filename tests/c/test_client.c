/* The managed client against a server that is not ours (Python
 * `websockets`), directly and through the fault-injecting proxy. */
#include <criterion/criterion.h>
#include <signal.h>

#include "client_harness.h"
#include "fault_proxy.h"
#include "py_peer.h"
#include "test_timing.h"

/* Fast timings so failures show within seconds. */
static mws_client_config fast_config(void)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.base_delay_ms = 50;
	cfg.max_delay_ms = 400;
	cfg.restart_spread_ms = 300;
	cfg.connect_timeout_ms = 2000;
	cfg.handshake_timeout_ms = 2000;
	cfg.random_seed = 42;
	return cfg;
}

/* Starts the Python peer and a client of ours connected to it. */
static mws_client *connect_to_py(mws_test_peer *peer, rec *r, mws_client_config cfg)
{
	*peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer->port);
	rec_init(r);
	mws_client *c = rec_client(r, NULL, url, &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(r, MWS_STATE_CONNECTED, 5000), "never connected");
	return c;
}

static void finish(mws_client *c, mws_test_peer *peer, rec *r)
{
	mws_client_free(c);
	mws_test_peer_stop(peer);
	rec_destroy(r);
}

/* A proxy that refuses every connection: a URL where each attempt fails. */
static mws_fault_proxy *refusing_proxy(char *url, size_t cap)
{
	mws_fault_proxy *proxy;
	/* Upstream port 1 on loopback: nothing listens there. */
	cr_assert_eq(mws_fault_proxy_start(&proxy, "127.0.0.1", 0, "127.0.0.1", 1), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(proxy, MWS_FAULT_REFUSE, 0), 0);
	url_for_port(url, cap, mws_fault_proxy_port(proxy));
	return proxy;
}

static void send_text(mws_client *c, const char *text)
{
	cr_assert_eq(mws_client_send(c, text, strlen(text), MWS_MSG_TEXT), 0, "send %s", text);
}

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
	bool answered = false;
	for (uint64_t until = mws_test_now_ms() + 3000; !answered && mws_test_now_ms() < until;) {
		mws_client_stats st = {.size = sizeof st};
		mws_client_stats_get(c, &st);
		answered = st.rtt_p50_us > 0;
		if (!answered)
			nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
	cr_assert(answered, "no heartbeat answered before the fault");

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

/* ---- credentials ---- */

typedef struct creds_rec {
	rec r;
	int calls;
	int statuses[16];
} creds_rec;

static int give_token(mws_client *c, mws_credentials *creds, void *ud)
{
	(void)c;
	creds_rec *cr = ud;
	char token[32];
	snprintf(token, sizeof token, "token-%d", cr->calls);
	if (cr->calls < 16)
		cr->statuses[cr->calls] = mws_credentials_last_http_status(creds);
	cr->calls++;
	return mws_credentials_set_header(creds, "X-Token", token);
}

static void on_state_creds(mws_client *c, const mws_state_change *ch, void *ud)
{
	rec_on_state(c, ch, &((creds_rec *)ud)->r);
}

static void on_message_creds(mws_client *c, const void *d, size_t n, int t, void *ud)
{
	rec_on_message(c, d, n, t, &((creds_rec *)ud)->r);
}

Test(client, credentials_header_reaches_server_on_every_attempt, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	creds_rec cr;
	memset(&cr, 0, sizeof cr);
	rec_init(&cr.r);
	mws_client_config cfg = fast_config();
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, NULL, url, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, on_state_creds, on_message_creds, give_token};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, &cr, NULL), 0);
	mws_client_connect(c);
	for (int round = 0; round < 3; round++) {
		cr_assert(rec_wait_state(&cr.r, MWS_STATE_CONNECTED, 5000));
		send_text(c, "__headers");
		cr_assert(rec_wait_msgs(&cr.r, round + 1, 5000));
		char expect[48];
		snprintf(expect, sizeof expect, "\"token-%d\"", round);
		cr_expect(strstr(cr.r.msgs[round], expect) != NULL, "attempt %d headers: %s",
		          round, cr.r.msgs[round]);
		if (round < 2) {
			int n = cr.r.nstates;
			send_text(c, "__close 1011 internal");
			cr_assert(rec_wait_nstates(&cr.r, n + 1, 5000));
		}
	}
	cr_expect_eq(cr.calls, 3);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&cr.r);
}

Test(client, http_401_refreshes_credentials_once_then_fails, .timeout = 30)
{
	mws_test_peer peer = start_py("--reject-status", "401", NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	creds_rec cr;
	memset(&cr, 0, sizeof cr);
	rec_init(&cr.r);
	mws_client_config cfg = fast_config();
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, NULL, url, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, on_state_creds, on_message_creds, give_token};
	mws_client_set_callbacks(c, &cbs, &cr, NULL);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&cr.r, MWS_STATE_FAILED, 5000));
	cr_expect_eq(cr.calls, 2, "the hook runs once more to refresh, then no more");
	cr_expect_eq(cr.statuses[0], 0);
	cr_expect_eq(cr.statuses[1], 401);
	rec_state *s = rec_last_to(&cr.r, MWS_STATE_FAILED);
	cr_expect(strstr(s->reason, "401") != NULL, "reason: %s", s->reason);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&cr.r);
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

/* ---- timeouts and logging ---- */

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
