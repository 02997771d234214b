/* Clients that are not ours against our server: Python `websockets` and
 * Node `ws` speaking the JSON heartbeat protocol; /metrics read by the
 * prometheus_client parser. The browser has test_server_browser.c. */
#include "json_peers.h"
#include "test_timing.h"

Test(server_peers, python_websockets_client_speaks_the_json_protocol, .timeout = 60)
{
	mws_ctx *ctx;
	rec r;
	mws_server *srv = json_server(&ctx, &r, NULL);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/py", mws_server_port(srv));
	const char *const argv[] = {"python3", PEERS "py_ws_client.py", url, NULL};
	cJSON *j = run_json(argv, 30000);
	expect_protocol_ok(j);
	/* the connectionId in the ack is the id the application got */
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(j, "connection_id");
	cr_assert(cJSON_IsString(cid));
	cr_expect_eq(strtoull(cid->valuestring, NULL, 10), rec_last_id(&r));
	cJSON_Delete(j);
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	cr_expect_eq(rec_disc(&r, 0).code, 1000);
	cr_expect_eq(rec_disc(&r, 0).why, MWS_DISCONNECT_PEER_CLOSED);
	cr_expect_str_eq(rec_disc(&r, 0).reason, "done");
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.heartbeats_in, 1);
	cr_expect_eq(st.msgs_in, 2); /* heartbeats are not application messages */
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* What a browser does: no pings of its own, only JSON heartbeats. */
Test(server_peers, json_heartbeats_alone_keep_a_client_alive_and_silence_reaps_it,
     .timeout = 60)
{
	enum { TIMEOUT = 600, INTERVAL = 100, ALIVE = 1500, TOL = 400 };
	mws_ctx *ctx;
	rec r;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.heartbeat_timeout_ms = TIMEOUT;
	cfg.check_interval_ms = INTERVAL;
	cfg.ping_interval_ms = -1; /* no pings: heartbeats are the only sign */
	mws_server *srv = json_server(&ctx, &r, &cfg);
	char url[64], alive[16];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));
	snprintf(alive, sizeof alive, "%d", ALIVE);
	const char *const argv[] = {"python3", PEERS "py_ws_client.py", url, "--heartbeat-ms",
	                            "150", "--alive-ms", alive, NULL};
	cJSON *j = run_json(argv, 30000);
	expect_protocol_ok(j);
	cr_expect(json_true(j, "alive_until_silence"), "dropped while sending heartbeats");
	cr_expect_geq(json_num(j, "hb_acks"), 5);
	cr_expect_eq(json_num(j, "close_code"), 4000);
	double after = json_num(j, "closed_after_silence_ms");
	cr_expect(after >= TIMEOUT - 200 && after <= TIMEOUT + INTERVAL + MWS_TEST_SLACK_MS(TOL),
	          "closed %.0f ms after going silent", after);
	cJSON_Delete(j);
	cr_expect_eq(rec_disc(&r, 0).why, MWS_DISCONNECT_REAPED);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server_peers, node_ws_client_speaks_the_json_protocol, .timeout = 60)
{
	mws_ctx *ctx;
	rec r;
	mws_server *srv = json_server(&ctx, &r, NULL);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/node", mws_server_port(srv));
	const char *const argv[] = {"node", PEERS "ws_client.mjs", url, NULL};
	cJSON *j = run_json(argv, 30000);
	expect_protocol_ok(j);
	cr_expect_eq(json_num(j, "close_code"), 1000);
	cJSON_Delete(j);
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	cr_expect_eq(rec_disc(&r, 0).why, MWS_DISCONNECT_PEER_CLOSED);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

static double sample(const cJSON *samples, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(samples, name);
	cr_expect(cJSON_IsNumber(v), "no sample %s", name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

Test(server_peers, metrics_parse_as_prometheus_text_and_match_what_happened, .timeout = 60)
{
	mws_ctx *ctx;
	rec r;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	const char *origins[] = {"https://ok.example"};
	cfg.origins = origins;
	cfg.origin_count = 1;
	cfg.max_message_bytes = 100;
	mws_server *srv = json_server(&ctx, &r, &cfg);
	int port = mws_server_port(srv);
	/* two clients through the whole protocol, two origin refusals, and
	 * one 1009 */
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	for (int i = 0; i < 2; i++) {
		const char *const argv[] = {"python3", PEERS "py_ws_client.py", url, NULL};
		cJSON_Delete(run_json(argv, 30000));
	}
	cr_expect_eq(ws_handshake_status(NULL, port, "Origin: https://bad.example\r\n"), 403);
	cr_expect_eq(ws_handshake_status(NULL, port, "Origin: https://bad.example\r\n"), 403);
	mws_client *c = NULL;
	mws_client_config plain; /* counts a connection_ack: a plain connection */
	mws_client_config_init(&plain);
	plain.protocol_mode = MWS_PROTOCOL_PLAIN;
	cr_assert_eq(mws_client_new(&c, ctx, url, &plain), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	char big[200] = {0};
	cr_assert_eq(mws_client_send(c, big, sizeof big, MWS_MSG_BINARY), 0);
	cr_assert(wait_at_least(&r.disconnects, 3, 5000));

	char murl[64];
	snprintf(murl, sizeof murl, "http://127.0.0.1:%d/metrics", port);
	const char *const argv[] = {"python3", PEERS "prom_parse.py", murl, NULL};
	cJSON *j = run_json(argv, 30000);
	cr_assert(json_true(j, "ok"));
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(j, "content_type");
	cr_expect(cJSON_IsString(ct) && strstr(ct->valuestring, "version=0.0.4"));
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "samples");
	cr_expect_eq(sample(s, "mws_server_connections"), 0);
	cr_expect_eq(sample(s, "mws_server_connections_accepted_total"), 3);
	cr_expect_eq(sample(s, "mws_server_connections_refused_total{reason=\"origin\"}"), 2);
	cr_expect_eq(sample(s, "mws_server_connections_refused_total{reason=\"rate_limited\"}"), 0);
	cr_expect_eq(sample(s, "mws_server_messages_too_big_total"), 1);
	cr_expect_eq(sample(s, "mws_server_heartbeats_total"), 2);
	cr_expect_eq(sample(s, "mws_server_messages_in_total"), 4); /* 2 text + 2 binary */
	cr_expect_eq(sample(s, "mws_server_bytes_in_total"), 2 * (5 + 3));
	/* out: per python client an ack, a heartbeat_ack and two echoes */
	cr_expect_eq(sample(s, "mws_server_messages_out_total"), 2 * 4 + 1);
	cr_expect_eq(sample(s, "mws_server_disconnects_total"), 3);
	cr_expect_eq(sample(s, "mws_server_connection_duration_seconds_count"), 3);
	cr_expect_eq(sample(s, "mws_server_connection_duration_seconds_bucket{le=\"+Inf\"}"), 3);
	const cJSON *types = cJSON_GetObjectItemCaseSensitive(j, "types");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(types, "mws_server_heartbeat_rtt_seconds");
	cr_expect(cJSON_IsString(t) && !strcmp(t->valuestring, "histogram"));
	/* prometheus_client names a counter family without _total */
	t = cJSON_GetObjectItemCaseSensitive(types, "mws_server_connections_accepted");
	cr_expect(cJSON_IsString(t) && !strcmp(t->valuestring, "counter"));
	cJSON_Delete(j);
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
