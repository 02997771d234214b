/* send and broadcast from four application threads at once: every message
 * arrives once, in each thread's order, on every connection. Meant to run
 * under ThreadSanitizer too. */
#include "server_common.h"

enum { CLIENTS = 4, THREADS = 4, UNICAST = 300, BROADCAST = 100 };

typedef struct crecv {
	int next_uni[THREADS], next_bc[THREADS];
	atomic_int received, errors;
} crecv;

static crecv recv_state[CLIENTS];
static atomic_int n_connected;

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	(void)ud;
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&n_connected, 1);
}

/* "u T I SEQ" or "b T SEQ"; messages of one client arrive on one thread */
static void on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	(void)type;
	crecv *r = ud;
	char buf[64];
	snprintf(buf, sizeof buf, "%.*s", (int)len, (const char *)data);
	int t, i, seq;
	if (sscanf(buf, "u %d %d %d", &t, &i, &seq) == 3 && t >= 0 && t < THREADS &&
	    r == &recv_state[i] && seq == r->next_uni[t])
		r->next_uni[t]++;
	else if (sscanf(buf, "b %d %d", &t, &seq) == 2 && t >= 0 && t < THREADS &&
	         seq == r->next_bc[t])
		r->next_bc[t]++;
	else
		atomic_fetch_add(&r->errors, 1);
	atomic_fetch_add(&r->received, 1);
}

static mws_server *g_srv;
static mws_conn_id g_ids[CLIENTS];
static atomic_int send_errors;

static void *producer(void *arg)
{
	int t = (int)(intptr_t)arg;
	char msg[64];
	for (int seq = 0; seq < UNICAST; seq++) {
		for (int i = 0; i < CLIENTS; i++) {
			int n = snprintf(msg, sizeof msg, "u %d %d %d", t, i, seq);
			if (mws_server_send(g_srv, g_ids[i], msg, (size_t)n, MWS_MSG_TEXT))
				atomic_fetch_add(&send_errors, 1);
		}
		if (seq < BROADCAST) {
			int n = snprintf(msg, sizeof msg, "b %d %d", t, seq);
			if (mws_server_broadcast(g_srv, msg, (size_t)n, MWS_MSG_TEXT))
				atomic_fetch_add(&send_errors, 1);
		}
	}
	return NULL;
}

/* The server learns ids in connect order; clients connect one by one so
 * the test knows which id is whose. */
static mws_conn_id ids_seen[CLIENTS];
static atomic_int n_ids;

static void srv_on_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info,
                           void *ud)
{
	(void)srv;
	(void)info;
	(void)ud;
	int k = atomic_load(&n_ids);
	if (k < CLIENTS)
		ids_seen[k] = id;
	atomic_fetch_add(&n_ids, 1);
}

static bool all_received(void *arg)
{
	(void)arg;
	for (int i = 0; i < CLIENTS; i++)
		if (atomic_load(&recv_state[i].received) < THREADS * (UNICAST + BROADCAST))
			return false;
	return true;
}

Test(server_threads, send_and_broadcast_from_four_threads_deliver_each_message_once_in_order,
     .timeout = 120)
{
	mws_ctx *sctx, *cctx;
	cr_assert_eq(mws_ctx_new(&sctx, NULL), 0);
	cr_assert_eq(mws_ctx_new(&cctx, NULL), 0);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	/* our clients speak mws.v1: unacknowledged messages per session are
	 * bounded by count (default 1024); every message here may wait at once */
	cfg.session_max_messages = 2 * THREADS * (UNICAST + BROADCAST);
	cr_assert_eq(mws_server_new(&g_srv, sctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, srv_on_connect, NULL, NULL};
	cr_assert_eq(mws_server_set_callbacks(g_srv, &cbs, NULL, NULL), 0);
	cr_assert_eq(mws_server_start(g_srv), 0);
	cr_expect_eq(mws_server_set_callbacks(g_srv, &cbs, NULL, NULL), MWS_ESTATE);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(g_srv));
	mws_client *cs[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		cr_assert_eq(mws_client_new(&cs[i], cctx, url, NULL), 0);
		mws_client_callbacks ccb = {sizeof ccb, on_state, on_message, NULL};
		cr_assert_eq(mws_client_set_callbacks(cs[i], &ccb, &recv_state[i], NULL), 0);
		cr_assert_eq(mws_client_connect(cs[i]), 0);
		cr_assert(wait_at_least(&n_ids, i + 1, 5000));
		cr_assert(wait_at_least(&n_connected, i + 1, 5000));
	}
	for (int i = 0; i < CLIENTS; i++)
		g_ids[i] = ids_seen[i];

	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, producer, (void *)(intptr_t)t), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	cr_expect_eq(atomic_load(&send_errors), 0);
	cr_assert(mws_test_wait_until(all_received, NULL, 60000));
	for (int i = 0; i < CLIENTS; i++) {
		crecv *r = &recv_state[i];
		cr_expect_eq(atomic_load(&r->errors), 0, "client %d: %d out of order", i,
		             atomic_load(&r->errors));
		cr_expect_eq(atomic_load(&r->received), THREADS * (UNICAST + BROADCAST));
		for (int t = 0; t < THREADS; t++) {
			cr_expect_eq(r->next_uni[t], UNICAST);
			cr_expect_eq(r->next_bc[t], BROADCAST);
		}
	}
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(g_srv, &st);
	cr_expect_eq(st.msgs_out, (uint64_t)CLIENTS * THREADS * (UNICAST + BROADCAST));
	cr_expect_eq(st.send_dropped, 0);
	for (int i = 0; i < CLIENTS; i++)
		mws_client_free(cs[i]);
	mws_server_free(g_srv);
	mws_ctx_free(cctx);
	mws_ctx_free(sctx);
}
