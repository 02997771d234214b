/* The server against our own client: messages both ways, connection ids,
 * close codes, limits and refusals at the handshake, reaping. */
#include "server_our_client.h"

#include "fault_proxy.h"

Test(server, echoes_our_client_and_reports_the_connection)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	r.echo = 1;
	mws_server *srv = rec_server(ctx, NULL, &r);
	client_rec cr = {0};
	mws_client *c = our_client(ctx, mws_server_port(srv), "/chat?room=1", &cr, NULL);
	cr_assert(wait_at_least(&cr.connected, 1, 5000));
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	pthread_mutex_lock(&r.lock);
	cr_expect_str_eq(r.last_path, "/chat?room=1");
	cr_expect_str_eq(r.last_ip, "127.0.0.1");
	pthread_mutex_unlock(&r.lock);
	mws_conn_id id = rec_last_id(&r);
	cr_expect_gt(id, 0);

	cr_assert_eq(mws_client_send(c, "hello", 5, MWS_MSG_TEXT), 0);
	cr_assert(wait_at_least(&cr.messages, 1, 5000));
	pthread_mutex_lock(&cr.lock);
	cr_expect_str_eq(cr.last_msg, "hello");
	pthread_mutex_unlock(&cr.lock);

	/* the server speaks first, too */
	cr_assert_eq(mws_server_send(srv, id, "from server", 11, MWS_MSG_TEXT), 0);
	cr_assert(wait_at_least(&cr.messages, 2, 5000));

	mws_client_close(c, 1000, "bye");
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	rec_event e = rec_disc(&r, 0);
	cr_expect_eq(e.id, id);
	cr_expect_eq(e.code, 1000);
	cr_expect_eq(e.why, MWS_DISCONNECT_PEER_CLOSED);
	cr_expect_str_eq(e.reason, "bye");
	/* the id is stale now */
	cr_expect_eq(mws_server_send(srv, id, "x", 1, MWS_MSG_TEXT), MWS_ECLOSED);
	cr_expect_eq(mws_server_close(srv, id, 1000, NULL), MWS_ECLOSED);
	cr_expect_eq(mws_server_send(srv, 987654, "x", 1, MWS_MSG_TEXT), MWS_ECLOSED);

	mws_server_stats st = {.size = sizeof st};
	cr_assert_eq(mws_server_stats_get(srv, &st), 0);
	cr_expect_eq(st.accepted, 1);
	cr_expect_eq(st.connections, 0);
	cr_expect_eq(st.msgs_in, 1);
	cr_expect_eq(st.msgs_out, 2);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server, close_by_id_reaches_our_client_with_code_and_reason)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server *srv = rec_server(ctx, NULL, &r);
	client_rec cr = {0};
	mws_client *c = our_client(ctx, mws_server_port(srv), "/", &cr, NULL);
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	cr_assert(wait_at_least(&cr.connected, 1, 5000));
	mws_conn_id id = rec_last_id(&r);
	cr_assert_eq(mws_server_send(srv, id, "last words", 10, MWS_MSG_TEXT), 0);
	cr_assert_eq(mws_server_close(srv, id, 4001, "go away"), 0);
	cr_assert(wait_at_least(&cr.closed_or_failed, 1, 5000));
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	/* what was sent before the close arrived before it */
	cr_expect_eq(atomic_load(&cr.messages), 1);
	pthread_mutex_lock(&cr.lock);
	cr_expect_eq(cr.last_code, 4001);
	cr_expect_eq(cr.last_state, MWS_STATE_FAILED); /* 4001: auth, no retry */
	pthread_mutex_unlock(&cr.lock);
	cr_expect_eq(rec_disc(&r, 0).why, MWS_DISCONNECT_SERVER_CLOSED);
	cr_expect_eq(rec_disc(&r, 0).code, 4001);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server, oversized_message_closes_with_1009)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.max_message_bytes = 10000;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	client_rec cr = {0};
	mws_client *c = our_client(ctx, mws_server_port(srv), "/", &cr, NULL);
	cr_assert(wait_at_least(&cr.connected, 1, 5000));
	/* at the limit: delivered; lws hands it over in several chunks */
	char *big = calloc(1, 20000);
	memset(big, 'a', 20000);
	cr_assert_eq(mws_client_send(c, big, 10000, MWS_MSG_BINARY), 0);
	cr_assert(wait_at_least(&r.messages, 1, 5000));
	cr_assert_eq(mws_client_send(c, big, 10001, MWS_MSG_BINARY), 0);
	cr_assert(wait_at_least(&cr.closed_or_failed, 1, 5000));
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	pthread_mutex_lock(&cr.lock);
	cr_expect_eq(cr.last_code, 1009);
	cr_expect_eq(cr.last_state, MWS_STATE_FAILED);
	pthread_mutex_unlock(&cr.lock);
	cr_expect_eq(rec_disc(&r, 0).code, 1009);
	cr_expect_eq(rec_disc(&r, 0).why, MWS_DISCONNECT_TOO_BIG);
	cr_expect_eq(atomic_load(&r.messages), 1);
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.too_big, 1);
	free(big);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server, disallowed_origin_is_refused_with_403)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	const char *origins[] = {"https://good.example"};
	cfg.origins = origins;
	cfg.origin_count = 1;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int port = mws_server_port(srv);
	int st403 = ws_handshake_status(NULL, port, "Origin: https://evil.example\r\n");
	cr_expect_eq(st403, 403, "status %d", st403);
	cr_expect_eq(ws_handshake_status(NULL, port, "Origin: https://good.example\r\n"), 101);
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 101); /* not a browser */

	/* our client, refused: 403 is an auth failure, so it ends FAILED */
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.origin = "https://evil.example";
	client_rec cr = {0};
	mws_client *c = our_client(ctx, port, "/", &cr, &cc);
	cr_expect(wait_client_state(c, MWS_STATE_FAILED, 5000));
	cr_expect_eq(atomic_load(&r.connects), 2);
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_geq(st.refused[MWS_REFUSE_ORIGIN], 2);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server, auth_hook_refuses_with_its_status_and_reads_headers)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	r.auth_status = 401; /* refuse unless X-Token: good */
	mws_server *srv = rec_server(ctx, NULL, &r);
	int port = mws_server_port(srv);
	cr_expect_eq(ws_handshake_status(NULL, port, "X-Token: bad\r\n"), 401);
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 401);
	cr_expect_eq(ws_handshake_status(NULL, port, "X-Token: good\r\n"), 101);
	pthread_mutex_lock(&r.lock);
	cr_expect_str_eq(r.last_header, "good");
	pthread_mutex_unlock(&r.lock);

	/* our client: refused twice (once more after refreshing credentials) */
	client_rec bad = {.token = "bad"};
	mws_client *c1 = our_client(ctx, port, "/", &bad, NULL);
	cr_expect(wait_client_state(c1, MWS_STATE_FAILED, 5000));
	client_rec good = {.token = "good"};
	mws_client *c2 = our_client(ctx, port, "/", &good, NULL);
	cr_expect(wait_at_least(&good.connected, 1, 5000));
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.refused[MWS_REFUSE_AUTH], 4);
	cr_expect_eq(st.accepted, 2);
	mws_client_free(c1);
	mws_client_free(c2);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server, silent_client_is_reaped_with_4000_within_timeout_plus_interval)
{
	enum { TIMEOUT = 800, INTERVAL = 200, PING = 200, TOL = 250 };
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.heartbeat_timeout_ms = TIMEOUT;
	cfg.check_interval_ms = INTERVAL;
	cfg.ping_interval_ms = PING;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	mws_fault_proxy *proxy = NULL;
	cr_assert_eq(mws_fault_proxy_start(&proxy, "127.0.0.1", 0, "127.0.0.1",
	                                   mws_server_port(srv)), 0);
	client_rec zc = {0}, lc = {0};
	mws_client *zombie = our_client(ctx, mws_fault_proxy_port(proxy), "/", &zc, NULL);
	mws_client *alive = our_client(ctx, mws_server_port(srv), "/", &lc, NULL);
	cr_assert(wait_at_least(&r.connects, 2, 5000));
	cr_assert(wait_at_least(&zc.connected, 1, 5000));
	/* pings keep both alive well past the timeout */
	cr_assert_not(wait_at_least(&r.disconnects, 1, TIMEOUT + 2 * INTERVAL));

	cr_assert_eq(mws_fault_proxy_set_mode(proxy, MWS_FAULT_BLACKHOLE, 0), 0);
	uint64_t t0 = mws_test_now_ms();
	cr_assert(wait_at_least(&r.disconnects, 1, TIMEOUT + INTERVAL + 3000));
	rec_event e = rec_disc(&r, 0);
	cr_expect_eq(e.code, 4000);
	cr_expect_eq(e.why, MWS_DISCONNECT_REAPED);
	cr_expect_str_eq(e.reason, "Heartbeat timeout");
	uint64_t took = e.at_ms - t0;
	/* its last pong came at most one ping interval before the blackhole */
	cr_expect_leq(took, TIMEOUT + INTERVAL + MWS_TEST_SLACK_MS(TOL), "reaped after %llu ms", (unsigned long long)took);
	cr_expect_geq(took + PING + 50, TIMEOUT, "reaped after %llu ms", (unsigned long long)took);
	/* the other one, answering pings, stays */
	cr_expect_not(wait_at_least(&r.disconnects, 2, 2 * INTERVAL));
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.reaped, 1);
	cr_expect_eq(st.connections, 1);
	cr_expect_gt(st.pongs_in, 0);
	cr_expect_gt(st.rtt_p50_us, 0);
	mws_client_free(zombie);
	mws_client_free(alive);
	mws_fault_proxy_stop(proxy);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server, max_connections_refuses_with_503)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.max_connections = 2;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int port = mws_server_port(srv);
	client_rec a = {0}, b = {0};
	mws_client *ca = our_client(ctx, port, "/", &a, NULL);
	mws_client *cb = our_client(ctx, port, "/", &b, NULL);
	cr_assert(wait_at_least(&r.connects, 2, 5000));
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 503);
	mws_client_free(ca);
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 101);
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.refused[MWS_REFUSE_MAX_CONNECTIONS], 1);
	mws_client_free(cb);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* Handshakes from two addresses at once, as fast as they go. */
