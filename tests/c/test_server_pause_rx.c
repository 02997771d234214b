/* mws_server_pause_rx(): a paused connection is not read, so our client's
 * queue fills behind TCP; after the resume every message arrives, in
 * order. A paused connection is neither reaped nor taken for dead by the
 * client. Server and client on separate contexts, over loopback. */
#include "server_common.h"
#include "test_timing.h"

#include <time.h>

/* The server side: messages must arrive numbered 0, 1, 2, ... */
typedef struct srv_rec {
	atomic_int connects, disconnects, received, out_of_order;
	atomic_uint_least64_t last_id;
} srv_rec;

static void s_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)srv;
	(void)info;
	srv_rec *r = ud;
	atomic_store(&r->last_id, id);
	atomic_fetch_add(&r->connects, 1);
}

static void s_message(mws_server *srv, mws_conn_id id, const void *data, size_t len, int type,
                      void *ud)
{
	(void)srv;
	(void)id;
	(void)type;
	srv_rec *r = ud;
	char num[16] = {0};
	memcpy(num, data, len < 8 ? len : 8);
	if (atoi(num) != atomic_load(&r->received))
		atomic_fetch_add(&r->out_of_order, 1);
	atomic_fetch_add(&r->received, 1);
}

static void s_disconnect(mws_server *srv, mws_conn_id id, int code, const char *reason, int why,
                         void *ud)
{
	(void)srv;
	(void)id;
	(void)code;
	(void)reason;
	(void)why;
	atomic_fetch_add(&((srv_rec *)ud)->disconnects, 1);
}

static mws_server *start_server(mws_ctx *ctx, mws_server_config *cfg, srv_rec *r)
{
	memset(r, 0, sizeof *r);
	cfg->iface = "127.0.0.1";
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, s_connect, s_message, s_disconnect};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, r, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	return srv;
}

static mws_client *start_client(mws_ctx *ctx, int port, mws_client_config *cfg)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, cfg), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

static bool client_connected(void *arg)
{
	return mws_client_state(arg) == MWS_STATE_CONNECTED;
}

typedef struct paused_is {
	mws_server *srv;
	uint32_t n;
} paused_is;

static bool paused_reached(void *arg)
{
	paused_is *w = arg;
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(w->srv, &st);
	return st.paused_connections == w->n;
}

static uint64_t client_queue_bytes(mws_client *c)
{
	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	return st.queue_bytes;
}

typedef struct queue_below {
	mws_client *c;
	uint64_t bytes;
} queue_below;

static bool queue_fell_below(void *arg)
{
	queue_below *w = arg;
	return client_queue_bytes(w->c) < w->bytes;
}

static void pause_and_wait(mws_server *srv, mws_conn_id id, int paused)
{
	cr_assert_eq(mws_server_pause_rx(srv, id, paused), 0);
	paused_is w = {srv, paused ? 1u : 0u};
	cr_assert(mws_test_wait_until(paused_reached, &w, 5000), "the pause did not apply");
}

Test(server_pause_rx, paused_connection_backs_up_the_client_and_resume_delivers_in_order,
     .timeout = 90)
{
	enum { MSG = 16 * 1024, COUNT = 1024 }; /* 16 MiB: more than loopback buffers */
	mws_ctx *sctx, *cctx;
	cr_assert_eq(mws_ctx_new(&sctx, NULL), 0);
	cr_assert_eq(mws_ctx_new(&cctx, NULL), 0);
	srv_rec r;
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	scfg.max_message_bytes = MSG;
	mws_server *srv = start_server(sctx, &scfg, &r);

	mws_client_config ccfg;
	mws_client_config_init(&ccfg);
	ccfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	ccfg.queue_max_messages = COUNT;
	ccfg.queue_max_bytes = (size_t)COUNT * MSG;
	mws_client *c = start_client(cctx, mws_server_port(srv), &ccfg);
	cr_assert(mws_test_wait_until(client_connected, c, 5000));
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	mws_conn_id id = (mws_conn_id)atomic_load(&r.last_id);

	pause_and_wait(srv, id, 1);
	static char msg[MSG];
	for (int i = 0; i < COUNT; i++) {
		memset(msg, 'x', sizeof msg);
		snprintf(msg, 9, "%08d", i);
		cr_assert_eq(mws_client_send(c, msg, sizeof msg, MWS_MSG_BINARY), 0, "send %d", i);
	}
	/* Nothing is read while paused: at least half stays in the client's
	 * queue, held back by TCP. */
	queue_below half = {c, (uint64_t)COUNT * MSG / 2};
	cr_assert_not(mws_test_wait_until(queue_fell_below, &half, 1500),
	              "the client's queue drained while the server did not read");
	cr_assert_eq(atomic_load(&r.received), 0, "a message was read while paused");
	cr_assert_eq(mws_client_state(c), MWS_STATE_CONNECTED);

	pause_and_wait(srv, id, 0);
	cr_assert(wait_at_least(&r.received, COUNT, 30000), "only %d of %d arrived after resume",
	          atomic_load(&r.received), COUNT);
	cr_assert_eq(atomic_load(&r.out_of_order), 0);
	queue_below empty = {c, 1};
	cr_assert(mws_test_wait_until(queue_fell_below, &empty, 5000));

	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(cctx);
	mws_ctx_free(sctx);
}

