/*
 * mws.v1 against servers that are not ours (Python `websockets`, Node `ws`):
 * they do not select the protocol, so "offer" falls back to plain and works
 * as before, and "require" ends FAILED instead of speaking plain.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "managedws.h"
#include "peer.h"

#define PY_PEER MWS_SOURCE_DIR "/tests/peers/py_ws_server.py"
#define NODE_PEER MWS_SOURCE_DIR "/tests/peers/ws_server.mjs"

typedef struct peer_rec {
	atomic_int connected, failed, echoed;
	char reason[160];
} peer_rec;

static void p_state(mws_client *c, const mws_state_change *ch, void *u)
{
	(void)c;
	peer_rec *r = u;
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&r->connected, 1);
	if (ch->to == MWS_STATE_FAILED) {
		snprintf(r->reason, sizeof r->reason, "%s", ch->reason);
		atomic_fetch_add(&r->failed, 1);
	}
}

static void p_message(mws_client *c, const void *d, size_t n, int t, void *u)
{
	(void)c;
	if (t == MWS_MSG_TEXT && n == 5 && !memcmp(d, "hello", 5))
		atomic_fetch_add(&((peer_rec *)u)->echoed, 1);
}

static bool is_set(void *p) { return atomic_load((atomic_int *)p) > 0; }

static void against(const char *const argv[], int mode)
{
	mws_test_peer peer;
	cr_assert_eq(mws_test_peer_start(&peer, argv), 0, "%s did not start", argv[1]);
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.protocol_mode = mode;
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", peer.port);
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cc), 0);
	peer_rec r;
	memset(&r, 0, sizeof r);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_state = p_state;
	cb.on_message = p_message;
	cr_assert_eq(mws_client_set_callbacks(c, &cb, &r, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	if (mode == MWS_PROTOCOL_REQUIRE) {
		cr_assert(mws_test_wait_until(is_set, &r.failed, 5000), "not FAILED");
		cr_expect_eq(atomic_load(&r.connected), 0);
		cr_expect(strstr(r.reason, "mws.v1"), "reason: %s", r.reason);
		cr_expect_eq(mws_client_state(c), MWS_STATE_FAILED);
	} else {
		cr_assert(mws_test_wait_until(is_set, &r.connected, 5000), "not CONNECTED");
		cr_assert_eq(mws_client_send(c, "hello", 5, MWS_MSG_TEXT), 0);
		cr_assert(mws_test_wait_until(is_set, &r.echoed, 5000), "no echo");
		mws_client_stats st = {.size = sizeof st};
		mws_client_stats_get(c, &st);
		cr_expect_eq(st.managed, 0);
		cr_expect_eq(st.protocol_errors, 0);
		cr_expect_eq(st.acked_number, 1, "plain: settled once written");
	}
	mws_client_free(c);
	mws_ctx_free(ctx);
	mws_test_peer_stop(&peer);
}

static void need_node_ws(void)
{
	if (access(MWS_SOURCE_DIR "/tests/peers/node_modules/ws/package.json", R_OK))
		cr_assert_fail("tests/peers has no node_modules: run `npm ci` there (scripts/setup.sh does)");
}

Test(v1_peers, offer_against_python_websockets_runs_plain)
{
	const char *const argv[] = {"python3", PY_PEER, NULL};
	against(argv, MWS_PROTOCOL_OFFER);
}

Test(v1_peers, require_against_python_websockets_fails)
{
	const char *const argv[] = {"python3", PY_PEER, NULL};
	against(argv, MWS_PROTOCOL_REQUIRE);
}

Test(v1_peers, offer_against_node_ws_runs_plain)
{
	need_node_ws();
	const char *const argv[] = {"node", NODE_PEER, NULL};
	against(argv, MWS_PROTOCOL_OFFER);
}

Test(v1_peers, require_against_node_ws_fails)
{
	need_node_ws();
	const char *const argv[] = {"node", NODE_PEER, NULL};
	against(argv, MWS_PROTOCOL_REQUIRE);
}

/* A server that selects mws.v1 and then breaks it: the client closes with
 * the documented code (seen in its state change) and counts the error. */
