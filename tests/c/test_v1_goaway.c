/*
 * mws.v1 graceful restarts: the goaway reaches the client before the close
 * also through the delaying proxy (repeated), and the final acks that go
 * with it leave nothing delivered unacknowledged on either side, so a
 * restart re-sends nothing that was delivered.
 */
#include <stddef.h>

#include "v1_harness.h"

static mws_client_config fast_client(void)
{
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.base_delay_ms = 20;
	cc.max_delay_ms = 200;
	cc.handshake_timeout_ms = 2000;
	cc.connect_timeout_ms = 2000;
	cc.restart_spread_ms = 50;
	return cc;
}

/* A client's stats, read until one field reaches a value. */
typedef struct client_watch {
	mws_client *cli;
	mws_client_stats *st;
	size_t field; /* offsetof a uint64_t field of mws_client_stats */
	uint64_t want;
} client_watch;

static bool client_stat_reached(void *arg)
{
	client_watch *w = arg;
	mws_client_stats_get(w->cli, w->st);
	uint64_t v;
	memcpy(&v, (const char *)w->st + w->field, sizeof v);
	return v >= w->want;
}

static void wait_client_stat(mws_client *cli, mws_client_stats *st, size_t field, uint64_t want,
                             int timeout_ms)
{
	client_watch w = {cli, st, field, want};
	mws_test_wait_until(client_stat_reached, &w, timeout_ms);
}

/* Through the delaying proxy, with the client's messages still in flight
 * when the shutdown begins: the goaway arrives before the close every
 * time (a bounded number of rounds, each a fresh server and connection). */
Test(v1_goaway, reaches_the_client_through_the_delaying_proxy_every_time, .timeout = 120)
{
	enum { ROUNDS = 6 };
	v1_app a;
	v1_init(&a);
	v1_server_start(&a, NULL);
	cr_assert_eq(mws_fault_proxy_start(&a.px, "127.0.0.1", 0, "127.0.0.1",
	                                   mws_server_port(a.srv)), 0);
	mws_client_config cc = fast_client();
	v1_client_start(&a, mws_fault_proxy_port(a.px), &cc);
	unsigned char b[8];
	for (int r = 1; r <= ROUNDS; r++) {
		cr_assert(v1_int_ge(&a.connected, r, 10000), "round %d: connected", r);
		cr_assert_eq(mws_fault_proxy_set_mode(a.px, MWS_FAULT_DELAY, 300), 0);
		for (uint64_t i = 1; i <= 10; i++) {
			v1_num(b, i);
			cr_assert_eq(mws_client_send(a.cli, b, 8, MWS_MSG_BINARY), 0);
		}
		mws_client_stats st = {.size = sizeof st};
		wait_client_stat(a.cli, &st, offsetof(mws_client_stats, unacked), 10, 5000);
		mws_server *old = a.srv;
		mws_server_config sc;
		mws_server_config_init(&sc);
		a.srv = NULL;
		v1_server_start(&a, &sc);
		cr_assert_eq(mws_fault_proxy_set_upstream(a.px, "127.0.0.1", mws_server_port(a.srv)),
		             0);
		cr_expect_eq(mws_server_shutdown(old, 1012, 50, 5000), 0, "round %d", r);
		mws_server_stats ss = {.size = sizeof ss};
		mws_server_stats_get(old, &ss);
		cr_expect_eq(ss.goaways_sent, 1, "round %d", r);
		mws_server_free(old);
		wait_client_stat(a.cli, &st, offsetof(mws_client_stats, goaways), (uint64_t)r, 5000);
		cr_expect_eq(st.goaways, (uint64_t)r, "round %d: the goaway arrived before the close",
		             r);
		cr_assert_eq(mws_fault_proxy_set_mode(a.px, MWS_FAULT_PASS, 0), 0);
		atomic_store(&a.s_got, 0);
		atomic_store(&a.s_bad, 0);
	}
	v1_fini(&a);
}