Test(server, connect_flood_from_one_address_is_cut_to_rate_and_burst)
{
	enum { RATE = 2, BURST = 5, FLOOD = 30, OTHER = 5 };
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.rate_per_sec = RATE;
	cfg.rate_burst = BURST;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int port = mws_server_port(srv);
	int ok1 = 0, refused1 = 0, ok2 = 0;
	uint64_t t0 = mws_test_now_ms();
	for (int i = 0; i < FLOOD; i++) {
		int st = ws_handshake_status("127.0.0.1", port, NULL);
		if (st == 101)
			ok1++;
		else if (st == 429)
			refused1++;
		if (i % (FLOOD / OTHER) == 0 && ws_handshake_status("127.0.0.2", port, NULL) == 101)
			ok2++;
	}
	double secs = (double)(mws_test_now_ms() - t0) / 1000.0;
	cr_expect_geq(ok1, BURST);
	cr_expect_leq(ok1, BURST + (int)(RATE * secs) + 1, "%d admitted in %.2f s", ok1, secs);
	cr_expect_eq(ok1 + refused1, FLOOD);
	cr_expect_eq(ok2, OTHER, "the other address is not limited");
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.refused[MWS_REFUSE_RATE_LIMITED], (uint64_t)refused1);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

static int closed_within(int fd, int timeout_ms)
{
	if (mws_test_wait_readable(fd, timeout_ms) <= 0)
		return 0;
	char b[256];
	return read(fd, b, sizeof b) <= 0;
}