Test(server_pause_rx, paused_connection_is_neither_reaped_nor_taken_for_dead_by_the_client,
     .timeout = 60)
{
	mws_ctx *sctx, *cctx;
	cr_assert_eq(mws_ctx_new(&sctx, NULL), 0);
	cr_assert_eq(mws_ctx_new(&cctx, NULL), 0);
	srv_rec r;
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	scfg.heartbeat_timeout_ms = 400; /* the client's pongs are its sign of life */
	scfg.check_interval_ms = 100;
	scfg.ping_interval_ms = 100;
	mws_server *srv = start_server(sctx, &scfg, &r);

	mws_client_config ccfg;
	mws_client_config_init(&ccfg);
	ccfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	ccfg.heartbeat_interval_ms = 150; /* pings it cannot have answered ... */
	ccfg.heartbeat_timeout_ms = 1500; /* ... over the server's 1 s keepalive */
	mws_client *c = start_client(cctx, mws_server_port(srv), &ccfg);
	cr_assert(mws_test_wait_until(client_connected, c, 5000));
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	mws_conn_id id = (mws_conn_id)atomic_load(&r.last_id);

	pause_and_wait(srv, id, 1);
	cr_assert_not(wait_at_least(&r.disconnects, 1, 3000),
	              "a paused connection was reaped or dropped");
	mws_client_stats cst = {.size = sizeof cst};
	mws_client_stats_get(c, &cst);
	cr_assert_eq(cst.heartbeat_timeouts, 0, "the client took the paused server for dead");
	cr_assert_eq(cst.connects, 1);
	mws_server_stats sst = server_stats(srv);
	cr_assert_eq(sst.reaped, 0);

	pause_and_wait(srv, id, 0);
	cr_assert_eq(mws_client_send(c, "00000000", 8, MWS_MSG_TEXT), 0);
	cr_assert(wait_at_least(&r.received, 1, 5000));
	/* Resumed, the heartbeats are read again: still connected a while on. */
	cr_assert_not(wait_at_least(&r.disconnects, 1, 1000), "dropped after the resume (%d)",
	              atomic_load(&r.disconnects));

	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(cctx);
	mws_ctx_free(sctx);
}

/* Found here: libwebsockets 4.1.6 validated a pong's payload as UTF-8
 * after a text message, and our ping carried raw timestamp bytes. */
Test(server_pause_rx, pongs_after_a_text_message_are_not_closed_as_bad_utf8, .timeout = 30)
{
	mws_ctx *sctx, *cctx;
	cr_assert_eq(mws_ctx_new(&sctx, NULL), 0);
	cr_assert_eq(mws_ctx_new(&cctx, NULL), 0);
	srv_rec r;
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	scfg.ping_interval_ms = 20;
	mws_server *srv = start_server(sctx, &scfg, &r);
	mws_client_config ccfg;
	mws_client_config_init(&ccfg);
	ccfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	ccfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	mws_client *c = start_client(cctx, mws_server_port(srv), &ccfg);
	cr_assert(mws_test_wait_until(client_connected, c, 5000));
	cr_assert_eq(mws_client_send(c, "00000000", 8, MWS_MSG_TEXT), 0);
	cr_assert(wait_at_least(&r.received, 1, 5000));
	cr_assert_not(wait_at_least(&r.disconnects, 1, 1500), "closed after pongs");
	mws_server_stats st = server_stats(srv);
	cr_assert_gt(st.pongs_in, 10);
	cr_assert_gt(st.rtt_p50_us, 0, "the round trip is still read from the pong");
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(cctx);
	mws_ctx_free(sctx);
}

Test(server_pause_rx, bad_arguments_and_stale_ids)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	srv_rec r;
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	mws_server *srv = start_server(ctx, &scfg, &r);
	cr_assert_eq(mws_server_pause_rx(NULL, 1, 1), MWS_EINVAL);
	cr_assert_eq(mws_server_pause_rx(srv, 12345, 1), MWS_ECLOSED);
	cr_assert_eq(mws_server_pause_rx(srv, 12345, 0), MWS_ECLOSED);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
