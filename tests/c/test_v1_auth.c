/*
 * A resume passes the auth hook again (issue 10: the token may have been
 * refreshed, or revoked): every handshake of an mws.v1 session, the first
 * and each resume, goes through on_auth with the credentials the client's
 * hook supplies for that attempt.
 */
#include "client_wait.h"
#include "v1_harness.h"

typedef struct auth_state {
	atomic_int calls;
	atomic_int refuse;  /* 1: on_auth answers 401 from now on */
	atomic_int tokens_seen_fresh; /* handshakes whose token was this attempt's */
	atomic_int attempts; /* credentials hook calls */
} auth_state;

static auth_state g_auth;

static int on_auth(mws_server *s, const mws_conn_info *info, void *u)
{
	(void)s, (void)u;
	atomic_fetch_add(&g_auth.calls, 1);
	char tok[64];
	int n = mws_conn_info_header(info, "X-Token", tok, sizeof tok);
	char want[64];
	snprintf(want, sizeof want, "t%d", atomic_load(&g_auth.attempts));
	if (n > 0 && !strcmp(tok, want))
		atomic_fetch_add(&g_auth.tokens_seen_fresh, 1);
	return atomic_load(&g_auth.refuse) ? 401 : 0;
}

static int on_credentials(mws_client *c, mws_credentials *cr, void *u)
{
	(void)c, (void)u;
	char tok[64];
	snprintf(tok, sizeof tok, "t%d", atomic_fetch_add(&g_auth.attempts, 1) + 1);
	return mws_credentials_set_header(cr, "X-Token", tok);
}

static void reset_proxy(v1_app *a)
{
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_RESET, 0), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_PASS, 0), 0);
}

Test(v1_auth, every_resume_passes_on_auth_again_and_a_revoked_one_fails, .timeout = 60)
{
	v1_app a;
	v1_init(&a);
	cr_assert_eq(mws_server_new(&a.srv, a.ctx, NULL), 0);
	mws_server_callbacks scb = {sizeof scb};
	scb.on_auth = on_auth;
	scb.on_connect = v1_s_connect;
	scb.on_message = v1_s_message;
	scb.on_disconnect = v1_s_disconnect;
	scb.on_session = v1_s_session;
	cr_assert_eq(mws_server_set_callbacks(a.srv, &scb, &a, NULL), 0);
	cr_assert_eq(mws_server_start(a.srv), 0);
	cr_assert_eq(mws_fault_proxy_start(&a.px, "127.0.0.1", 0, "127.0.0.1",
	                                   mws_server_port(a.srv)), 0);

	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.base_delay_ms = 20;
	cc.max_delay_ms = 200;
	cc.protocol_mode = MWS_PROTOCOL_REQUIRE;
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_fault_proxy_port(a.px));
	cr_assert_eq(mws_client_new(&a.cli, a.ctx, url, &cc), 0);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_state = v1_c_state;
	cb.on_message = v1_c_message;
	cb.on_session = v1_c_session;
	cb.on_credentials = on_credentials;
	cr_assert_eq(mws_client_set_callbacks(a.cli, &cb, &a, NULL), 0);
	cr_assert_eq(mws_client_connect(a.cli), 0);
	cr_assert(v1_int_ge(&a.connects, 1, 5000), "no session");

	/* Two resumes: each one a new handshake through on_auth, with the
	 * token the credentials hook gave that attempt. */
	for (int i = 1; i <= 2; i++) {
		reset_proxy(&a);
		cr_assert(v1_int_ge(&a.resumed, i, 10000), "resume %d did not happen", i);
	}
	cr_expect_eq(atomic_load(&a.connects), 1, "a resume is not a new session");
	cr_expect_geq(atomic_load(&g_auth.calls), 3);
	cr_expect_eq(atomic_load(&g_auth.tokens_seen_fresh), atomic_load(&g_auth.calls),
	             "a handshake carried a stale token");

	/* Revoked: the next resume is refused at the handshake (the hook runs
	 * once more for the 401, then the client fails for good). */
	atomic_store(&g_auth.refuse, 1);
	reset_proxy(&a);
	wait_client_state(a.cli, MWS_STATE_FAILED, 10000);
	cr_expect_eq(mws_client_state(a.cli), MWS_STATE_FAILED, "a revoked session resumed");
	cr_expect_eq(atomic_load(&a.c_resumed), 2);
	v1_fini(&a);
}