Test(server, handshake_that_never_completes_is_dropped_after_its_timeout)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.handshake_timeout_ms = 1000;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int port = mws_server_port(srv);
	int silent = tcp_connect_from(NULL, port);
	int partial = tcp_connect_from(NULL, port);
	cr_assert_geq(silent, 0);
	cr_assert_geq(partial, 0);
	const char *half = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";
	cr_assert_eq(write_all(partial, half, strlen(half)), 0);
	uint64_t t0 = mws_test_now_ms();
	/* not before the timeout (libwebsockets checks once a second) */
	cr_expect_not(closed_within(silent, 500));
	/* 1 s timeout + 1 s of lws granularity, plus scheduling slack */
	int limit = 2000 + MWS_TEST_SLACK_MS(1000);
	cr_expect(closed_within(silent, limit), "silent client still connected");
	cr_expect(closed_within(partial, limit), "half a handshake still connected");
	uint64_t took = mws_test_now_ms() - t0;
	cr_expect_leq(took, (uint64_t)limit);
	close(silent);
	close(partial);
	/* an honest client is still welcome */
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 101);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
typedef struct tls_echo {
	atomic_int received, errors;
	int next;
} tls_echo;

static void tls_on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	(void)type;
	tls_echo *t = ud;
	char buf[32];
	snprintf(buf, sizeof buf, "%.*s", (int)len, (const char *)data);
	if (atoi(buf) != t->next++)
		atomic_fetch_add(&t->errors, 1);
	atomic_fetch_add(&t->received, 1);
}