typedef struct bad_rec {
	atomic_int dropped, code;
} bad_rec;

static void b_state(mws_client *c, const mws_state_change *ch, void *u)
{
	(void)c;
	bad_rec *r = u;
	if (ch->from == MWS_STATE_CONNECTING || ch->from == MWS_STATE_CONNECTED) {
		if (ch->to == MWS_STATE_RECONNECTING || ch->to == MWS_STATE_FAILED) {
			if (!atomic_load(&r->dropped))
				atomic_store(&r->code, ch->close_code);
			atomic_fetch_add(&r->dropped, 1);
		}
	}
}

static void bad_server(const char *mode, int code)
{
	const char *const argv[] = {"python3", MWS_SOURCE_DIR "/tests/peers/py_v1_bad_server.py",
	                            "--mode", mode, NULL};
	mws_test_peer peer;
	cr_assert_eq(mws_test_peer_start(&peer, argv), 0);
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.protocol_mode = MWS_PROTOCOL_REQUIRE;
	cc.base_delay_ms = 5000; /* one connection is enough */
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", peer.port);
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cc), 0);
	bad_rec r;
	memset(&r, 0, sizeof r);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_state = b_state;
	cr_assert_eq(mws_client_set_callbacks(c, &cb, &r, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(mws_test_wait_until(is_set, &r.dropped, 5000), "%s: still connected", mode);
	cr_expect_eq(atomic_load(&r.code), code, "%s: closed with %d", mode, atomic_load(&r.code));
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.protocol_errors, 1);
	mws_client_free(c);
	mws_ctx_free(ctx);
	mws_test_peer_stop(&peer);
}

Test(v1_peers, client_closes_malformed_input_with_4002) { bad_server("garbage", 4002); }
Test(v1_peers, client_closes_a_text_frame_with_4003) { bad_server("text", 4003); }
Test(v1_peers, client_closes_an_unknown_envelope_with_4003) { bad_server("unknown", 4003); }
Test(v1_peers, client_closes_a_sequence_gap_with_4004) { bad_server("gap", 4004); }
Test(v1_peers, client_closes_a_second_welcome_with_4003) { bad_server("twice", 4003); }

/* Node `ws` selects mws.v1 and greets first (a text): plain at once, and
 * the echo of our hello that follows is not handed to the application. */
static atomic_int binary_seen;

static void g_message(mws_client *c, const void *d, size_t n, int t, void *u)
{
	if (t == MWS_MSG_BINARY)
		atomic_fetch_add(&binary_seen, 1);
	p_message(c, d, n, t, u);
}

Test(v1_peers, greeting_node_ws_runs_plain_and_our_hello_echo_is_dropped)
{
	need_node_ws();
	const char *const argv[] = {"node", MWS_SOURCE_DIR "/tests/peers/ws_greeting_server.mjs", NULL};
	mws_test_peer peer;
	cr_assert_eq(mws_test_peer_start(&peer, argv), 0);
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.heartbeat_mode = MWS_HEARTBEAT_JSON; /* takes the connection_ack */
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", peer.port);
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cc), 0);
	peer_rec r;
	memset(&r, 0, sizeof r);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_state = p_state;
	cb.on_message = g_message;
	cr_assert_eq(mws_client_set_callbacks(c, &cb, &r, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(mws_test_wait_until(is_set, &r.connected, 5000));
	cr_assert_eq(mws_client_send(c, "hello", 5, MWS_MSG_TEXT), 0);
	cr_assert(mws_test_wait_until(is_set, &r.echoed, 5000));
	cr_expect_eq(atomic_load(&binary_seen), 0, "our hello's echo was delivered");
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_expect_eq(st.managed, 0);
	mws_client_free(c);
	mws_ctx_free(ctx);
	mws_test_peer_stop(&peer);
}
