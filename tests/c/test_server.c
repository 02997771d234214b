/* The server against our own client: messages both ways, connection ids,
 * close codes, limits and refusals at the handshake, reaping. */
#include "server_common.h"

#include "fault_proxy.h"

typedef struct client_rec {
	pthread_mutex_t lock;
	atomic_int connected, messages, closed_or_failed, state_changes;
	int last_code;
	int last_state;
	char last_reason[128];
	char last_msg[256];
	const char *token; /* sent as X-Token by the credentials hook */
} client_rec;

static void cl_on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	client_rec *r = ud;
	pthread_mutex_lock(&r->lock);
	r->last_code = ch->close_code;
	r->last_state = ch->to;
	snprintf(r->last_reason, sizeof r->last_reason, "%s", ch->reason);
	pthread_mutex_unlock(&r->lock);
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&r->connected, 1);
	if (ch->to == MWS_STATE_FAILED || ch->to == MWS_STATE_CLOSED ||
	    ch->to == MWS_STATE_RECONNECTING)
		atomic_fetch_add(&r->closed_or_failed, 1);
	atomic_fetch_add(&r->state_changes, 1);
}

static void cl_on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	(void)type;
	client_rec *r = ud;
	pthread_mutex_lock(&r->lock);
	snprintf(r->last_msg, sizeof r->last_msg, "%.*s", (int)(len < 255 ? len : 255),
	         (const char *)data);
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_add(&r->messages, 1);
}

static int cl_on_credentials(mws_client *c, mws_credentials *creds, void *ud)
{
	(void)c;
	client_rec *r = ud;
	if (r->token)
		mws_credentials_set_header(creds, "X-Token", r->token);
	return 0;
}

static mws_client *our_client(mws_ctx *ctx, int port, const char *path, client_rec *r,
                              mws_client_config *cfg)
{
	char url[128];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, path ? path : "/");
	mws_client_config dflt;
	if (!cfg) {
		mws_client_config_init(&dflt);
		cfg = &dflt;
	}
	mws_client *c = NULL;
	pthread_mutex_init(&r->lock, NULL);
	cr_assert_eq(mws_client_new(&c, ctx, url, cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, cl_on_state, cl_on_message, cl_on_credentials};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, r, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

typedef struct state_wait {
	mws_client *c;
	int state;
} state_wait;

static bool state_reached(void *arg)
{
	state_wait *w = arg;
	return mws_client_state(w->c) == w->state;
}

static bool wait_client_state(mws_client *c, int state, int timeout_ms)
{
	state_wait w = {c, state};
	return mws_test_wait_until(state_reached, &w, timeout_ms);
}

static mws_ctx *new_ctx(void)
{
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.fd_limit = 1024;
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, &cc), 0);
	return ctx;
}

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
	mws_conn_id id = r.last_id;
	pthread_mutex_unlock(&r.lock);
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
	pthread_mutex_lock(&r.lock);
	cr_expect_eq(r.disc[0].id, id);
	cr_expect_eq(r.disc[0].code, 1000);
	cr_expect_eq(r.disc[0].why, MWS_DISCONNECT_PEER_CLOSED);
	cr_expect_str_eq(r.disc[0].reason, "bye");
	pthread_mutex_unlock(&r.lock);
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
	mws_conn_id id = r.last_id;
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
	cr_expect_eq(r.disc[0].why, MWS_DISCONNECT_SERVER_CLOSED);
	cr_expect_eq(r.disc[0].code, 4001);
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
	cr_expect_eq(r.disc[0].code, 1009);
	cr_expect_eq(r.disc[0].why, MWS_DISCONNECT_TOO_BIG);
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
