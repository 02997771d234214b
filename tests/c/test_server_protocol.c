/* What the server puts on the wire for the JSON protocol and for close
 * codes a libwebsockets 4.1.6 client would rewrite, seen by a raw client. */
#include "raw_ws.h"

Test(server_protocol, json_protocol_closes_text_that_is_not_json_with_1003)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.json_protocol = 1;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int fd = raw_ws_open(NULL, mws_server_port(srv), NULL);
	cr_assert_geq(fd, 0);
	const char *good[] = {"{\"type\":\"chat\",\"text\":\"hi\"}", "42", " [1, 2] \n", "\"s\""};
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(raw_ws_send(fd, 1, good[i], strlen(good[i]), 1), 0);
	cr_assert(wait_at_least(&r.messages, 4, 5000), "JSON values are delivered");
	const char bad[] = "{\"type\": oops";
	cr_assert_eq(raw_ws_send(fd, 1, bad, sizeof bad - 1, 1), 0);
	char reason[128];
	cr_assert_eq(raw_ws_read_close(fd, reason, sizeof reason, 5000), 1003);
	cr_assert_str_eq(reason, "Invalid message format");
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	rec_event e = rec_disc(&r, 0);
	cr_assert_eq(e.why, MWS_DISCONNECT_INVALID_MESSAGE);
	cr_assert_eq(e.code, 1003);
	cr_assert_eq(atomic_load(&r.messages), 4, "the invalid one is not delivered");
	cr_assert_eq(server_stats(srv).invalid_messages, 1);
	char body[1 << 14];
	cr_assert_eq(http_get(mws_server_port(srv), "/metrics", body, sizeof body), 200);
	cr_assert(strstr(body, "\nmws_server_invalid_messages_total 1\n"), "%s", body);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* Sends "not json" and a binary message; returns how many arrived. */
static int deliver_non_json(mws_server_config *cfg)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server *srv = rec_server(ctx, cfg, &r);
	int fd = raw_ws_open(NULL, mws_server_port(srv), NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(raw_ws_send(fd, 1, "not json", 8, 1), 0);
	cr_assert_eq(raw_ws_send(fd, 2, "\x01\x02", 2, 1), 0);
	wait_at_least(&r.messages, 2, 5000);
	int n = atomic_load(&r.messages);
	cr_assert_eq(atomic_load(&r.disconnects), 0);
	cr_assert_eq(server_stats(srv).invalid_messages, 0);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
	return n;
}

Test(server_protocol, json_allow_invalid_or_no_json_protocol_delivers_any_text)
{
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.json_protocol = 1;
	cfg.json_allow_invalid = 1;
	cr_assert_eq(deliver_non_json(&cfg), 2);
	mws_server_config_init(&cfg);
	cr_assert_eq(deliver_non_json(&cfg), 2, "binary is never checked, text only with json_protocol");
}

/* The close frame a raw client gets after mws_server_close(code, reason). */
static int close_seen(int code, const char *reason, char *seen, size_t cap, rec_event *ev)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server *srv = rec_server(ctx, NULL, &r);
	int fd = raw_ws_open(NULL, mws_server_port(srv), NULL);
	cr_assert_geq(fd, 0);
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	cr_assert_eq(mws_server_close(srv, rec_last_id(&r), code, reason), 0);
	int got = raw_ws_read_close(fd, seen, cap, 5000);
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	*ev = rec_disc(&r, 0);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
	return got;
}

Test(server_protocol, codes_a_lws_client_rewrites_carry_code_in_the_reason)
{
	char seen[128];
	rec_event e;
	cr_assert_eq(close_seen(1002, "bad frame", seen, sizeof seen, &e), 1002);
	cr_assert_str_eq(seen, "code=1002 bad frame", "a true 1002 says so");
	cr_assert_str_eq(e.reason, "bad frame", "the application sees its own reason");
	cr_assert_eq(close_seen(1013, "busy", seen, sizeof seen, &e), 1013);
	cr_assert_str_eq(seen, "code=1013 busy");
	cr_assert_eq(close_seen(1012, NULL, seen, sizeof seen, &e), 1012);
	cr_assert_str_eq(seen, "code=1012");
	cr_assert_eq(close_seen(1012, "code=1012 retry-after=50", seen, sizeof seen, &e), 1012);
	cr_assert_str_eq(seen, "code=1012 retry-after=50", "not written twice");
	cr_assert_eq(close_seen(4001, "auth", seen, sizeof seen, &e), 4001);
	cr_assert_str_eq(seen, "auth", "codes a client reads as sent are left alone");
	cr_assert_eq(close_seen(1000, "bye", seen, sizeof seen, &e), 1000);
	cr_assert_str_eq(seen, "bye");
	/* 123 bytes of two-byte characters: cut whole, never mid-character */
	char longr[124];
	memset(longr, 0, sizeof longr);
	for (int i = 0; i + 2 <= 122; i += 2)
		memcpy(longr + i, "\xc3\xa9", 2);
	cr_assert_eq(close_seen(1011, longr, seen, sizeof seen, &e), 1011);
	cr_assert_leq(strlen(seen), 123);
	size_t n = strlen(seen);
	cr_assert(n > 10 && ((unsigned char)seen[n - 1] == 0xa9), "ends on a whole character");
}

Test(server_protocol, sends_refused_over_the_queue_bound_are_counted)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.send_queue_max_bytes = 100;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int fd = raw_ws_open(NULL, mws_server_port(srv), NULL);
	cr_assert_geq(fd, 0);
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	char big[200] = {0};
	cr_assert_eq(mws_server_send(srv, rec_last_id(&r), big, sizeof big, MWS_MSG_BINARY),
	             MWS_EQUEUEFULL);
	cr_assert_eq(server_stats(srv).send_queue_full, 1);
	char body[1 << 14];
	cr_assert_eq(http_get(mws_server_port(srv), "/metrics", body, sizeof body), 200);
	cr_assert(strstr(body, "\nmws_server_send_queue_full_total 1\n"), "%s", body);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