Test(server, tls_echo_keeps_every_message_in_order, .timeout = 60)
{
	test_cert tc;
	test_cert_make(&tc);
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	r.echo = 1;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.cert_file = tc.cert;
	cfg.key_file = tc.key;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	char url[64];
	snprintf(url, sizeof url, "wss://127.0.0.1:%d/", mws_server_port(srv));
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.insecure = 1;
	mws_client *c = NULL;
	tls_echo t = {0};
	cr_assert_eq(mws_client_new(&c, ctx, url, &cc), 0);
	mws_client_callbacks cbs = {sizeof cbs, NULL, tls_on_message, NULL};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, &t, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	enum { MSGS = 300 };
	for (int i = 0; i < MSGS; i++) {
		char m[16];
		int n = snprintf(m, sizeof m, "%d", i);
		cr_assert_eq(mws_client_send(c, m, (size_t)n, MWS_MSG_TEXT), 0);
	}
	cr_assert(wait_at_least(&t.received, MSGS, 20000), "%d echoed",
	          atomic_load(&t.received));
	cr_expect_eq(atomic_load(&t.errors), 0);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
	test_cert_remove(&tc);
}

static atomic_int freed_user_data;

static void count_free(void *ud)
{
	(void)ud;
	atomic_fetch_add(&freed_user_data, 1);
}

static void free_on_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                            int type, void *ud)
{
	(void)id;
	(void)data;
	(void)len;
	(void)type;
	(void)ud;
	mws_server_free(srv); /* from its own callback: deferred */
}

Test(server, free_from_a_callback_is_deferred_and_frees_user_data_once)
{
	mws_ctx *ctx = new_ctx();
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, NULL, free_on_message, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, NULL, count_free), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	cr_expect_eq(mws_server_start(srv), MWS_ESTATE);
	client_rec cr = {0};
	mws_client *c = our_client(ctx, mws_server_port(srv), "/", &cr, NULL);
	cr_assert(wait_at_least(&cr.connected, 1, 5000));
	cr_assert_eq(mws_client_send(c, "bye", 3, MWS_MSG_TEXT), 0);
	cr_assert(wait_at_least(&freed_user_data, 1, 5000));
	/* the client was told the server went away */
	cr_assert(wait_at_least(&cr.closed_or_failed, 1, 5000));
	pthread_mutex_lock(&cr.lock);
	cr_expect_eq(cr.first_close_code, 1001);
	pthread_mutex_unlock(&cr.lock);
	mws_client_free(c);
	mws_ctx_free(ctx);
	cr_expect_eq(atomic_load(&freed_user_data), 1);
}
