/* The credentials hook against the Python peer: its header on every
 * attempt, and one refresh after an HTTP 401. */
#include "client_py_proxy.h"

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

/* A client of the peer whose hook gives a new token on each attempt,
 * connecting; cr is set up here. */
static mws_client *creds_client(const mws_test_peer *peer, creds_rec *cr)
{
	char url[64];
	url_for_port(url, sizeof url, peer->port);
	memset(cr, 0, sizeof *cr);
	rec_init(&cr->r);
	mws_client_config cfg = fast_config();
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, NULL, url, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, on_state_creds, on_message_creds, give_token};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, cr, NULL), 0);
	mws_client_connect(c);
	return c;
}

Test(client, credentials_header_reaches_server_on_every_attempt, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	creds_rec cr;
	mws_client *c = creds_client(&peer, &cr);
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
	creds_rec cr;
	mws_client *c = creds_client(&peer, &cr);
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