/* ---- final acks: a graceful restart re-sends nothing delivered ---- */

typedef struct restart_app {
	mws_ctx *ctx;
	_Atomic(mws_server *) srv;
	mws_client *cli;
	atomic_uint_least64_t id;
	atomic_int s_got, c_got, lost, connected;
	atomic_int shutdown_at_s, shutdown_at_c; /* shut down when this many arrived */
	pthread_mutex_t mu;
	mws_session_info lost_info;
} restart_app;

static restart_app R;

static void r_s_connect(mws_server *s, mws_conn_id id, const mws_conn_info *i, void *u)
{
	(void)s, (void)i, (void)u;
	atomic_store(&R.id, id);
}

static void r_s_message(mws_server *s, mws_conn_id id, const void *d, size_t n, int t, void *u)
{
	(void)id, (void)d, (void)n, (void)t, (void)u;
	/* From the callback the shutdown only starts: the goaway goes next,
	 * before any ack of these fell due. */
	if (atomic_fetch_add(&R.s_got, 1) + 1 == atomic_load(&R.shutdown_at_s))
		mws_server_shutdown(s, 1012, 0, 5000);
}

static void r_c_message(mws_client *c, const void *d, size_t n, int t, void *u)
{
	(void)c, (void)d, (void)n, (void)t, (void)u;
	if (atomic_fetch_add(&R.c_got, 1) + 1 == atomic_load(&R.shutdown_at_c))
		mws_server_shutdown(atomic_load(&R.srv), 1012, 0, 5000); /* same I/O thread */
}

static void r_c_state(mws_client *c, const mws_state_change *ch, void *u)
{
	(void)c, (void)u;
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&R.connected, 1);
}

static void r_c_session(mws_client *c, const mws_session_info *i, void *u)
{
	(void)c, (void)u;
	if (i->event == MWS_SESSION_LOST) {
		pthread_mutex_lock(&R.mu);
		R.lost_info = *i;
		pthread_mutex_unlock(&R.mu);
		atomic_fetch_add(&R.lost, 1);
	}
}

static mws_server *r_server(int port)
{
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.port = port;
	mws_server *s = NULL;
	cr_assert_eq(mws_server_new(&s, R.ctx, &sc), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = r_s_connect;
	cb.on_message = r_s_message;
	cr_assert_eq(mws_server_set_callbacks(s, &cb, NULL, NULL), 0);
	atomic_store(&R.srv, s);
	cr_assert_eq(mws_server_start(s), 0);
	return s;
}

static bool r_session_up(void *arg)
{
	(void)arg;
	return atomic_load(&R.connected) >= 1 && atomic_load(&R.id);
}

/* ack_delay_ms: the client's own acks (0: default). */
static void r_start(int ack_delay_ms)
{
	memset(&R, 0, sizeof R);
	pthread_mutex_init(&R.mu, NULL);
	cr_assert_eq(mws_ctx_new(&R.ctx, NULL), 0);
	r_server(0);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(atomic_load(&R.srv)));
	mws_client_config cc = fast_client();
	cc.ack_delay_ms = ack_delay_ms;
	cc.ack_every = ack_delay_ms ? 1000 : 0;
	cr_assert_eq(mws_client_new(&R.cli, R.ctx, url, &cc), 0);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_state = r_c_state;
	cb.on_message = r_c_message;
	cb.on_session = r_c_session;
	cr_assert_eq(mws_client_set_callbacks(R.cli, &cb, NULL, NULL), 0);
	cr_assert_eq(mws_client_connect(R.cli), 0);
	cr_assert(mws_test_wait_until(r_session_up, NULL, 5000), "no session");
	cr_assert_eq(atomic_load(&R.connected), 1);
}

typedef struct server_watch {
	mws_server *srv;
	mws_server_stats *ss;
} server_watch;

static bool r_session_ended(void *arg)
{
	server_watch *w = arg;
	mws_server_stats_get(w->srv, w->ss);
	return w->ss->disconnects >= 1 && w->ss->sessions_active == 0;
}

/* Waits until the shut-down server's session has ended (its close is done). */
static void r_wait_ended(mws_server *s, mws_server_stats *ss)
{
	server_watch w = {s, ss};
	mws_test_wait_until(r_session_ended, &w, 10000);
	cr_assert_eq(ss->sessions_active, 0);
}

static void r_fini(void)
{
	mws_client_free(R.cli);
	mws_server_free(atomic_load(&R.srv));
	mws_ctx_free(R.ctx);
	pthread_mutex_destroy(&R.mu);
}

/* The server's final ack rides before the goaway: the client learns that
 * all 10 were delivered and re-sends none of them on the new session. */
Test(v1_goaway, server_final_ack_means_the_restart_resends_nothing_delivered, .timeout = 60)
{
	r_start(0);
	mws_server *old = atomic_load(&R.srv);
	int port = mws_server_port(old);
	atomic_store(&R.shutdown_at_s, 10);
	unsigned char b[8];
	for (uint64_t i = 1; i <= 10; i++) {
		v1_num(b, i);
		cr_assert_eq(mws_client_send(R.cli, b, 8, MWS_MSG_BINARY), 0);
	}
	mws_server_stats ss = {.size = sizeof ss};
	r_wait_ended(old, &ss);
	cr_expect_eq(ss.goaways_sent, 1);
	cr_expect_eq(atomic_load(&R.s_got), 10);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(R.cli, &st);
	cr_expect_eq(st.goaways, 1);
	cr_expect_eq(st.unacked, 0, "the final ack came with the goaway");
	cr_expect_eq(st.acked_number, 10);
	mws_server_free(old);

	atomic_store(&R.s_got, 0);
	atomic_store(&R.shutdown_at_s, 0);
	r_server(port);
	v1_int_ge(&R.lost, 1, 10000);
	cr_assert_eq(atomic_load(&R.lost), 1, "the in-memory session is lost with the server");
	pthread_mutex_lock(&R.mu);
	mws_session_info li = R.lost_info;
	pthread_mutex_unlock(&R.mu);
	cr_expect_eq(li.unacked, 0);
	cr_expect_eq(li.resent, 0, "nothing delivered is re-sent");
	/* one new message: the new server gets it alone, nothing before it */
	v1_num(b, 11);
	cr_assert_eq(mws_client_send(R.cli, b, 8, MWS_MSG_BINARY), 0);
	v1_int_ge(&R.s_got, 1, 5000);
	cr_expect_eq(atomic_load(&R.s_got), 1);
	mws_client_stats_get(R.cli, &st);
	cr_expect_eq(st.lost_resent, 0);
	r_fini();
}

/* The client answers the goaway with its final ack before the close: the
 * server's session ends holding nothing the client had received. The
 * client's own acks would come only after 10 s here: the answer it is. */
Test(v1_goaway, client_final_ack_answers_the_goaway, .timeout = 60)
{
	r_start(10000);
	mws_server *s = atomic_load(&R.srv);
	atomic_store(&R.shutdown_at_c, 10);
	unsigned char b[8];
	for (uint64_t i = 1; i <= 10; i++) {
		v1_num(b, i);
		cr_assert_eq(mws_server_send(s, atomic_load(&R.id), b, 8, MWS_MSG_BINARY), 0);
	}
	mws_server_stats ss = {.size = sizeof ss};
	r_wait_ended(s, &ss);
	cr_expect_eq(atomic_load(&R.c_got), 10);
	cr_expect_eq(ss.goaways_sent, 1);
	cr_expect_eq(ss.session_msgs_dropped, 0, "the session ended holding %lu",
	             (unsigned long)ss.session_msgs_dropped);
	r_fini();
}
